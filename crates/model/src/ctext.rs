//! C text for types and declarations, as reports show them (SPEC §6):
//! `struct x *name`, `char **name`, `struct x * name[3]`, `char name[16]`,
//! `void (*name)(int, char *)`, `const struct x *name`.

use crate::model::{Composite, Enum, Member, Proto, TypeRef};

fn params_text(p: &Proto) -> String {
    if p.params.is_empty() {
        return "void".into();
    }
    p.params
        .iter()
        .map(|param| {
            if param.ty == TypeRef::Void && param.name.is_empty() {
                "...".to_string()
            } else {
                decl(&param.ty, &param.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of a type with no declarator name.
pub fn type_text(t: &TypeRef) -> String {
    match t {
        TypeRef::Void => "void".into(),
        TypeRef::Int(n) | TypeRef::Float(n) | TypeRef::Typedef(n) => n.clone(),
        TypeRef::Struct(n) => format!("struct {n}"),
        TypeRef::Union(n) => format!("union {n}"),
        TypeRef::Enum { name, .. } => format!("enum {name}"),
        TypeRef::Fwd { name, union } => {
            format!("{} {name}", if *union { "union" } else { "struct" })
        }
        TypeRef::Ptr(inner) => match &**inner {
            TypeRef::FuncProto(p) => format!("{} (*)({})", type_text(&p.ret), params_text(p)),
            TypeRef::Ptr(_) => format!("{}*", type_text(inner)),
            _ => format!("{} *", type_text(inner)),
        },
        TypeRef::Const(inner) => qualified("const", inner),
        TypeRef::Volatile(inner) => qualified("volatile", inner),
        TypeRef::Restrict(inner) => qualified("restrict", inner),
        TypeRef::Array { nelems, elem } => format!("{}[{nelems}]", type_text(elem)),
        TypeRef::FuncProto(p) => format!("{} ({})", type_text(&p.ret), params_text(p)),
    }
}

/// A qualifier binds to what is on its left in C: after a pointer, before anything else.
fn qualified(q: &str, inner: &TypeRef) -> String {
    match inner {
        TypeRef::Ptr(_) => format!("{}{q}", type_text(inner)),
        _ => format!("{q} {}", type_text(inner)),
    }
}

/// A declaration of `name` with type `t`; the bare type text when `name` is empty.
pub fn decl(t: &TypeRef, name: &str) -> String {
    if name.is_empty() {
        return type_text(t);
    }
    match t {
        TypeRef::Ptr(inner) => match &**inner {
            TypeRef::FuncProto(p) => {
                format!("{} (*{name})({})", type_text(&p.ret), params_text(p))
            }
            _ => format!("{}{name}", type_text(t)),
        },
        TypeRef::Array { .. } => {
            let mut dims = String::new();
            let mut base = t;
            while let TypeRef::Array { nelems, elem } = base {
                dims.push_str(&format!("[{nelems}]"));
                base = elem;
            }
            match base {
                TypeRef::Ptr(inner) if matches!(**inner, TypeRef::FuncProto(_)) => {
                    let TypeRef::FuncProto(p) = &**inner else {
                        unreachable!()
                    };
                    format!("{} (*{name}{dims})({})", type_text(&p.ret), params_text(p))
                }
                _ => format!("{} {name}{dims}", type_text(base)),
            }
        }
        TypeRef::FuncProto(p) => format!("{} {name}({})", type_text(&p.ret), params_text(p)),
        _ => {
            let text = type_text(t);
            if text.ends_with('*') {
                format!("{text}{name}")
            } else {
                format!("{text} {name}")
            }
        }
    }
}

/// A member as a struct body shows it, without the trailing `;`.
pub fn member_decl(m: &Member) -> String {
    let d = decl(&m.ty, &m.name);
    if m.bitfield != 0 {
        format!("{d}:{}", m.bitfield)
    } else {
        d
    }
}

/// A function's prototype: `int security_file_open(struct file *file)`.
pub fn func_decl(name: &str, p: &Proto) -> String {
    let ret = type_text(&p.ret);
    let sep = if ret.ends_with('*') { "" } else { " " };
    format!("{ret}{sep}{name}({})", params_text(p))
}

/// A member as the research pages print it: a bitfield like any other, without its width
/// (`bool mmapped` for `bool mmapped:1`).
pub fn member_decl_plain(m: &Member) -> String {
    decl(&m.ty, &m.name)
}

/// A struct or union definition, members one per line, four spaces, closed by `};`.
pub fn composite_def(keyword: &str, name: &str, c: &Composite) -> String {
    composite_def_with(keyword, name, c, member_decl)
}

/// The same with each member printed by `member` ([`member_decl`], [`member_decl_plain`]).
pub fn composite_def_with(
    keyword: &str,
    name: &str,
    c: &Composite,
    member: fn(&Member) -> String,
) -> String {
    let mut s = format!("{keyword} {name} {{\n");
    for m in &c.members {
        s.push_str("    ");
        s.push_str(&member(m));
        s.push_str(";\n");
    }
    s.push_str("};");
    s
}

/// An enum definition, one value per line.
pub fn enum_def(name: &str, e: &Enum) -> String {
    let mut s = format!("enum {name} {{\n");
    for (n, v) in &e.values {
        s.push_str(&format!("    {n} = {v},\n"));
    }
    s.push_str("};");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Param;

    fn st(n: &str) -> TypeRef {
        TypeRef::Struct(n.into())
    }
    fn ptr(t: TypeRef) -> TypeRef {
        TypeRef::Ptr(Box::new(t))
    }
    fn int(n: &str) -> TypeRef {
        TypeRef::Int(n.into())
    }

    #[test]
    fn spec_examples() {
        assert_eq!(decl(&ptr(st("x")), "name"), "struct x *name");
        assert_eq!(decl(&ptr(ptr(int("char"))), "name"), "char **name");
        let arr = TypeRef::Array {
            nelems: 3,
            elem: Box::new(ptr(st("x"))),
        };
        assert_eq!(decl(&arr, "name"), "struct x * name[3]");
        let chars = TypeRef::Array {
            nelems: 16,
            elem: Box::new(int("char")),
        };
        assert_eq!(decl(&chars, "name"), "char name[16]");
        let fp = ptr(TypeRef::FuncProto(Box::new(Proto {
            params: vec![
                Param {
                    name: String::new(),
                    ty: int("int"),
                },
                Param {
                    name: String::new(),
                    ty: ptr(int("char")),
                },
            ],
            ret: TypeRef::Void,
        })));
        assert_eq!(decl(&fp, "name"), "void (*name)(int, char *)");
        assert_eq!(
            decl(&ptr(TypeRef::Const(Box::new(st("x")))), "name"),
            "const struct x *name"
        );
        // The seed's members.
        assert_eq!(
            decl(
                &TypeRef::Array {
                    nelems: 1,
                    elem: Box::new(ptr(int("short unsigned int")))
                },
                "gfn_track"
            ),
            "short unsigned int * gfn_track[1]"
        );
        assert_eq!(
            decl(&ptr(int("short unsigned int")), "gfn_write_track"),
            "short unsigned int *gfn_write_track"
        );
    }

    #[test]
    fn functions_and_qualifiers() {
        let p = Proto {
            params: vec![Param {
                name: "file".into(),
                ty: ptr(st("file")),
            }],
            ret: int("int"),
        };
        assert_eq!(
            func_decl("security_file_open", &p),
            "int security_file_open(struct file *file)"
        );
        let p2 = Proto {
            params: vec![],
            ret: ptr(st("task_struct")),
        };
        assert_eq!(
            func_decl("get_current", &p2),
            "struct task_struct *get_current(void)"
        );
        assert_eq!(
            decl(&TypeRef::Const(Box::new(ptr(int("char")))), "s"),
            "char *const s"
        );
        let m = Member {
            name: "flags".into(),
            bit_offset: 0,
            bitfield: 3,
            ty: int("unsigned int"),
        };
        assert_eq!(member_decl(&m), "unsigned int flags:3");
        let c = Composite {
            size: 4,
            members: vec![m.clone()],
        };
        assert_eq!(
            composite_def("struct", "s", &c),
            "struct s {\n    unsigned int flags:3;\n};"
        );
        assert_eq!(
            composite_def_with("struct", "s", &c, member_decl_plain),
            "struct s {\n    unsigned int flags;\n};"
        );
    }
}
