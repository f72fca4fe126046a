//! `.BTF.ext`: what an eBPF object's BTF says about its instructions. Three tables, each a
//! record size followed by one block per ELF section (`sec_name_off`, `num_info`, records):
//! `func_info` (which BTF function starts at an instruction), `line_info` (source lines) and
//! `core_relo` (CO-RE relocations: the instruction, the local root type, the access string,
//! the relocation kind). Offsets in object files are in bytes from the section start.
//! String offsets refer to the object's `.BTF` string section. Records larger than the
//! known layout (a newer compiler) are read by their known prefix, as libbpf does.

use std::fmt;

use crate::btf::{Endian, Reader};

const MIN_HEADER: u32 = 24;
const FUNC_INFO_MIN: u32 = 8;
const LINE_INFO_MIN: u32 = 16;
const CORE_RELO_MIN: u32 = 16;

/// Why a `.BTF.ext` section is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtError {
    #[error("{0} bytes is too short for a .BTF.ext header")]
    TooShort(usize),
    #[error("bad magic {0:#06x} (.BTF.ext starts with 0xeb9f)")]
    BadMagic(u16),
    #[error("unsupported .BTF.ext version {0}")]
    Version(u8),
    #[error("header length {hdr_len} is invalid for a {len}-byte section")]
    HeaderLen { hdr_len: u32, len: usize },
    #[error("{table} [{start}, {end}) lies outside the {len} bytes after the header")]
    Bounds {
        table: &'static str,
        start: u64,
        end: u64,
        len: usize,
    },
    #[error("{table}: record size {size} is smaller than {min} or not a multiple of 4")]
    RecordSize {
        table: &'static str,
        size: u32,
        min: u32,
    },
    #[error("{table}: block at byte {at} for {count} records runs past the table's end")]
    Block {
        table: &'static str,
        at: usize,
        count: u32,
    },
    #[error("{table}: block at byte {at} has no records")]
    EmptyBlock { table: &'static str, at: usize },
}

/// `enum bpf_core_relo_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoreReloKind {
    FieldByteOffset,
    FieldByteSize,
    FieldExists,
    FieldSigned,
    FieldLshiftU64,
    FieldRshiftU64,
    TypeIdLocal,
    TypeIdTarget,
    TypeExists,
    TypeSize,
    EnumvalExists,
    EnumvalValue,
    TypeMatches,
    /// A kind this reader does not know (a newer compiler).
    Unknown(u32),
}

impl CoreReloKind {
    pub fn from_u32(v: u32) -> CoreReloKind {
        use CoreReloKind::*;
        match v {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            n => Unknown(n),
        }
    }

    /// libbpf's name for the kind (`byte_off`, `exists`, `enumval_value`, ...).
    pub fn as_str(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
            Unknown(_) => "unknown",
        }
    }

    pub fn is_field(self) -> bool {
        use CoreReloKind::*;
        matches!(
            self,
            FieldByteOffset
                | FieldByteSize
                | FieldExists
                | FieldSigned
                | FieldLshiftU64
                | FieldRshiftU64
        )
    }

    pub fn is_enumval(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }

    /// Relocations that ask whether something exists: their failure is an answer (false),
    /// not an error.
    pub fn is_guard(self) -> bool {
        matches!(
            self,
            CoreReloKind::FieldExists
                | CoreReloKind::TypeExists
                | CoreReloKind::EnumvalExists
                | CoreReloKind::TypeMatches
        )
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreReloKind::Unknown(n) => write!(f, "unknown kind {n}"),
            k => f.write_str(k.as_str()),
        }
    }
}

/// One function start (`struct bpf_func_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

/// One source line (`struct bpf_line_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    /// Line number in the upper 22 bits, column in the lower 10.
    pub line_col: u32,
}

impl LineInfo {
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    pub fn col(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// One CO-RE relocation (`struct bpf_core_relo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: CoreReloKind,
}

/// The records of one ELF section, by the section's name offset in the BTF strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block<T> {
    pub sec_name_off: u32,
    pub records: Vec<T>,
}

/// A parsed `.BTF.ext` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfExt {
    pub func_info: Vec<Block<FuncInfo>>,
    pub line_info: Vec<Block<LineInfo>>,
    pub core_relos: Vec<Block<CoreRelo>>,
}

