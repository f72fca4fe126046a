//! Parsing and validation of a BTF blob.

use crate::error::BtfError;
use crate::kind::{Kind, KindCounts};
use crate::types::Type;

/// The magic number at the start of every BTF blob.
pub const BTF_MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;
const TYPE_HEADER_LEN: usize = 12;

/// Byte order of a BTF blob. BTF is written in the byte order of its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    pub fn as_str(self) -> &'static str {
        match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        }
    }
}

/// Reads fixed-width integers in one byte order. Callers have checked bounds.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) endian: Endian,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn u32(&self, off: usize) -> u32 {
        let b: [u8; 4] = match self.bytes.get(off..off + 4) {
            Some(s) => [s[0], s[1], s[2], s[3]],
            None => [0; 4],
        };
        match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
}

/// The fixed BTF header (`struct btf_header`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
}

/// A parsed, validated BTF blob: base BTF, or split BTF on top of a base.
///
/// Parsing walks every type once, checks that every type, member, parameter and string
/// reference lies inside the blob, and records where each type starts. Types are then read
/// straight from the borrowed bytes.
pub struct Btf<'a> {
    pub(crate) endian: Endian,
    header: Header,
    pub(crate) types: &'a [u8],
    strings: &'a str,
    /// Byte offset in `types` of each local type, in id order.
    pub(crate) offsets: Vec<u32>,
    /// Id of the first local type: 1 for base BTF, the base's type count for split BTF.
    start_id: u32,
    /// String offset of the first local string: 0 for base BTF.
    start_str: u32,
    base: Option<&'a Btf<'a>>,
}

