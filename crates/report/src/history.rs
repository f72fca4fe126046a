//! One dependency across the images of a dataset: its definition in each image, and the
//! changes within each group's pairs. Reports and index pages are rendered from this.

use std::collections::HashMap;

use depsurf_diff::Change;
use depsurf_surface::model::FuncStatus;
use depsurf_surface::store::StoreError;
use depsurf_surface::{
    Composite, Dataset, Enum, Item, Kind, Member, Proto, Tracepoint, TypeRef, ctext,
};

/// A code block of a research page, with the label printed above it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    pub label: Option<&'static str>,
    /// The code block's language (`c`, or `text` for config options); `None` prints the
    /// code as a plain line, without a block (a field's member).
    pub lang: Option<&'static str>,
    pub code: String,
}

/// A definition of one item in one image, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Def {
    Composite(Composite),
    Field {
        owner_is_union: bool,
        owner: String,
        owner_def: Composite,
        member: Member,
    },
    Enum(Enum),
    Func(Proto),
    Tracepoint {
        tp: Tracepoint,
        event: Option<Composite>,
        func: Option<Proto>,
    },
    /// A system call's number, and its numbers in the compatibility tables.
    Syscall {
        nr: u32,
        compat: Vec<(String, u32)>,
    },
    /// A kernel variable: its type, `Void` when only its symbol is known.
    Var(TypeRef),
    Config(String),
}

impl Def {
    pub fn as_item(&self) -> Item<'_> {
        match self {
            Def::Composite(c) => Item::Composite(c),
            Def::Field {
                owner_def, member, ..
            } => Item::Field {
                owner: owner_def,
                member,
            },
            Def::Enum(e) => Item::Enum(e),
            Def::Func(p) => Item::Func(p),
            Def::Tracepoint { tp, event, func } => Item::Tracepoint {
                tp,
                event: event.as_ref(),
                func: func.as_ref(),
            },
            Def::Syscall { nr, .. } => Item::Syscall(*nr),
            Def::Var(t) => Item::Var(t),
            Def::Config(v) => Item::Config(v),
        }
    }

    /// The definition as the research pages print it: code blocks, each with the label
    /// printed above it (a tracepoint's `Event:` and `Function:`). Members of structs, unions
    /// and fields without their bitfield widths; prototypes end with `;`; an LSM hook is the
    /// prototype of `security_<hook>`; a tracepoint shows no format string.
    pub fn research_snippets(&self, kind: Kind, name: &str) -> Vec<Snippet> {
        let code = |code: String| Snippet {
            label: None,
            lang: Some("c"),
            code,
        };
        match self {
            Def::Func(p) => {
                let shown = match kind {
                    Kind::Lsm => format!("security_{name}"),
                    _ => name.to_string(),
                };
                vec![code(format!("{};", ctext::func_decl(&shown, p)))]
            }
            Def::Tracepoint { tp, event, func } => {
                let mut v = Vec::new();
                if let Some(c) = event {
                    v.push(Snippet {
                        label: Some("Event:"),
                        ..code(ctext::composite_def_with(
                            "struct",
                            &tp.struct_name(),
                            c,
                            ctext::member_decl_plain,
                        ))
                    });
                }
                if let Some(p) = func {
                    v.push(Snippet {
                        label: Some("Function:"),
                        ..code(format!("{};", ctext::func_decl(&tp.func_name(), p)))
                    });
                }
                v
            }
            Def::Syscall { .. } => Vec::new(),
            Def::Enum(_) => vec![code(format!("enum {name}"))],
            Def::Field { member, .. } => vec![Snippet {
                lang: None,
                ..code(ctext::member_decl_plain(member))
            }],
            Def::Config(_) => vec![Snippet {
                lang: Some("text"),
                ..code(self.c_text(kind, name, ctext::member_decl_plain))
            }],
            _ => vec![code(self.c_text(kind, name, ctext::member_decl_plain))],
        }
    }

    /// The definition as C text, bitfield widths included (JSON, the website).
    pub fn text(&self, kind: Kind, name: &str) -> String {
        self.c_text(kind, name, ctext::member_decl)
    }

    /// The definition as C text, the members of a struct, union or field printed by `member`.
    fn c_text(&self, kind: Kind, name: &str, member: fn(&Member) -> String) -> String {
        match self {
            Def::Composite(c) => ctext::composite_def_with(
                if kind == Kind::Union {
                    "union"
                } else {
                    "struct"
                },
                name,
                c,
                member,
            ),
            Def::Field {
                owner_is_union,
                owner,
                member: m,
                ..
            } => format!(
                "{} {owner} {{\n    {};\n}};",
                if *owner_is_union { "union" } else { "struct" },
                member(m)
            ),
            Def::Enum(e) => ctext::enum_def(name, e),
            Def::Func(p) => ctext::func_decl(name, p),
            Def::Tracepoint { tp, event, func } => {
                let mut t = format!(
                    "/* tracepoint {}/{name}, class {} */\n",
                    tp.system, tp.class
                );
                match event {
                    Some(c) => t.push_str(&ctext::composite_def("struct", &tp.struct_name(), c)),
                    None => t.push_str(&format!("/* no struct {} */", tp.struct_name())),
                }
                t.push('\n');
                match func {
                    Some(p) => t.push_str(&ctext::func_decl(&tp.func_name(), p)),
                    None => t.push_str(&format!("/* no function {} */", tp.func_name())),
                }
                t.push_str(&format!("\n/* print fmt: {} */", fmt_comment(&tp.fmt)));
                t
            }
            Def::Syscall { nr, compat } => {
                let mut t = format!("{name} = {nr}");
                for (abi, n) in compat {
                    t.push_str(&format!("\n{name} = {n} ({abi})"));
                }
                t
            }
            Def::Var(TypeRef::Void) => format!("/* a symbol; no BTF type */\nextern {name};"),
            Def::Var(t) => format!("extern {};", ctext::decl(t, name)),
            Def::Config(v) => format!(
                "CONFIG_{}={v}",
                name.strip_prefix("CONFIG_").unwrap_or(name)
            ),
        }
    }
}

