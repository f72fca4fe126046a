//! Types compared by what their bytes mean, not by how they are spelled: a program reads the
//! same data through `unsigned long` and `u64` on a 64-bit kernel, through `const struct
//! sock *` and `struct sock *`, through a flexible array written `x[0]`, `x[1]` or `x[]`.
//! What changes the bytes read: the size or signedness of an integer, what a pointer points
//! to (a program dereferences it with its own idea of the pointee), the struct a member is,
//! the number of elements of a fixed array, a pointer becoming an array.

use depsurf_surface::model::TypeRef;

/// The machine word of one side of a comparison: 8 bytes on 64-bit kernels (and in every
/// eBPF object), 4 on 32-bit ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word(pub u32);

impl Word {
    pub const BPF: Word = Word(8);

    /// The word of a Debian architecture name (`amd64`, `armhf`, ...); 8 when unknown.
    pub fn of_arch(arch: Option<&str>) -> Word {
        match arch {
            Some("armhf" | "armel" | "i386" | "arm" | "x86" | "mips" | "mipsel" | "powerpc") => {
                Word(4)
            }
            _ => Word(8),
        }
    }
}

/// An integer's size and signedness, from its C name (`long unsigned int`) or a fixed-width
/// typedef of the kernel or the C library (`u32`, `__s64`, `uint8_t`).
fn int_shape(name: &str, w: Word) -> Option<(u32, bool)> {
    let fixed = name.trim_start_matches('_');
    let fixed_shape = match fixed {
        "u8" | "uint8_t" => Some((1, false)),
        "s8" | "int8_t" => Some((1, true)),
        "u16" | "le16" | "be16" | "uint16_t" | "sum16" => Some((2, false)),
        "s16" | "int16_t" => Some((2, true)),
        "u32" | "le32" | "be32" | "uint32_t" | "wsum" | "poll_t" => Some((4, false)),
        "s32" | "int32_t" => Some((4, true)),
        "u64" | "le64" | "be64" | "uint64_t" | "aligned_u64" => Some((8, false)),
        "s64" | "int64_t" => Some((8, true)),
        "bool" | "Bool" => Some((1, false)),
        "size_t" | "uintptr_t" | "kernel_size_t" | "kernel_ulong_t" => Some((w.0, false)),
        "ssize_t" | "intptr_t" | "kernel_ssize_t" | "kernel_long_t" | "ptrdiff_t" => {
            Some((w.0, true))
        }
        _ => None,
    };
    if fixed_shape.is_some() {
        return fixed_shape;
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty()
        || !words.iter().all(|x| {
            matches!(
                *x,
                "unsigned" | "signed" | "char" | "short" | "int" | "long" | "_Bool" | "__int128"
            )
        })
    {
        return None;
    }
    let longs = words.iter().filter(|x| **x == "long").count();
    let unsigned = words.contains(&"unsigned");
    let size = if words.contains(&"_Bool") {
        return Some((1, false));
    } else if words.contains(&"__int128") {
        16
    } else if words.contains(&"char") {
        // Plain `char` is signed on x86 and unsigned on arm; the bytes are the same.
        return Some((1, unsigned));
    } else if words.contains(&"short") {
        2
    } else if longs >= 2 {
        8
    } else if longs == 1 {
        w.0
    } else {
        4
    };
    Some((size, !unsigned))
}

/// A type with qualifiers removed at every depth (they change no byte) and forward
/// declarations read as the structs they declare.
fn plain(t: &TypeRef) -> TypeRef {
    match t {
        TypeRef::Const(b) | TypeRef::Volatile(b) | TypeRef::Restrict(b) => plain(b),
        TypeRef::Fwd { name, union: false } => TypeRef::Struct(name.clone()),
        TypeRef::Fwd { name, union: true } => TypeRef::Union(name.clone()),
        TypeRef::Ptr(b) => TypeRef::Ptr(Box::new(plain(b))),
        TypeRef::Array { nelems, elem } => TypeRef::Array {
            nelems: *nelems,
            elem: Box::new(plain(elem)),
        },
        other => other.clone(),
    }
}

/// Whether `a` (on a side with word `wa`) and `b` (word `wb`) hold the same bytes with the
/// same meaning. A typedef neither side can see through is taken as equal to anything
/// (datasets keep typedef names, not their definitions), unless both name different
/// fixed-width integers.
pub fn same(a: &TypeRef, wa: Word, b: &TypeRef, wb: Word) -> bool {
    same_plain(&plain(a), wa, &plain(b), wb)
}

fn same_plain(a: &TypeRef, wa: Word, b: &TypeRef, wb: Word) -> bool {
    let scalar = |t: &TypeRef, w: Word| -> Option<(u32, bool)> {
        match t {
            TypeRef::Int(n) | TypeRef::Typedef(n) => int_shape(n, w),
            // An enum's values read as integers of its size.
            TypeRef::Enum { size, .. } => Some((*size, false)),
            _ => None,
        }
    };
    match (a, b) {
        (TypeRef::Enum { size: x, .. }, TypeRef::Enum { size: y, .. }) => x == y,
        _ if scalar(a, wa).is_some() && scalar(b, wb).is_some() => {
            let (x, y) = (
                scalar(a, wa).unwrap_or_default(),
                scalar(b, wb).unwrap_or_default(),
            );
            // Enums have no signedness the program can rely on; sizes decide.
            if matches!(a, TypeRef::Enum { .. }) || matches!(b, TypeRef::Enum { .. }) {
                x.0 == y.0
            } else {
                x == y
            }
        }
        (TypeRef::Typedef(_), _) | (_, TypeRef::Typedef(_)) => true,
        (TypeRef::Ptr(x), TypeRef::Ptr(y)) => pointee_same(x, wa, y, wb),
        (TypeRef::Array { nelems: n, elem: x }, TypeRef::Array { nelems: m, elem: y }) => {
            // A flexible array member is written [0], [1] or [] (0 here).
            (n == m || (*n <= 1 && *m <= 1)) && same_plain(x, wa, y, wb)
        }
        (TypeRef::Struct(x), TypeRef::Struct(y)) | (TypeRef::Union(x), TypeRef::Union(y)) => x == y,
        (TypeRef::FuncProto(_), TypeRef::FuncProto(_)) => true,
        _ => a == b,
    }
}

/// What a pointer points to, compared as a program dereferencing it would: `void *` takes
/// anything (the program casts it), other pointees as types.
fn pointee_same(a: &TypeRef, wa: Word, b: &TypeRef, wb: Word) -> bool {
    matches!(a, TypeRef::Void) || matches!(b, TypeRef::Void) || same_plain(a, wa, b, wb)
}

/// Whether libbpf accepts `target` where the object has `local` for a CO-RE field: the same
/// class of type (integers and enums, pointers, structs, unions, arrays of compatible
/// elements, floats).
pub fn compatible(local: &TypeRef, target: &TypeRef) -> bool {
    fn class(t: &TypeRef) -> Option<&'static str> {
        Some(match t {
            TypeRef::Int(_) | TypeRef::Enum { .. } => "scalar",
            TypeRef::Float(_) => "float",
            TypeRef::Ptr(_) => "ptr",
            TypeRef::Struct(_) | TypeRef::Fwd { union: false, .. } => "struct",
            TypeRef::Union(_) | TypeRef::Fwd { union: true, .. } => "union",
            TypeRef::Array { .. } => "array",
            TypeRef::FuncProto(_) => "func",
            TypeRef::Const(t) | TypeRef::Volatile(t) | TypeRef::Restrict(t) => return class(t),
            TypeRef::Void => "void",
            TypeRef::Typedef(_) => return None,
        })
    }
    match (class(local), class(target)) {
        (Some("array"), Some("array")) => match (plain(local), plain(target)) {
            (TypeRef::Array { elem: a, .. }, TypeRef::Array { elem: b, .. }) => compatible(&a, &b),
            _ => true,
        },
        (Some(a), Some(b)) => a == b,
        // A typedef the dataset does not resolve: assume compatible.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: &str) -> TypeRef {
        TypeRef::Int(n.into())
    }
    fn td(n: &str) -> TypeRef {
        TypeRef::Typedef(n.into())
    }
    fn ptr(t: TypeRef) -> TypeRef {
        TypeRef::Ptr(Box::new(t))
    }
    fn c(t: TypeRef) -> TypeRef {
        TypeRef::Const(Box::new(t))
    }
    const W8: Word = Word(8);
    const W4: Word = Word(4);

    #[test]
    fn spellings_of_one_meaning_compare_equal() {
        let eq = |a: &TypeRef, b: &TypeRef| same(a, W8, b, W8);
        assert!(eq(&int("long"), &int("long int")));
        assert!(eq(&int("unsigned long"), &int("long unsigned int")));
        assert!(eq(&td("__u32"), &td("u32")));
        assert!(eq(&td("__u32"), &int("unsigned int")));
        // unsigned long and u64 are both 8 unsigned bytes on a 64-bit kernel...
        assert!(eq(&int("long unsigned int"), &td("u64")));
        // ... but not on a 32-bit one.
        assert!(!same(&int("long unsigned int"), W4, &td("u64"), W8));
        assert!(eq(
            &TypeRef::Volatile(Box::new(int("long int"))),
            &int("long int")
        ));
        assert!(eq(
            &ptr(c(TypeRef::Struct("sock".into()))),
            &ptr(TypeRef::Struct("sock".into()))
        ));
        assert!(eq(
            &ptr(TypeRef::Fwd {
                name: "file".into(),
                union: false
            }),
            &ptr(TypeRef::Struct("file".into()))
        ));
        let flex = |n| TypeRef::Array {
            nelems: n,
            elem: Box::new(td("u32")),
        };
        assert!(eq(&flex(0), &flex(1)));
        assert!(!eq(&flex(2), &flex(4)));
    }

    #[test]
    fn real_changes_stay_changes() {
        let eq = |a: &TypeRef, b: &TypeRef| same(a, W8, b, W8);
        assert!(!eq(&int("unsigned int"), &int("short unsigned int")));
        assert!(!eq(&int("int"), &int("unsigned int")));
        assert!(!eq(&td("u32"), &td("u16")));
        assert!(!eq(
            &ptr(TypeRef::Struct("page".into())),
            &ptr(TypeRef::Struct("folio".into()))
        ));
        assert!(!eq(&ptr(td("u32")), &ptr(td("u64"))));
        assert!(!eq(
            &TypeRef::Array {
                nelems: 10,
                elem: Box::new(ptr(TypeRef::Void))
            },
            &ptr(TypeRef::Void)
        ));
    }

    #[test]
    fn libbpf_compatibility_is_by_class() {
        assert!(!compatible(
            &TypeRef::Array {
                nelems: 10,
                elem: Box::new(ptr(TypeRef::Void))
            },
            &ptr(TypeRef::Void)
        ));
        assert!(compatible(
            &int("int"),
            &TypeRef::Enum {
                name: "e".into(),
                size: 4
            }
        ));
        assert!(compatible(&c(int("int")), &int("short")));
    }
}
