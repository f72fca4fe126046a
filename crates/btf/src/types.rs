//! Views of single BTF types, read lazily from the blob.

use crate::btf::{Btf, Reader};
use crate::kind::Kind;

/// One type of a [`Btf`]. Cheap to copy; reads its fields from the blob on demand.
#[derive(Clone, Copy)]
pub struct Type<'b> {
    btf: &'b Btf<'b>,
    id: u32,
    off: usize,
    name_off: u32,
    info: u32,
    size_type: u32,
}

/// `BTF_KIND_INT` details.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntBits {
    /// `BTF_INT_SIGNED` (1), `BTF_INT_CHAR` (2), `BTF_INT_BOOL` (4), or 0.
    pub encoding: u8,
    pub offset: u32,
    pub nr_bits: u32,
}

impl IntBits {
    pub const SIGNED: u8 = 1;
    pub const CHAR: u8 = 2;
    pub const BOOL: u8 = 4;

    pub fn is_signed(&self) -> bool {
        self.encoding & Self::SIGNED != 0
    }
}

/// `BTF_KIND_ARRAY` details.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Array {
    pub elem_type: u32,
    pub index_type: u32,
    pub nelems: u32,
}

/// A member of a struct or union.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'b> {
    pub name: &'b str,
    pub type_id: u32,
    pub bit_offset: u32,
    /// Non-zero only for bitfields of a struct whose kind flag is set.
    pub bitfield_size: u32,
}

/// An enumerator of an ENUM or ENUM64, as the raw bits of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumValue<'b> {
    pub name: &'b str,
    /// The value's bits; for a 32-bit ENUM, the low 32 bits.
    pub bits: u64,
}

/// A parameter of a function prototype. A last parameter with name `""` and type 0 marks
/// a variadic function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'b> {
    pub name: &'b str,
    pub type_id: u32,
}

/// One variable of a DATASEC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarSecinfo {
    pub type_id: u32,
    pub offset: u32,
    pub size: u32,
}