/// A format string as tracefs prints it, made safe inside a C comment on one line.
fn fmt_comment(fmt: &str) -> String {
    fmt.replace('\n', "\\n").replace("*/", "*\\/")
}

/// Reads items from a dataset, caching by image.
pub struct Lookup<'d> {
    ds: &'d Dataset,
    kind: Kind,
    name: String,
    cache: HashMap<String, Option<Def>>,
}

impl<'d> Lookup<'d> {
    pub fn new(ds: &'d Dataset, kind: Kind, name: &str) -> Self {
        let name = match kind {
            Kind::Config => name.strip_prefix("CONFIG_").unwrap_or(name).to_string(),
            _ => name.to_string(),
        };
        Lookup {
            ds,
            kind,
            name,
            cache: HashMap::new(),
        }
    }

    /// The stored name (`CONFIG_` stripped for config options).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The item in image `id`; `None` when absent (or when the image has no surface).
    pub fn get(&mut self, id: &str) -> Result<Option<Def>, StoreError> {
        if let Some(d) = self.cache.get(id) {
            return Ok(d.clone());
        }
        let d = self.load(id)?;
        self.cache.insert(id.to_string(), d.clone());
        Ok(d)
    }

    fn load(&self, id: &str) -> Result<Option<Def>, StoreError> {
        let Some(slot) = self.ds.slot(id) else {
            return Ok(None);
        };
        let store = self.ds.store();
        let def = |kind: Kind, name: &str| store.def_id(slot, kind, name);
        Ok(match self.kind {
            Kind::Struct | Kind::Union => match def(self.kind, &self.name)? {
                Some(d) => Some(Def::Composite(store.composite(d)?)),
                None => None,
            },
            Kind::Field => {
                let Some((owner, field)) = self.name.split_once("::") else {
                    return Ok(None);
                };
                let (is_union, d) = match def(Kind::Struct, owner)? {
                    Some(d) => (false, Some(d)),
                    None => (true, def(Kind::Union, owner)?),
                };
                match d {
                    Some(d) => {
                        let c = store.composite(d)?;
                        c.member(field).cloned().map(|member| Def::Field {
                            owner_is_union: is_union,
                            owner: owner.to_string(),
                            owner_def: c.clone(),
                            member,
                        })
                    }
                    None => None,
                }
            }
            Kind::Enum => match def(Kind::Enum, &self.name)? {
                Some(d) => Some(Def::Enum(store.enumeration(d)?)),
                None => None,
            },
            Kind::Func | Kind::Lsm | Kind::Kfunc => match def(self.kind, &self.name)? {
                Some(d) => Some(Def::Func(store.proto(d)?)),
                None => None,
            },
            Kind::Tracepoint => match def(Kind::Tracepoint, &self.name)? {
                Some(d) => {
                    let tp = store.tracepoint(d)?;
                    let event = match def(Kind::Struct, &tp.struct_name())? {
                        Some(d) => Some(store.composite(d)?),
                        None => None,
                    };
                    let func = match def(Kind::Func, &tp.func_name())? {
                        Some(d) => Some(store.proto(d)?),
                        None => None,
                    };
                    Some(Def::Tracepoint { tp, event, func })
                }
                None => None,
            },
            Kind::Syscall => match def(Kind::Syscall, &self.name)? {
                Some(nr) => {
                    let (_, compat) = store.syscalls(slot)?;
                    let compat = compat
                        .iter()
                        .filter_map(|(abi, t)| {
                            t.iter()
                                .find(|(_, n)| **n == self.name)
                                .map(|(&nr, _)| (abi.clone(), nr))
                        })
                        .collect();
                    Some(Def::Syscall { nr, compat })
                }
                None => None,
            },
            Kind::Var => match def(Kind::Var, &self.name)? {
                Some(d) => Some(Def::Var(store.type_of(d)?)),
                None => None,
            },
            Kind::Config => match def(Kind::Config, &self.name)? {
                Some(d) => Some(Def::Config(store.string(d)?)),
                None => None,
            },
        })
    }

    /// Function status of the item in image `id` (functions only, when recorded).
    pub fn func_status(&self, id: &str) -> Result<Option<FuncStatus>, StoreError> {
        if self.kind != Kind::Func {
            return Ok(None);
        }
        match self.ds.slot(id) {
            Some(slot) => self.ds.store().func_status(slot, &self.name),
            None => Ok(None),
        }
    }

    /// Changes between the item in two images; `None` when absent from either side.
    pub fn changes(&mut self, old: &str, new: &str) -> Result<Option<Vec<Change>>, StoreError> {
        let (Some(a), Some(b)) = (self.get(old)?, self.get(new)?) else {
            return Ok(None);
        };
        Ok(Some(depsurf_diff::items(a.as_item(), b.as_item())))
    }
}