impl<'a> Btf<'a> {
    /// Parses base BTF (a `.BTF` section, `/sys/kernel/btf/vmlinux`, a pahole detached file).
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        Self::parse_inner(data, None)
    }

    /// Parses split BTF (a module's `.BTF`, `/sys/kernel/btf/<module>`) on top of `base`.
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Btf<'a>, BtfError> {
        Self::parse_inner(data, Some(base))
    }

    /// Reads only the header and byte order; cheap, for sniffing.
    pub fn peek_header(data: &[u8]) -> Result<(Endian, Header), BtfError> {
        if data.len() < HEADER_LEN {
            return Err(BtfError::TooShort(data.len()));
        }
        let endian = match [data[0], data[1]] {
            [0x9f, 0xeb] => Endian::Little,
            [0xeb, 0x9f] => Endian::Big,
            [a, b] => return Err(BtfError::BadMagic(u16::from_le_bytes([a, b]))),
        };
        let r = Reader {
            bytes: data,
            endian,
        };
        let header = Header {
            version: data[2],
            flags: data[3],
            hdr_len: r.u32(4),
            type_off: r.u32(8),
            type_len: r.u32(12),
            str_off: r.u32(16),
            str_len: r.u32(20),
        };
        Ok((endian, header))
    }

    fn parse_inner(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Btf<'a>, BtfError> {
        let (endian, header) = Self::peek_header(data)?;
        if header.version != 1 {
            return Err(BtfError::Version(header.version));
        }
        let hdr_len = header.hdr_len as usize;
        if hdr_len < HEADER_LEN || hdr_len > data.len() {
            return Err(BtfError::HeaderLen {
                hdr_len: header.hdr_len,
                len: data.len(),
            });
        }
        let body = &data[hdr_len..];
        let section = |name: &'static str, off: u32, len: u32| -> Result<&'a [u8], BtfError> {
            let start = u64::from(off);
            let end = start + u64::from(len);
            if end > body.len() as u64 {
                return Err(BtfError::SectionBounds {
                    section: name,
                    start,
                    end,
                    len: body.len(),
                });
            }
            Ok(&body[start as usize..end as usize])
        };
        let types = section("type", header.type_off, header.type_len)?;
        let strings = section("string", header.str_off, header.str_len)?;
        let type_end = u64::from(header.type_off) + u64::from(header.type_len);
        if type_end > u64::from(header.str_off) {
            return Err(BtfError::SectionLayout {
                type_end,
                str_off: header.str_off,
            });
        }
        if header.type_off % 4 != 0 {
            return Err(BtfError::Misaligned(header.type_off));
        }
        if base.is_none() || !strings.is_empty() {
            match strings.last() {
                None => return Err(BtfError::Strings("is empty")),
                Some(0) => {}
                Some(_) => return Err(BtfError::Strings("does not end with a NUL byte")),
            }
        }
        if base.is_none() && strings.first() != Some(&0) {
            return Err(BtfError::Strings("does not start with the empty string"));
        }
        if strings.len() > 0x7fff_ffff {
            return Err(BtfError::Strings("is larger than 2 GiB"));
        }
        let strings =
            std::str::from_utf8(strings).map_err(|e| BtfError::StringsUtf8(e.valid_up_to()))?;

        let (start_id, start_str) = match base {
            None => (1, 0),
            Some(b) => {
                let start_str = u64::from(b.start_str) + b.strings.len() as u64;
                (
                    b.type_count(),
                    u32::try_from(start_str).map_err(|_| BtfError::Strings("offsets overflow"))?,
                )
            }
        };
        let mut btf = Btf {
            endian,
            header,
            types,
            strings,
            offsets: Vec::with_capacity(types.len() / 24),
            start_id,
            start_str,
            base,
        };
        btf.index_types()?;
        btf.validate()?;
        Ok(btf)
    }

    /// First pass: find where each type starts and check it fits.
    fn index_types(&mut self) -> Result<(), BtfError> {
        let r = self.reader();
        let len = self.types.len();
        let mut off = 0usize;
        while off < len {
            let id = self.start_id.saturating_add(self.offsets.len() as u32);
            if len - off < TYPE_HEADER_LEN {
                return Err(BtfError::TruncatedHeader { id, offset: off });
            }
            let info = r.u32(off + 4);
            let raw_kind = ((info >> 24) & 0x1f) as u8;
            let kind = match Kind::from_u8(raw_kind) {
                Some(k) if k != Kind::Void => k,
                _ => {
                    return Err(BtfError::UnknownKind { id, kind: raw_kind });
                }
            };
            let vlen = (info & 0xffff) as usize;
            let need = kind.extra_len(vlen);
            let have = len - off - TYPE_HEADER_LEN;
            if need > have {
                return Err(BtfError::TruncatedType {
                    id,
                    kind: kind.as_str(),
                    need,
                    have,
                });
            }
            if self.offsets.len() >= (u32::MAX - self.start_id) as usize {
                return Err(BtfError::TooManyTypes(self.offsets.len()));
            }
            self.offsets.push(off as u32);
            off += TYPE_HEADER_LEN + need;
        }
        Ok(())
    }

    /// Second pass: every name is a string, every referenced id is a type.
    fn validate(&self) -> Result<(), BtfError> {
        let last = self.type_count() - 1;
        for t in self.types() {
            let id = t.id();
            let name = |what: &'static str, offset: u32| {
                if self.str_at(offset).is_none() {
                    Err(BtfError::BadName { id, what, offset })
                } else {
                    Ok(())
                }
            };
            let type_id = |what: &'static str, target: u32| {
                if target > last {
                    Err(BtfError::BadTypeId {
                        id,
                        what,
                        target,
                        last,
                    })
                } else {
                    Ok(())
                }
            };
            name("type", t.name_off())?;
            let kind = t.kind();
            if kind.refers_by_header() {
                type_id("its header", t.size_or_type())?;
            }
            match kind {
                Kind::Int => {
                    let bits = t.int_bits();
                    if bits.nr_bits > 128 || bits.offset + bits.nr_bits > 128 {
                        return Err(BtfError::Invalid {
                            id,
                            what: format!(
                                "integer with {} bits at bit offset {}",
                                bits.nr_bits, bits.offset
                            ),
                        });
                    }
                }
                Kind::Array => {
                    let a = t.array();
                    type_id("array element", a.elem_type)?;
                    type_id("array index", a.index_type)?;
                }
                Kind::Struct | Kind::Union => {
                    for (name_off, member_type) in t.raw_members() {
                        name("member", name_off)?;
                        type_id("member", member_type)?;
                    }
                }
                Kind::Enum | Kind::Enum64 => {
                    for v in t.raw_enum_names() {
                        name("enumerator", v)?;
                    }
                }
                Kind::FuncProto => {
                    for (n, ty) in t.raw_params() {
                        name("parameter", n)?;
                        type_id("parameter", ty)?;
                    }
                }
                Kind::Func => {
                    let target = t.size_or_type();
                    match self.type_by_id(target).map(|p| p.kind()) {
                        Some(Kind::FuncProto) => {}
                        other => {
                            return Err(BtfError::Invalid {
                                id,
                                what: format!(
                                    "function refers to type {target} of kind {}, not FUNC_PROTO",
                                    other.unwrap_or(Kind::Void)
                                ),
                            });
                        }
                    }
                }
                Kind::Datasec => {
                    for v in t.datasec_vars() {
                        type_id("section variable", v.type_id)?;
                    }
                }
                Kind::DeclTag if t.decl_tag_component() < -1 => {
                    return Err(BtfError::Invalid {
                        id,
                        what: format!("decl tag component index {}", t.decl_tag_component()),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader {
            bytes: self.types,
            endian: self.endian,
        }
    }

    pub fn endian(&self) -> Endian {
        self.endian
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The base this split BTF sits on.
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }

    pub fn is_split(&self) -> bool {
        self.base.is_some()
    }

    /// Id of the first type defined by this blob (1 unless split).
    pub fn start_id(&self) -> u32 {
        self.start_id
    }

    /// One past the last type id, counting the base (libbpf's `btf__type_cnt`).
    pub fn type_count(&self) -> u32 {
        self.start_id + self.offsets.len() as u32
    }

    /// Number of types this blob itself defines.
    pub fn local_len(&self) -> usize {
        self.offsets.len()
    }

    /// Size of the string section this blob itself holds.
    pub fn strings_len(&self) -> usize {
        self.strings.len()
    }

    /// The type with this id, looking into the base for lower ids. `None` for id 0 (void)
    /// and for ids past the end.
    pub fn type_by_id(&self, id: u32) -> Option<Type<'_>> {
        if id == 0 {
            return None;
        }
        if id < self.start_id {
            return self.base.and_then(|b| b.type_by_id(id));
        }
        let idx = (id - self.start_id) as usize;
        let off = *self.offsets.get(idx)? as usize;
        Some(Type::new(self, id, off))
    }

    /// The types this blob defines, in id order (not those of its base).
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type<'_>> + '_ {
        self.offsets
            .iter()
            .enumerate()
            .map(move |(i, &off)| Type::new(self, self.start_id + i as u32, off as usize))
    }

    /// The NUL-terminated string at `offset`, looking into the base for low offsets.
    pub fn str_at(&self, offset: u32) -> Option<&'a str> {
        if offset < self.start_str {
            return self.base.and_then(|b| b.str_at(offset));
        }
        let off = (offset - self.start_str) as usize;
        if off >= self.strings.len() || !self.strings.is_char_boundary(off) {
            return None;
        }
        let rest = &self.strings.as_bytes()[off..];
        let end = memchr::memchr(0, rest)?;
        self.strings.get(off..off + end)
    }

    /// Number of local types of each kind.
    pub fn kind_counts(&self) -> KindCounts {
        let mut counts = KindCounts::default();
        for t in self.types() {
            counts.0[t.kind() as usize] += 1;
        }
        counts
    }
}

impl std::fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("start_id", &self.start_id)
            .field("types", &self.offsets.len())
            .field("strings", &self.strings.len())
            .field("split", &self.base.is_some())
            .finish()
    }
}
