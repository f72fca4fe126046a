//! Writes BTF blobs, for tests and fixtures: small hand-made type graphs in either byte
//! order, base or split.

use crate::btf::Endian;
use crate::kind::Kind;

/// Builds a BTF blob type by type. Ids start at `start_id` (1 for base BTF).
pub struct Builder {
    endian: Endian,
    types: Vec<u8>,
    strings: Vec<u8>,
    start_str: u32,
    next_id: u32,
}

impl Builder {
    /// A builder for base BTF.
    pub fn new(endian: Endian) -> Builder {
        Builder {
            endian,
            types: Vec::new(),
            strings: vec![0],
            start_str: 0,
            next_id: 1,
        }
    }

    /// A builder for split BTF over a base with `base_types` types (counting void) and
    /// `base_strings` bytes of strings.
    pub fn split(endian: Endian, base_types: u32, base_strings: u32) -> Builder {
        Builder {
            endian,
            types: Vec::new(),
            strings: Vec::new(),
            start_str: base_strings,
            next_id: base_types,
        }
    }

    fn u32(&mut self, v: u32) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.types.extend_from_slice(&b);
    }

    /// Adds a string and returns its offset; `""` is offset 0.
    pub fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.start_str + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn header(&mut self, name: &str, kind: Kind, vlen: u32, kflag: bool, size_type: u32) -> u32 {
        let name_off = self.str(name);
        self.u32(name_off);
        self.u32((u32::from(kflag) << 31) | ((kind as u32) << 24) | (vlen & 0xffff));
        self.u32(size_type);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn int(&mut self, name: &str, size: u32, bits: u32, encoding: u8) -> u32 {
        let id = self.header(name, Kind::Int, 0, false, size);
        self.u32((u32::from(encoding) << 24) | bits);
        id
    }

    /// PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG: a name and a referenced type.
    pub fn reference(&mut self, kind: Kind, name: &str, target: u32) -> u32 {
        self.header(name, kind, 0, false, target)
    }

    pub fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
        let id = self.header("", Kind::Array, 0, false, 0);
        self.u32(elem);
        self.u32(index);
        self.u32(nelems);
        id
    }

    /// STRUCT or UNION; members are (name, type, bit offset, bitfield size).
    pub fn composite(
        &mut self,
        kind: Kind,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let kflag = members.iter().any(|m| m.3 != 0);
        let id = self.header(name, kind, members.len() as u32, kflag, size);
        for &(n, ty, off, bits) in members {
            let n = self.str(n);
            self.u32(n);
            self.u32(ty);
            self.u32(if kflag { (bits << 24) | off } else { off });
        }
        id
    }

    pub fn enumeration(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i64)],
    ) -> u32 {
        let id = self.header(name, Kind::Enum, values.len() as u32, signed, size);
        for &(n, v) in values {
            let n = self.str(n);
            self.u32(n);
            self.u32(v as u32);
        }
        id
    }

    pub fn enum64(&mut self, name: &str, signed: bool, values: &[(&str, u64)]) -> u32 {
        let id = self.header(name, Kind::Enum64, values.len() as u32, signed, 8);
        for &(n, v) in values {
            let n = self.str(n);
            self.u32(n);
            self.u32(v as u32);
            self.u32((v >> 32) as u32);
        }
        id
    }

    pub fn fwd(&mut self, name: &str, union: bool) -> u32 {
        self.header(name, Kind::Fwd, 0, union, 0)
    }

    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let id = self.header("", Kind::FuncProto, params.len() as u32, false, ret);
        for &(n, ty) in params {
            let n = self.str(n);
            self.u32(n);
            self.u32(ty);
        }
        id
    }

    pub fn func(&mut self, name: &str, proto: u32, linkage: u32) -> u32 {
        self.header(name, Kind::Func, linkage, false, proto)
    }

    pub fn var(&mut self, name: &str, ty: u32, linkage: u32) -> u32 {
        let id = self.header(name, Kind::Var, 0, false, ty);
        self.u32(linkage);
        id
    }

    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let id = self.header(name, Kind::Datasec, vars.len() as u32, false, size);
        for &(ty, off, sz) in vars {
            self.u32(ty);
            self.u32(off);
            self.u32(sz);
        }
        id
    }

    pub fn float(&mut self, name: &str, size: u32) -> u32 {
        self.header(name, Kind::Float, 0, false, size)
    }

    pub fn decl_tag(&mut self, name: &str, target: u32, component: i32) -> u32 {
        let id = self.header(name, Kind::DeclTag, 0, false, target);
        self.u32(component as u32);
        id
    }

    /// The finished blob: header, types, strings.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.types.len() + self.strings.len());
        let w = |out: &mut Vec<u8>, v: u32| match self.endian {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        };
        match self.endian {
            Endian::Little => out.extend_from_slice(&[0x9f, 0xeb]),
            Endian::Big => out.extend_from_slice(&[0xeb, 0x9f]),
        }
        out.extend_from_slice(&[1, 0]);
        w(&mut out, 24);
        w(&mut out, 0);
        w(&mut out, self.types.len() as u32);
        w(&mut out, self.types.len() as u32);
        w(&mut out, self.strings.len() as u32);
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}