impl<'b> Type<'b> {
    pub(crate) fn new(btf: &'b Btf<'b>, id: u32, off: usize) -> Type<'b> {
        let r = btf.reader();
        Type {
            btf,
            id,
            off,
            name_off: r.u32(off),
            info: r.u32(off + 4),
            size_type: r.u32(off + 8),
        }
    }

    #[inline]
    fn r(&self) -> Reader<'b> {
        self.btf.reader()
    }

    #[inline]
    fn extra(&self) -> usize {
        self.off + 12
    }

    /// The BTF this type was read from (the split part for split types).
    pub fn btf(&self) -> &'b Btf<'b> {
        self.btf
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn kind(&self) -> Kind {
        // Validated when the blob was indexed.
        Kind::from_u8(((self.info >> 24) & 0x1f) as u8).unwrap_or(Kind::Void)
    }

    pub fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }

    pub fn kflag(&self) -> bool {
        self.info >> 31 != 0
    }

    pub fn name_off(&self) -> u32 {
        self.name_off
    }

    /// The type's name; `""` when anonymous.
    pub fn name(&self) -> &'b str {
        self.btf.str_at(self.name_off).unwrap_or("")
    }

    /// The raw `size`/`type` union of the header.
    pub fn size_or_type(&self) -> u32 {
        self.size_type
    }

    /// Size in bytes for INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT.
    pub fn size(&self) -> Option<u32> {
        match self.kind() {
            Kind::Int
            | Kind::Struct
            | Kind::Union
            | Kind::Enum
            | Kind::Enum64
            | Kind::Datasec
            | Kind::Float => Some(self.size_type),
            _ => None,
        }
    }

    /// The type this one refers to through its header: PTR, TYPEDEF, CV-qualifiers,
    /// TYPE_TAG, FUNC, VAR, DECL_TAG; for FUNC_PROTO, the return type.
    pub fn ref_type(&self) -> Option<u32> {
        if self.kind().refers_by_header() {
            Some(self.size_type)
        } else {
            None
        }
    }

    /// Integer details; meaningful for INT only.
    pub fn int_bits(&self) -> IntBits {
        let v = self.r().u32(self.extra());
        IntBits {
            encoding: ((v >> 24) & 0x0f) as u8,
            offset: (v >> 16) & 0xff,
            nr_bits: v & 0xff,
        }
    }

    /// Array details; meaningful for ARRAY only.
    pub fn array(&self) -> Array {
        let r = self.r();
        let e = self.extra();
        Array {
            elem_type: r.u32(e),
            index_type: r.u32(e + 4),
            nelems: r.u32(e + 8),
        }
    }

    fn entries(&self, kinds: &[Kind], width: usize) -> impl Iterator<Item = usize> + use<'b> {
        let n = if kinds.contains(&self.kind()) {
            self.vlen()
        } else {
            0
        };
        let start = self.extra();
        (0..n).map(move |i| start + i * width)
    }

    pub(crate) fn raw_members(&self) -> impl Iterator<Item = (u32, u32)> + use<'b> {
        let r = self.r();
        self.entries(&[Kind::Struct, Kind::Union], 12)
            .map(move |o| (r.u32(o), r.u32(o + 4)))
    }

    /// Members of a STRUCT or UNION, with bitfield sizes decoded from the kind flag.
    pub fn members(&self) -> impl Iterator<Item = Member<'b>> + use<'b> {
        let r = self.r();
        let btf = self.btf;
        let kflag = self.kflag();
        self.entries(&[Kind::Struct, Kind::Union], 12)
            .map(move |o| {
                let offset = r.u32(o + 8);
                let (bit_offset, bitfield_size) = if kflag {
                    (offset & 0x00ff_ffff, offset >> 24)
                } else {
                    (offset, 0)
                };
                Member {
                    name: btf.str_at(r.u32(o)).unwrap_or(""),
                    type_id: r.u32(o + 4),
                    bit_offset,
                    bitfield_size,
                }
            })
    }

    pub(crate) fn raw_enum_names(&self) -> impl Iterator<Item = u32> + use<'b> {
        let r = self.r();
        let width = if self.kind() == Kind::Enum64 { 12 } else { 8 };
        self.entries(&[Kind::Enum, Kind::Enum64], width)
            .map(move |o| r.u32(o))
    }

    /// Whether an ENUM/ENUM64's values are signed (the kind flag).
    pub fn enum_is_signed(&self) -> bool {
        self.kflag()
    }

    /// Enumerators of an ENUM or ENUM64.
    pub fn enum_values(&self) -> impl Iterator<Item = EnumValue<'b>> + use<'b> {
        let r = self.r();
        let btf = self.btf;
        let is64 = self.kind() == Kind::Enum64;
        let width = if is64 { 12 } else { 8 };
        self.entries(&[Kind::Enum, Kind::Enum64], width)
            .map(move |o| {
                let bits = if is64 {
                    u64::from(r.u32(o + 4)) | (u64::from(r.u32(o + 8)) << 32)
                } else {
                    u64::from(r.u32(o + 4))
                };
                EnumValue {
                    name: btf.str_at(r.u32(o)).unwrap_or(""),
                    bits,
                }
            })
    }

    pub(crate) fn raw_params(&self) -> impl Iterator<Item = (u32, u32)> + use<'b> {
        let r = self.r();
        self.entries(&[Kind::FuncProto], 8)
            .map(move |o| (r.u32(o), r.u32(o + 4)))
    }

    /// Parameters of a FUNC_PROTO.
    pub fn params(&self) -> impl Iterator<Item = Param<'b>> + use<'b> {
        let btf = self.btf;
        self.raw_params().map(move |(n, t)| Param {
            name: btf.str_at(n).unwrap_or(""),
            type_id: t,
        })
    }

    /// Linkage of a FUNC (0 static, 1 global, 2 extern), kept in `vlen`.
    pub fn func_linkage(&self) -> u32 {
        self.info & 0xffff
    }

    /// Linkage of a VAR (0 static, 1 global, 2 extern).
    pub fn var_linkage(&self) -> u32 {
        if self.kind() == Kind::Var {
            self.r().u32(self.extra())
        } else {
            0
        }
    }

    /// Variables of a DATASEC.
    pub fn datasec_vars(&self) -> impl Iterator<Item = VarSecinfo> + use<'b> {
        let r = self.r();
        self.entries(&[Kind::Datasec], 12).map(move |o| VarSecinfo {
            type_id: r.u32(o),
            offset: r.u32(o + 4),
            size: r.u32(o + 8),
        })
    }

    /// Component index of a DECL_TAG: -1 for the declaration itself, else a member or
    /// parameter index.
    pub fn decl_tag_component(&self) -> i32 {
        if self.kind() == Kind::DeclTag {
            self.r().u32(self.extra()) as i32
        } else {
            -1
        }
    }

    /// A FWD's kind: `true` for a union, `false` for a struct.
    pub fn fwd_is_union(&self) -> bool {
        self.kflag()
    }
}

impl std::fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {} '{}'", self.id, self.kind(), self.name())
    }
}
