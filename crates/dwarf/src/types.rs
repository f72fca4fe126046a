//! Normalised types from DWARF, the same model BTF gives (SPEC §3): shallow references,
//! anonymous struct/union members flattened, enums read as signed numbers of their size.

use std::collections::HashMap;

use depsurf_model::{Composite, Enum, Member, Param, Proto, TypeRef};
use gimli::{AttributeValue, DebuggingInformationEntry, UnitOffset, constants as dw};

use crate::DwarfError;
use crate::walk::{R, str_of};

const MAX_DEPTH: usize = 64;

/// Converts the DIEs of a set of units; units are parsed on first use (references may
/// cross units).
pub struct Converter<'d, 'a> {
    dwarf: &'d gimli::Dwarf<R<'a>>,
    /// Offsets of every unit, sorted, to find the unit of a reference.
    unit_offsets: &'d [usize],
    units: HashMap<usize, gimli::Unit<R<'a>>>,
    cache: HashMap<usize, TypeRef>,
}

type Die<'a> = DebuggingInformationEntry<R<'a>>;

impl<'d, 'a> Converter<'d, 'a> {
    pub fn new(dwarf: &'d gimli::Dwarf<R<'a>>, unit_offsets: &'d [usize]) -> Self {
        Converter {
            dwarf,
            unit_offsets,
            units: HashMap::new(),
            cache: HashMap::new(),
        }
    }

    fn unit_of(&mut self, off: usize) -> Result<usize, DwarfError> {
        let i = match self.unit_offsets.binary_search(&off) {
            Ok(i) => i,
            Err(0) => return Err(DwarfError::Reference(off)),
            Err(i) => i - 1,
        };
        let base = self.unit_offsets[i];
        if !self.units.contains_key(&base) {
            let header = self
                .dwarf
                .debug_info
                .header_from_offset(gimli::DebugInfoOffset(base))
                .map_err(|e| DwarfError::Unit {
                    offset: base,
                    what: e.to_string(),
                })?;
            let unit = self.dwarf.unit(header).map_err(|e| DwarfError::Unit {
                offset: base,
                what: e.to_string(),
            })?;
            self.units.insert(base, unit);
        }
        Ok(base)
    }

    fn entry(&mut self, off: usize) -> Result<(usize, Die<'a>), DwarfError> {
        let base = self.unit_of(off)?;
        let unit = &self.units[&base];
        let e = unit
            .entry(UnitOffset(off - base))
            .map_err(|_| DwarfError::Reference(off))?;
        Ok((base, e))
    }

    fn global(&self, base: usize, v: &AttributeValue<R<'a>>) -> Option<usize> {
        match *v {
            AttributeValue::UnitRef(o) => Some(base + o.0),
            AttributeValue::DebugInfoRef(o) => Some(o.0),
            _ => None,
        }
    }

    fn name(&self, base: usize, e: &Die<'a>) -> Option<String> {
        let v = e.attr_value(dw::DW_AT_name)?;
        str_of(self.dwarf, &self.units[&base], v).map(str::to_string)
    }

    fn named(&self, base: usize, e: &Die<'a>) -> String {
        self.name(base, e).unwrap_or_else(|| "(anon)".into())
    }

    fn udata(e: &Die<'a>, at: gimli::DwAt) -> Option<u64> {
        e.attr_value(at)?.udata_value()
    }

    fn target(&self, base: usize, e: &Die<'a>) -> Option<usize> {
        self.global(base, &e.attr_value(dw::DW_AT_type)?)
    }

    /// Maps the children of the DIE at `off` through `f`, keeping the `Some` results, and
    /// returns them with the offset of the DIE's unit.
    fn children<T>(
        &mut self,
        off: usize,
        mut f: impl FnMut(&Self, usize, &gimli::Unit<R<'a>>, &Die<'a>) -> Option<T>,
    ) -> Result<(usize, Vec<T>), DwarfError> {
        let base = self.unit_of(off)?;
        let this = &*self;
        let unit = &this.units[&base];
        let bad = |_| DwarfError::Reference(off);
        let mut tree = unit
            .entries_tree(Some(UnitOffset(off - base)))
            .map_err(bad)?;
        let root = tree.root().map_err(bad)?;
        let mut children = root.children();
        let mut out = Vec::new();
        while let Some(child) = children.next().map_err(bad)? {
            if let Some(v) = f(this, base, unit, child.entry()) {
                out.push(v);
            }
        }
        Ok((base, out))
    }

    fn attr_str(&self, unit: &gimli::Unit<R<'a>>, e: &Die<'a>) -> Option<String> {
        str_of(self.dwarf, unit, e.attr_value(dw::DW_AT_name)?).map(str::to_string)
    }

    /// The normalised reference to the type DIE at `off` (`None`: void).
    pub fn type_ref(&mut self, off: Option<usize>) -> Result<TypeRef, DwarfError> {
        match off {
            None => Ok(TypeRef::Void),
            Some(o) => self.type_at(o, 0),
        }
    }