impl BtfExt {
    /// Parses a `.BTF.ext` section, checking every length against the section's size.
    pub fn parse(data: &[u8]) -> Result<BtfExt, ExtError> {
        if data.len() < MIN_HEADER as usize {
            return Err(ExtError::TooShort(data.len()));
        }
        let endian = match [data[0], data[1]] {
            [0x9f, 0xeb] => Endian::Little,
            [0xeb, 0x9f] => Endian::Big,
            [a, b] => return Err(ExtError::BadMagic(u16::from_le_bytes([a, b]))),
        };
        if data[2] != 1 {
            return Err(ExtError::Version(data[2]));
        }
        let r = Reader {
            bytes: data,
            endian,
        };
        let hdr_len = r.u32(4);
        if hdr_len < MIN_HEADER || hdr_len as usize > data.len() {
            return Err(ExtError::HeaderLen {
                hdr_len,
                len: data.len(),
            });
        }
        let body = &data[hdr_len as usize..];
        let table = |name: &'static str, off_at: usize| -> Result<&[u8], ExtError> {
            if off_at + 8 > hdr_len as usize {
                return Ok(&[]);
            }
            let (off, len) = (u64::from(r.u32(off_at)), u64::from(r.u32(off_at + 4)));
            if off + len > body.len() as u64 {
                return Err(ExtError::Bounds {
                    table: name,
                    start: off,
                    end: off + len,
                    len: body.len(),
                });
            }
            Ok(&body[off as usize..(off + len) as usize])
        };
        let func = table("func_info", 8)?;
        let line = table("line_info", 16)?;
        let core = table("core_relo", 24)?;
        Ok(BtfExt {
            func_info: blocks("func_info", func, endian, FUNC_INFO_MIN, |r, o| FuncInfo {
                insn_off: r.u32(o),
                type_id: r.u32(o + 4),
            })?,
            line_info: blocks("line_info", line, endian, LINE_INFO_MIN, |r, o| LineInfo {
                insn_off: r.u32(o),
                file_name_off: r.u32(o + 4),
                line_off: r.u32(o + 8),
                line_col: r.u32(o + 12),
            })?,
            core_relos: blocks("core_relo", core, endian, CORE_RELO_MIN, |r, o| CoreRelo {
                insn_off: r.u32(o),
                type_id: r.u32(o + 4),
                access_str_off: r.u32(o + 8),
                kind: CoreReloKind::from_u32(r.u32(o + 12)),
            })?,
        })
    }
}

/// Reads one table: a record size, then blocks until the table ends.
fn blocks<T>(
    table: &'static str,
    data: &[u8],
    endian: Endian,
    min: u32,
    read: impl Fn(&Reader<'_>, usize) -> T,
) -> Result<Vec<Block<T>>, ExtError> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let r = Reader {
        bytes: data,
        endian,
    };
    if data.len() < 4 {
        return Err(ExtError::Block {
            table,
            at: 0,
            count: 0,
        });
    }
    let size = r.u32(0);
    if size < min || !size.is_multiple_of(4) {
        return Err(ExtError::RecordSize { table, size, min });
    }
    let mut out = Vec::new();
    let mut at = 4usize;
    while at < data.len() {
        if at + 8 > data.len() {
            return Err(ExtError::Block {
                table,
                at,
                count: 0,
            });
        }
        let sec_name_off = r.u32(at);
        let count = r.u32(at + 4);
        if count == 0 {
            return Err(ExtError::EmptyBlock { table, at });
        }
        let need = u64::from(count) * u64::from(size);
        let start = at + 8;
        if start as u64 + need > data.len() as u64 {
            return Err(ExtError::Block { table, at, count });
        }
        let records = (0..count as usize)
            .map(|i| read(&r, start + i * size as usize))
            .collect();
        out.push(Block {
            sec_name_off,
            records,
        });
        at = start + need as usize;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn ext(func: &[u32], line: &[u32], core: &[u32]) -> Vec<u8> {
        let (f, l, c) = (le(func), le(line), le(core));
        let mut v = vec![0x9f, 0xeb, 1, 0];
        v.extend(le(&[32]));
        let fl = f.len() as u32;
        let ll = l.len() as u32;
        let cl = c.len() as u32;
        v.extend(le(&[0, fl, fl, ll, fl + ll, cl]));
        v.extend(f);
        v.extend(l);
        v.extend(c);
        v
    }

    #[test]
    fn reads_the_three_tables() {
        let data = ext(
            &[8, 10, 1, 0, 3],
            &[16, 10, 1, 0, 20, 30, (12 << 10) | 5],
            &[16, 10, 2, 8, 5, 40, 0, 16, 5, 40, 0, 24, 1, 16, 5, 40, 2],
        );
        let e = BtfExt::parse(&data).unwrap();
        assert_eq!(e.func_info[0].records[0].type_id, 3);
        assert_eq!(e.line_info[0].records[0].line(), 12);
        assert_eq!(e.line_info[0].records[0].col(), 5);
        assert_eq!(e.core_relos.len(), 2);
        assert_eq!(
            e.core_relos[0].records[1].kind,
            CoreReloKind::FieldByteOffset
        );
        assert_eq!(e.core_relos[1].records[0].kind, CoreReloKind::FieldExists);
        assert!(CoreReloKind::FieldExists.is_guard());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let data = ext(
            &[8, 10, 1, 0, 3],
            &[16, 10, 1, 0, 20, 30, 40],
            &[16, 10, 1, 8, 5, 40, 0],
        );
        for n in 0..data.len() {
            let _ = BtfExt::parse(&data[..n]);
        }
        // A block that claims more records than the table holds.
        let bad = ext(&[8, 10, 9, 0, 3], &[], &[]);
        assert!(matches!(
            BtfExt::parse(&bad),
            Err(ExtError::Block {
                table: "func_info",
                ..
            })
        ));
        let bad = ext(&[2, 10, 1, 0, 3], &[], &[]);
        assert!(matches!(
            BtfExt::parse(&bad),
            Err(ExtError::RecordSize { .. })
        ));
    }
}