    fn inner(
        &mut self,
        base: usize,
        e: &Die<'a>,
        depth: usize,
    ) -> Result<Box<TypeRef>, DwarfError> {
        Ok(Box::new(match self.target(base, e) {
            None => TypeRef::Void,
            Some(t) => self.type_at(t, depth + 1)?,
        }))
    }

    fn type_at(&mut self, off: usize, depth: usize) -> Result<TypeRef, DwarfError> {
        if let Some(t) = self.cache.get(&off) {
            return Ok(t.clone());
        }
        if depth > MAX_DEPTH {
            return Err(DwarfError::Reference(off));
        }
        let (base, e) = self.entry(off)?;
        let declaration = matches!(
            e.attr_value(dw::DW_AT_declaration),
            Some(AttributeValue::Flag(true))
        );
        let t = match e.tag() {
            dw::DW_TAG_base_type => {
                let float = matches!(e.attr_value(dw::DW_AT_encoding), Some(AttributeValue::Encoding(enc)) if enc == dw::DW_ATE_float);
                if float {
                    TypeRef::Float(self.named(base, &e))
                } else {
                    TypeRef::Int(self.named(base, &e))
                }
            }
            dw::DW_TAG_unspecified_type => TypeRef::Void,
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type => TypeRef::Ptr(self.inner(base, &e, depth)?),
            dw::DW_TAG_const_type => TypeRef::Const(self.inner(base, &e, depth)?),
            dw::DW_TAG_volatile_type => TypeRef::Volatile(self.inner(base, &e, depth)?),
            dw::DW_TAG_restrict_type => TypeRef::Restrict(self.inner(base, &e, depth)?),
            dw::DW_TAG_atomic_type | dw::DW_TAG_immutable_type => *self.inner(base, &e, depth)?,
            dw::DW_TAG_typedef => TypeRef::Typedef(self.named(base, &e)),
            dw::DW_TAG_structure_type | dw::DW_TAG_class_type => {
                let name = self.named(base, &e);
                if declaration {
                    TypeRef::Fwd { name, union: false }
                } else {
                    TypeRef::Struct(name)
                }
            }
            dw::DW_TAG_union_type => {
                let name = self.named(base, &e);
                if declaration {
                    TypeRef::Fwd { name, union: true }
                } else {
                    TypeRef::Union(name)
                }
            }
            dw::DW_TAG_enumeration_type => TypeRef::Enum {
                name: self.named(base, &e),
                size: Self::udata(&e, dw::DW_AT_byte_size).unwrap_or(4) as u32,
            },
            dw::DW_TAG_array_type => self.array(base, off, &e, depth)?,
            dw::DW_TAG_subroutine_type => TypeRef::FuncProto(Box::new(self.proto_at(off, depth)?)),
            _ => TypeRef::Void,
        };
        self.cache.insert(off, t.clone());
        Ok(t)
    }

    fn array(
        &mut self,
        base: usize,
        off: usize,
        e: &Die<'a>,
        depth: usize,
    ) -> Result<TypeRef, DwarfError> {
        let elem = self.inner(base, e, depth)?;
        let (_, dims) = self.children(off, |_, _, _, c| {
            if c.tag() != dw::DW_TAG_subrange_type {
                return None;
            }
            let n = if let Some(count) = c.attr_value(dw::DW_AT_count).and_then(|v| v.udata_value())
            {
                count
            } else if let Some(v) = c.attr_value(dw::DW_AT_upper_bound) {
                match v {
                    AttributeValue::Sdata(-1) => 0,
                    other => match other.udata_value() {
                        Some(u) if u == u64::from(u32::MAX) || u == u64::MAX => 0,
                        Some(u) => u + 1,
                        None => 0,
                    },
                }
            } else {
                0
            };
            Some(n as u32)
        })?;
        // A multi-dimensional array as one dimension of all the elements (`u32 x[6][18]` is
        // `u32 x[108]`), as older pahole writes it and as BTF types are normalised.
        let nelems = dims
            .iter()
            .try_fold(1u32, |acc, &n| acc.checked_mul(n))
            .unwrap_or(u32::MAX);
        Ok(TypeRef::Array {
            nelems: if dims.is_empty() { 0 } else { nelems },
            elem,
        })
    }

    /// The prototype of a subprogram or subroutine type: its return type and the
    /// `DW_TAG_formal_parameter` children (`DW_TAG_unspecified_parameters`: variadic).
    pub fn proto_at(&mut self, off: usize, depth: usize) -> Result<Proto, DwarfError> {
        let (base, e) = self.entry(off)?;
        let ret = self.inner(base, &e, depth)?;
        let (_, raw) = self.children(off, |this, base, unit, c| match c.tag() {
            dw::DW_TAG_formal_parameter => Some((
                this.attr_str(unit, c),
                c.attr_value(dw::DW_AT_type)
                    .and_then(|v| this.global(base, &v)),
                false,
            )),
            dw::DW_TAG_unspecified_parameters => Some((None, None, true)),
            _ => None,
        })?;
        let mut params = Vec::with_capacity(raw.len());
        for (name, ty, variadic) in raw {
            params.push(Param {
                name: name.unwrap_or_default(),
                ty: if variadic {
                    TypeRef::Void
                } else {
                    self.type_ref(ty)?
                },
            });
        }
        Ok(Proto { params, ret: *ret })
    }

    /// A struct or union definition.
    pub fn composite(&mut self, off: usize) -> Result<Composite, DwarfError> {
        let (_, e) = self.entry(off)?;
        let size = Self::udata(&e, dw::DW_AT_byte_size).unwrap_or(0) as u32;
        let mut members = Vec::new();
        let mut anon = 0usize;
        self.flatten(off, 0, &mut members, &mut anon, 0)?;
        Ok(Composite { size, members })
    }

    fn flatten(
        &mut self,
        off: usize,
        bit_base: u32,
        out: &mut Vec<Member>,
        anon: &mut usize,
        depth: usize,
    ) -> Result<(), DwarfError> {
        if depth > MAX_DEPTH {
            return Err(DwarfError::Reference(off));
        }
        let big_endian = {
            use gimli::Section;
            gimli::Endianity::is_big_endian(gimli::Reader::endian(self.dwarf.debug_info.reader()))
        };
        // (name, type, bit offset, bitfield size)
        let (_, raw) = self.children(off, |this, base, unit, c| {
            if c.tag() != dw::DW_TAG_member {
                return None;
            }
            let name = this.attr_str(unit, c);
            let ty = c
                .attr_value(dw::DW_AT_type)
                .and_then(|v| this.global(base, &v));
            let bit_size = Self::udata(c, dw::DW_AT_bit_size).unwrap_or(0) as u32;
            let bit_off = if let Some(b) = Self::udata(c, dw::DW_AT_data_bit_offset) {
                b as u32
            } else {
                let byte = match c.attr_value(dw::DW_AT_data_member_location) {
                    Some(AttributeValue::Exprloc(expr)) => {
                        // DW_OP_plus_uconst <n>, as DWARF 2 producers write it.
                        let b = expr.0.slice();
                        if b.first() == Some(&0x23) {
                            let mut r = gimli::EndianSlice::new(&b[1..], gimli::LittleEndian);
                            gimli::Reader::read_uleb128(&mut r).unwrap_or(0)
                        } else {
                            0
                        }
                    }
                    Some(v) => v.udata_value().unwrap_or(0),
                    None => 0,
                };
                let mut bits = (byte * 8) as u32;
                if let Some(old) = Self::udata(c, dw::DW_AT_bit_offset) {
                    // DWARF 2-4: offset of the most significant bit within the storage
                    // unit of DW_AT_byte_size bytes.
                    let storage = Self::udata(c, dw::DW_AT_byte_size).unwrap_or(0) as u32 * 8;
                    bits += if big_endian {
                        old as u32
                    } else {
                        storage.saturating_sub(old as u32 + bit_size)
                    };
                }
                bits
            };
            Some((name, ty, bit_off, bit_size))
        })?;
        for (name, ty, bit_off, bit_size) in raw {
            let offset = bit_base.saturating_add(bit_off);
            if name.is_none()
                && let Some(t) = ty
                && self.is_anonymous_composite(t)?
            {
                self.flatten(t, offset, out, anon, depth + 1)?;
                continue;
            }
            let name = name.unwrap_or_else(|| {
                let n = match *anon {
                    0 => "(anon)".to_string(),
                    k => format!("(anon-{k})"),
                };
                *anon += 1;
                n
            });
            out.push(Member {
                name,
                bit_offset: offset,
                bitfield: bit_size,
                ty: self.type_ref(ty)?,
            });
        }
        Ok(())
    }

    fn is_anonymous_composite(&mut self, off: usize) -> Result<bool, DwarfError> {
        let (base, e) = self.entry(off)?;
        Ok(matches!(
            e.tag(),
            dw::DW_TAG_structure_type | dw::DW_TAG_union_type | dw::DW_TAG_class_type
        ) && self.name(base, &e).is_none())
    }

    /// An enum definition.
    pub fn enumeration(&mut self, off: usize) -> Result<Enum, DwarfError> {
        let (_, e) = self.entry(off)?;
        let size = Self::udata(&e, dw::DW_AT_byte_size).unwrap_or(4) as u32;
        let bits = size.clamp(1, 8) * 8;
        let shift = 64 - bits;
        let (_, values) = self.children(off, |this, _, unit, c| {
            if c.tag() != dw::DW_TAG_enumerator {
                return None;
            }
            let name = this.attr_str(unit, c).unwrap_or_default();
            let raw: u64 = match c.attr_value(dw::DW_AT_const_value) {
                Some(AttributeValue::Sdata(v)) => v as u64,
                Some(AttributeValue::Data1(v)) => u64::from(v),
                Some(AttributeValue::Data2(v)) => u64::from(v),
                Some(AttributeValue::Data4(v)) => u64::from(v),
                Some(AttributeValue::Data8(v)) => v,
                Some(AttributeValue::Udata(v)) => v,
                _ => 0,
            };
            Some((name, ((raw << shift) as i64) >> shift))
        })?;
        Ok(Enum { size, values })
    }
}
