//! The research system's dataset layout (SPEC §8), both ways: one JSON Lines file per kind
//! per image, and one `.config` per image.
//!
//! ```text
//! types_struct/<image>.jsonl   types_union/<image>.jsonl   types_enum/<image>.jsonl
//! types_func/<image>.jsonl     config/<image>.config        func_groups/<image>.jsonl
//! tracepoints/<image>.jsonl    syscalls/<image>.json
//! lsm_hooks/<image>.jsonl      kfuncs/<image>.jsonl          (depsurf's additions)
//! syscalls_compat/<image>.json                               (depsurf's addition)
//! depsurf-manifest.toml                                      (identities and groups)
//! ```
//! Export writes into a temporary directory renamed into place at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::extract::ImageMeta;
use crate::manifest::Manifest;
use crate::model::{
    Callers, Collision, Composite, Enum, Facet, FuncEntry, FuncStatus, FuncSymbol, InlineAttr,
    InlineType, Kind, Member, Param, Proto, Surface, Tracepoint, TypeRef,
};

#[derive(Debug, thiserror::Error)]
pub enum ResearchError {
    // The cause is part of the message, not a `source`: `{:#}` would print it twice.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}:{line}: {what}")]
    Bad {
        path: String,
        line: usize,
        what: String,
    },
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ResearchError + '_ {
    move |source| ResearchError::Io {
        path: path.display().to_string(),
        error: source,
    }
}

const DIRS: [&str; 9] = [
    "types_struct",
    "types_union",
    "types_enum",
    "types_int",
    "types_func",
    "func_groups",
    "tracepoints",
    "lsm_hooks",
    "kfuncs",
];

/// Directories of one JSON object per image.
const JSON_DIRS: [&str; 2] = ["syscalls", "syscalls_compat"];

// ---------------------------------------------------------------------------------------
// To JSON

pub fn type_json(t: &TypeRef) -> Value {
    match t {
        TypeRef::Void => json!({"name": "void", "kind": "VOID"}),
        TypeRef::Int(n) => json!({"kind": "INT", "name": n}),
        TypeRef::Float(n) => json!({"kind": "FLOAT", "name": n}),
        TypeRef::Struct(n) => json!({"kind": "STRUCT", "name": n}),
        TypeRef::Union(n) => json!({"kind": "UNION", "name": n}),
        TypeRef::Typedef(n) => json!({"kind": "TYPEDEF", "name": n}),
        TypeRef::Enum { name, size } => json!({"kind": "ENUM", "name": name, "size": size}),
        TypeRef::Fwd { name, union } => json!({
            "kind": "FWD", "name": name, "fwd_kind": if *union { "union" } else { "struct" }
        }),
        TypeRef::Ptr(i) => json!({"kind": "PTR", "type": type_json(i)}),
        TypeRef::Const(i) => json!({"kind": "CONST", "name": "(anon)", "type": type_json(i)}),
        TypeRef::Volatile(i) => {
            json!({"kind": "VOLATILE", "name": "(anon)", "type": type_json(i)})
        }
        TypeRef::Restrict(i) => {
            json!({"kind": "RESTRICT", "name": "(anon)", "type": type_json(i)})
        }
        TypeRef::Array { nelems, elem } => json!({
            "kind": "ARRAY", "name": "(anon)", "nr_elems": nelems, "type": type_json(elem)
        }),
        TypeRef::FuncProto(p) => proto_json(p),
    }
}

/// A function type. Unnamed parameters (those of function pointers, as BTF has them) are
/// named as the research system names them: `(anon)`, `(anon-1)`, `(anon-2)`, ... in each
/// parameter list; import turns these names back into none.
fn proto_json(p: &Proto) -> Value {
    let mut unnamed = 0;
    let params: Vec<Value> = p
        .params
        .iter()
        .map(|q| {
            let name = if q.name.is_empty() {
                unnamed += 1;
                anon_name(unnamed - 1)
            } else {
                q.name.clone()
            };
            json!({"name": name, "type": type_json(&q.ty)})
        })
        .collect();
    json!({
        "kind": "FUNC_PROTO",
        "params": params,
        "ret_type": type_json(&p.ret),
    })
}

/// The research system's name of the `k`-th unnamed thing of a list: `(anon)`, `(anon-1)`...
fn anon_name(k: usize) -> String {
    match k {
        0 => "(anon)".to_string(),
        k => format!("(anon-{k})"),
    }
}

pub fn composite_json(kind: &str, name: &str, c: &Composite) -> Value {
    let members: Vec<Value> = c
        .members
        .iter()
        .map(|m| {
            let mut v =
                json!({"name": m.name, "bits_offset": m.bit_offset, "type": type_json(&m.ty)});
            if m.bitfield != 0 {
                v["bitfield_size"] = json!(m.bitfield);
            }
            v
        })
        .collect();
    json!({"kind": kind, "name": name, "size": c.size, "members": members})
}

pub fn enum_json(name: &str, e: &Enum) -> Value {
    json!({
        "kind": "ENUM", "name": name, "size": e.size,
        "values": e.values.iter().map(|(n, v)| json!({"name": n, "val": v})).collect::<Vec<_>>(),
    })
}

pub fn func_json(name: &str, p: &Proto) -> Value {
    json!({"kind": "FUNC", "name": name, "type": proto_json(p)})
}

/// A function group (function status) in the research system's shape. When a dataset
/// kept only the number of callers, `caller_inline_count` / `caller_func_count` say it.
/// A tracepoint with its struct and function (`null` where the image lacks them).
pub fn tracepoint_json(event: &str, tp: &Tracepoint, s: &Surface) -> Value {
    let (sn, fname) = (tp.struct_name(), tp.func_name());
    let mut v = json!({
        "class_name": tp.class,
        "event_name": event,
        "func_name": fname,
        "struct_name": sn,
        "fmt_str": tp.fmt,
        "system": tp.system,
        "func": s.funcs.get(&fname).map(|p| func_json(&fname, p)),
        "struct": s.structs.get(&sn).map(|c| composite_json("STRUCT", &sn, c)),
    });
    // The research system's records have no system; one imported from them has none to
    // give back.
    if tp.system.is_empty()
        && let Some(o) = v.as_object_mut()
    {
        o.remove("system");
    }
    v
}

/// The research layout's name for a slot that holds `sys_ni_syscall`.
pub const NI_SYSCALL: &str = "ni_syscall";

/// A system call table as the research layout has it: every slot by number, those of
/// `sys_ni_syscall` named [`NI_SYSCALL`] (`{"0": "read", ..., "134": "ni_syscall"}`).
pub fn syscall_table<'a>(
    t: &'a BTreeMap<u32, String>,
    ni: Option<&BTreeSet<u32>>,
) -> BTreeMap<u32, &'a str> {
    let mut out: BTreeMap<u32, &str> = t.iter().map(|(&nr, n)| (nr, n.as_str())).collect();
    for &nr in ni.into_iter().flatten() {
        out.entry(nr).or_insert(NI_SYSCALL);
    }
    out
}

/// A system call table read from the research layout: the calls, and the slots named
/// [`NI_SYSCALL`] apart.
fn syscalls_from_json(
    v: &Value,
    path: &Path,
) -> Result<(BTreeMap<u32, String>, BTreeSet<u32>), ResearchError> {
    let bad = |what: String| ResearchError::Invalid(format!("{}: {what}", path.display()));
    let obj = v
        .as_object()
        .ok_or_else(|| bad("expected an object of number: name".into()))?;
    let mut table = BTreeMap::new();
    let mut ni = BTreeSet::new();
    for (k, n) in obj {
        let nr = k
            .parse::<u32>()
            .map_err(|_| bad(format!("{k:?} is not a system call number")))?;
        let name = n
            .as_str()
            .ok_or_else(|| bad(format!("the name of {nr} is not a string")))?;
        if name == NI_SYSCALL {
            ni.insert(nr);
        } else {
            table.insert(nr, name.to_string());
        }
    }
    Ok((table, ni))
}

/// An integer type as `types_int/` has it.
pub fn int_json(name: &str, size: u32) -> Value {
    json!({"kind": "INT", "name": name, "size": size})
}

pub fn func_group_json(name: &str, f: &FuncStatus) -> Value {
    let funcs: Vec<Value> = f
        .entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "addr": e.addr,
                "name": name,
                "external": e.external,
                "loc": e.loc,
                "file": e.file,
                "inline": e.inline.as_str(),
                "caller_inline": e.caller_inline.names,
                "caller_func": e.caller_func.names,
            });
            if e.caller_inline.names.len() as u32 != e.caller_inline.count {
                v["caller_inline_count"] = json!(e.caller_inline.count);
            }
            if e.caller_func.names.len() as u32 != e.caller_func.count {
                v["caller_func_count"] = json!(e.caller_func.count);
            }
            v
        })
        .collect();
    let symbols: Vec<Value> = f
        .symbols
        .iter()
        .map(|y| json!({"addr": y.addr, "name": y.name, "section": y.section, "bind": y.bind, "size": y.size}))
        .collect();
    json!({
        "name": name,
        "collision_type": f.collision.as_str(),
        "inline_type": f.inline.as_str(),
        "funcs": funcs,
        "symbols": symbols,
    })
}

// ---------------------------------------------------------------------------------------
// From JSON

struct Reader<'a> {
    path: &'a str,
    line: usize,
}

impl Reader<'_> {
    fn bad(&self, what: impl Into<String>) -> ResearchError {
        ResearchError::Bad {
            path: self.path.to_string(),
            line: self.line,
            what: what.into(),
        }
    }

    fn str<'v>(&self, v: &'v Value, key: &str) -> Result<&'v str, ResearchError> {
        v.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| self.bad(format!("missing string field {key:?}")))
    }

    fn u32(&self, v: &Value, key: &str) -> Result<u32, ResearchError> {
        v.get(key)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.bad(format!("missing or bad number {key:?}")))
    }

    fn ty(&self, v: &Value, depth: usize) -> Result<TypeRef, ResearchError> {
        if depth > 64 {
            return Err(self.bad("type nests too deeply"));
        }
        let inner = |k: &str| -> Result<Box<TypeRef>, ResearchError> {
            Ok(Box::new(self.ty(
                v.get(k).ok_or_else(|| self.bad(format!("missing {k:?}")))?,
                depth + 1,
            )?))
        };
        let name = || -> Result<String, ResearchError> { Ok(self.str(v, "name")?.to_string()) };
        Ok(match self.str(v, "kind")? {
            "VOID" => TypeRef::Void,
            "INT" => TypeRef::Int(name()?),
            "FLOAT" => TypeRef::Float(name()?),
            "STRUCT" => TypeRef::Struct(name()?),
            "UNION" => TypeRef::Union(name()?),
            "TYPEDEF" => TypeRef::Typedef(name()?),
            "ENUM" | "ENUM64" => TypeRef::Enum {
                name: name()?,
                size: self.u32(v, "size").unwrap_or(4),
            },
            "FWD" => TypeRef::Fwd {
                name: name()?,
                union: v.get("fwd_kind").and_then(Value::as_str) == Some("union"),
            },
            "PTR" => TypeRef::Ptr(inner("type")?),
            "CONST" => TypeRef::Const(inner("type")?),
            "VOLATILE" => TypeRef::Volatile(inner("type")?),
            "RESTRICT" => TypeRef::Restrict(inner("type")?),
            "TYPE_TAG" => *inner("type")?,
            "ARRAY" => TypeRef::Array {
                nelems: self.u32(v, "nr_elems")?,
                elem: inner("type")?,
            },
            "FUNC_PROTO" => TypeRef::FuncProto(Box::new(self.proto(v, depth + 1)?)),
            other => return Err(self.bad(format!("unknown type kind {other:?}"))),
        })
    }

    fn proto(&self, v: &Value, depth: usize) -> Result<Proto, ResearchError> {
        let params = v
            .get("params")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad("missing \"params\""))?
            .iter()
            .map(|p| {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                Ok(Param {
                    // `(anon)`, `(anon-1)`: the research system's names for none.
                    name: if name.starts_with("(anon") {
                        String::new()
                    } else {
                        name.to_string()
                    },
                    ty: self.ty(
                        p.get("type")
                            .ok_or_else(|| self.bad("parameter without type"))?,
                        depth + 1,
                    )?,
                })
            })
            .collect::<Result<_, ResearchError>>()?;
        let ret = match v.get("ret_type") {
            Some(r) => self.ty(r, depth + 1)?,
            None => TypeRef::Void,
        };
        Ok(Proto { params, ret })
    }

    /// Members, flattening nested anonymous struct/union definitions if a producer kept
    /// them, and naming other anonymous members `(anon)`, `(anon-1)`, ...
    fn members(
        &self,
        v: &Value,
        base: u32,
        out: &mut Vec<Member>,
        anon: &mut usize,
        depth: usize,
    ) -> Result<(), ResearchError> {
        for m in v
            .get("members")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad("missing \"members\""))?
        {
            let off = base + self.u32(m, "bits_offset")?;
            let name = m.get("name").and_then(Value::as_str).unwrap_or("");
            let ty = m
                .get("type")
                .ok_or_else(|| self.bad("member without type"))?;
            let nested = ty.get("members").is_some()
                && matches!(
                    ty.get("kind").and_then(Value::as_str),
                    Some("STRUCT" | "UNION")
                );
            if (name.is_empty() || name == "(anon)") && nested && depth < 64 {
                self.members(ty, off, out, anon, depth + 1)?;
                continue;
            }
            let name = if name.is_empty() || name.starts_with("(anon") {
                let n = anon_name(*anon);
                *anon += 1;
                n
            } else {
                name.to_string()
            };
            out.push(Member {
                name,
                bit_offset: off,
                bitfield: m
                    .get("bitfield_size")
                    .and_then(Value::as_u64)
                    .and_then(|b| u32::try_from(b).ok())
                    .unwrap_or(0),
                ty: self.ty(ty, depth + 1)?,
            });
        }
        Ok(())
    }
}

fn read_jsonl(
    path: &Path,
    mut each: impl FnMut(&Reader<'_>, Value) -> Result<(), ResearchError>,
) -> Result<(), ResearchError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let p = path.display().to_string();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r = Reader {
            path: &p,
            line: i + 1,
        };
        let v: Value = serde_json::from_str(line).map_err(|e| r.bad(e.to_string()))?;
        each(&r, v)?;
    }
    Ok(())
}

/// Reads one image's files from a research layout rooted at `root`.
pub fn import_image(root: &Path, image: &str) -> Result<Surface, ResearchError> {
    if !crate::manifest::is_plain_name(image) {
        return Err(ResearchError::Invalid(format!(
            "{}: image {image:?} is not a plain name, so names no file here",
            root.display()
        )));
    }
    let mut s = Surface::default();
    let file = |dir: &str, ext: &str| root.join(dir).join(format!("{image}.{ext}"));
    // The names of each file in the order of its lines, so export writes them back so.
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (dir, is_struct) in [("types_struct", true), ("types_union", false)] {
        let p = file(dir, "jsonl");
        if !p.exists() {
            continue;
        }
        let names = order.entry(dir.to_string()).or_default();
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
            names.push(name.clone());
            let mut members = Vec::new();
            r.members(&v, 0, &mut members, &mut 0, 0)?;
            let c = Composite {
                size: r.u32(&v, "size")?,
                members,
            };
            let map = if is_struct {
                &mut s.structs
            } else {
                &mut s.unions
            };
            map.entry(name).or_insert(c);
            Ok(())
        })?;
    }
    let p = file("types_enum", "jsonl");
    if p.exists() {
        let names = order.entry("types_enum".to_string()).or_default();
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
            let size = r.u32(&v, "size").unwrap_or(4);
            let values = v
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| r.bad("missing \"values\""))?
                .iter()
                .map(|e| {
                    Ok((
                        r.str(e, "name")?.to_string(),
                        e.get("val")
                            .and_then(Value::as_i64)
                            .ok_or_else(|| r.bad("bad \"val\""))?,
                    ))
                })
                .collect::<Result<Vec<_>, ResearchError>>()?;
            let key = if name.is_empty() {
                "(anon)".to_string()
            } else {
                name
            };
            if !names.contains(&key) {
                names.push(key.clone());
            }
            match s.enums.get_mut(&key) {
                Some(e) if key == "(anon)" => e.values.extend(values),
                Some(_) => {}
                None => {
                    s.enums.insert(key, Enum { size, values });
                }
            }
            Ok(())
        })?;
    }
    for (dir, map) in [
        ("types_func", &mut s.funcs),
        ("lsm_hooks", &mut s.lsm_hooks),
        ("kfuncs", &mut s.kfuncs),
    ] {
        let p = file(dir, "jsonl");
        if !p.exists() {
            continue;
        }
        let names = order.entry(dir.to_string()).or_default();
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
            names.push(name.clone());
            let proto = r.proto(
                v.get("type")
                    .ok_or_else(|| r.bad("function without \"type\""))?,
                0,
            )?;
            map.entry(name).or_insert(proto);
            Ok(())
        })?;
    }
    let p = file("func_groups", "jsonl");
    if p.exists() {
        let names = order.entry("func_groups".to_string()).or_default();
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
            names.push(name.clone());
            let collision = Collision::parse(r.str(&v, "collision_type")?)
                .ok_or_else(|| r.bad("unknown collision_type"))?;
            let inline = InlineType::parse(r.str(&v, "inline_type")?)
                .ok_or_else(|| r.bad("unknown inline_type"))?;
            let callers = |e: &Value, key: &str| -> Callers {
                let names: Vec<String> = e
                    .get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|n| n.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let count = e
                    .get(format!("{key}_count"))
                    .and_then(Value::as_u64)
                    .map(|c| c as u32)
                    .unwrap_or(names.len() as u32);
                Callers { count, names }
            };
            let mut entries = Vec::new();
            for e in v
                .get("funcs")
                .and_then(Value::as_array)
                .ok_or_else(|| r.bad("missing \"funcs\""))?
            {
                entries.push(FuncEntry {
                    addr: e.get("addr").and_then(Value::as_u64).unwrap_or(0),
                    external: e.get("external").and_then(Value::as_bool).unwrap_or(false),
                    loc: e
                        .get("loc")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    file: e
                        .get("file")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    inline: e
                        .get("inline")
                        .and_then(Value::as_str)
                        .and_then(InlineAttr::parse)
                        .unwrap_or(InlineAttr::SeenUnknown),
                    caller_inline: callers(e, "caller_inline"),
                    caller_func: callers(e, "caller_func"),
                });
            }
            let mut symbols = Vec::new();
            for y in v
                .get("symbols")
                .and_then(Value::as_array)
                .ok_or_else(|| r.bad("missing \"symbols\""))?
            {
                symbols.push(FuncSymbol {
                    addr: y.get("addr").and_then(Value::as_u64).unwrap_or(0),
                    name: r.str(y, "name")?.to_string(),
                    section: y
                        .get("section")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    bind: y
                        .get("bind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    size: y.get("size").and_then(Value::as_u64).unwrap_or(0),
                });
            }
            s.func_status.insert(
                name,
                FuncStatus {
                    collision,
                    inline,
                    entries,
                    symbols,
                },
            );
            Ok(())
        })?;
    }
    let p = file("tracepoints", "jsonl");
    if p.exists() {
        let names = order.entry("tracepoints".to_string()).or_default();
        read_jsonl(&p, |r, v| {
            let event = r.str(&v, "event_name")?.to_string();
            names.push(event.clone());
            let tp = Tracepoint {
                class: r.str(&v, "class_name")?.to_string(),
                system: v
                    .get("system")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                fmt: v
                    .get("fmt_str")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            };
            // The struct and function usually are in types_struct and types_func too; take
            // them from here where they are not.
            if let Some(st) = v.get("struct").filter(|x| !x.is_null()) {
                let mut members = Vec::new();
                r.members(st, 0, &mut members, &mut 0, 0)?;
                let c = Composite {
                    size: r.u32(st, "size")?,
                    members,
                };
                s.structs.entry(tp.struct_name()).or_insert(c);
            }
            if let Some(f) = v.get("func").filter(|x| !x.is_null()) {
                let proto = r.proto(
                    f.get("type")
                        .ok_or_else(|| r.bad("function without \"type\""))?,
                    0,
                )?;
                s.funcs.entry(tp.func_name()).or_insert(proto);
            }
            s.tracepoints.insert(event, tp);
            Ok(())
        })?;
    }
    for dir in JSON_DIRS {
        let p = file(dir, "json");
        if !p.exists() {
            continue;
        }
        let data = std::fs::read(&p).map_err(io(&p))?;
        let v: Value = serde_json::from_slice(&data)
            .map_err(|e| ResearchError::Invalid(format!("{}: {e}", p.display())))?;
        let mut keep_ni = |abi: &str, ni: BTreeSet<u32>| {
            if !ni.is_empty() {
                s.ni_syscalls.insert(abi.to_string(), ni);
            }
        };
        if dir == "syscalls" {
            let (table, ni) = syscalls_from_json(&v, &p)?;
            s.syscalls = table;
            keep_ni("", ni);
        } else {
            let obj = v.as_object().ok_or_else(|| {
                ResearchError::Invalid(format!("{}: expected an object of tables", p.display()))
            })?;
            for (abi, t) in obj {
                let (table, ni) = syscalls_from_json(t, &p)?;
                s.compat_syscalls.insert(abi.clone(), table);
                keep_ni(abi, ni);
            }
        }
    }
    let p = file("types_int", "jsonl");
    if p.exists() {
        let names = order.entry("types_int".to_string()).or_default();
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
            names.push(name.clone());
            s.ints.entry(name).or_insert(r.u32(&v, "size")?);
            Ok(())
        })?;
    }
    let p = file("config", "config");
    if p.exists() {
        let data = std::fs::read(&p).map_err(io(&p))?;
        let cfg = depsurf_image::config::Config::parse(&data)
            .map_err(|e| ResearchError::Invalid(format!("{}: {e}", p.display())))?;
        s.config = cfg.set;
        // Parsed, so text: the file itself is written back by export.
        s.config_text = Some(String::from_utf8_lossy(&data).into_owned());
    }
    s.file_order = order;
    Ok(s)
}

/// The images a research layout holds: file stems found in any of its directories.
pub fn list_images(root: &Path) -> Result<Vec<String>, ResearchError> {
    let mut names = std::collections::BTreeSet::new();
    for dir in DIRS.iter().copied().chain(JSON_DIRS).chain(["config"]) {
        let d = root.join(dir);
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e.map_err(io(&d))?;
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = n
                .strip_suffix(".jsonl")
                .or_else(|| n.strip_suffix(".config"))
                .or_else(|| n.strip_suffix(".json"))
                && crate::manifest::is_plain_name(stem)
            {
                names.insert(stem.to_string());
            }
        }
    }
    if names.is_empty() {
        return Err(ResearchError::Invalid(format!(
            "{}: no research dataset here (expected types_struct/, types_func/, config/, ...)",
            root.display()
        )));
    }
    Ok(names.into_iter().collect())
}

/// Architectures a research image name ends with (`5.4.0-26-generic-arm64`): Debian's and
/// Ubuntu's names for them.
const NAME_ARCHES: [&str; 9] = [
    "amd64", "arm64", "armhf", "armel", "ppc64el", "riscv64", "s390x", "i386", "loong64",
];

/// The identity an image name gives: `<release>-<arch>` as the research system names its
/// images (`5.4.0-26-generic-amd64`, `5.4.0-1009-aws-amd64`, `5.4.0-24-generic-riscv64`), or
/// a release alone whose flavour names its distribution (Debian's `6.1.0-47-amd64`,
/// `6.1.0-47-cloud-amd64`, Ubuntu's `5.4.0-26-generic`). `None` for other names.
pub fn identity_from_name(name: &str) -> Option<ImageMeta> {
    use depsurf_image::identity::parse_release;
    let (r, arch) = match parse_release(name) {
        Some(r) if r.distro.is_some() => {
            let arch = r.arch.map(str::to_string);
            (r, arch)
        }
        _ => {
            let (release, arch) = name.rsplit_once('-')?;
            if !NAME_ARCHES.contains(&arch) {
                return None;
            }
            (parse_release(release)?, Some(arch.to_string()))
        }
    };
    Some(ImageMeta {
        id: name.to_string(),
        release: Some(r.release),
        version: r.version,
        series: Some(r.series),
        abi: Some(r.abi),
        flavour: Some(r.flavour),
        arch,
        distro: r.distro.map(str::to_string),
        ..ImageMeta::default()
    })
}

/// Identity for an image of a research layout: from the exported manifest when there is
/// one, else read from its name (see [`identity_from_name`]; also `ubuntu_5.4.0-26-generic_arm64`),
/// with the compiler that `comment/<image>.txt` (the image's `.comment` section) names.
pub fn image_meta(root: &Path, image: &str) -> ImageMeta {
    if let Ok(text) = std::fs::read_to_string(root.join("depsurf-manifest.toml"))
        && let Ok(m) = Manifest::parse(&text)
        && let Some(meta) = m.image(image)
    {
        return meta.clone();
    }
    let mut meta = identity_from_name(image).unwrap_or_else(|| {
        let mut meta = ImageMeta {
            id: image.to_string(),
            ..ImageMeta::default()
        };
        for token in image.split(['_', ' ']) {
            if let Some(r) = depsurf_image::identity::parse_release(token) {
                meta.release = Some(r.release);
                meta.series = Some(r.series);
                meta.version = r.version;
                meta.abi = Some(r.abi);
                meta.flavour = Some(r.flavour);
                meta.distro = r.distro.map(str::to_string);
                if meta.arch.is_none() {
                    meta.arch = r.arch.map(str::to_string);
                }
            } else if NAME_ARCHES.contains(&token) {
                meta.arch = Some(token.to_string());
            }
        }
        meta
    });
    if let Ok(c) = std::fs::read_to_string(root.join("comment").join(format!("{image}.txt"))) {
        // One line per compiler that left its mark (GCC, and rustc in newer kernels).
        let c: Vec<&str> = c.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if !c.is_empty() {
            meta.compiler = Some(c.join("; "));
        }
    }
    meta
}

/// Ubuntu's long-term-support kernel lines: the kernels its LTS releases ship (14.04: 3.13,
/// 16.04: 4.4, 18.04: 4.15, 20.04: 5.4, 22.04: 5.15, 24.04: 6.8).
pub const UBUNTU_LTS_SERIES: [&str; 6] = ["3.13", "4.4", "4.15", "5.4", "5.15", "6.8"];

/// The default image and the groups as the research system defines them, for images whose
/// identities are known (every image has a series, ABI, flavour and architecture); `None`
/// otherwise. See docs/dataset.md ("Importing the research layout").
///
/// * default: `default` when given, else the first revision (lowest ABI) of the version
///   line with the most images, on the most common architecture and flavour
///   (5.4.0-26-generic-amd64 in the research system's dataset);
/// * Regular: the default's architecture and flavour, one image per series (the default for
///   its own, the first revision of the others), labelled by series (`5.4`);
/// * LTS: those of Regular on a long-term line (Ubuntu's for Ubuntu images, kernel.org's
///   otherwise), labelled by series;
/// * Revision: every revision of the default's series at its architecture and flavour,
///   labelled by ABI (`26`);
/// * Arch: every image of the default's series on another architecture, each against the
///   default, labelled by architecture (the default: its own);
/// * Flavor: every image of the default's series and architecture in another flavour, each
///   against the default, labelled by flavour (the default: its own).
///
/// The research website shows Regular, Arch and Flavor: LTS and Revision are kept with
/// `report = false`.
pub fn research_groups(
    images: &[ImageMeta],
    default: Option<&str>,
) -> Option<(String, Vec<crate::manifest::Group>)> {
    use crate::manifest::{Group, Labelled, Pairing, version_order};
    use std::collections::HashMap;
    let known = |i: &ImageMeta| {
        i.series.is_some() && i.abi.is_some() && i.flavour.is_some() && i.arch.is_some()
    };
    if images.is_empty() || !images.iter().all(known) {
        return None;
    }
    let field =
        |i: &ImageMeta, f: fn(&ImageMeta) -> &Option<String>| f(i).clone().unwrap_or_default();
    let series = |i: &ImageMeta| field(i, |i| &i.series);
    let arch = |i: &ImageMeta| field(i, |i| &i.arch);
    let flavour = |i: &ImageMeta| field(i, |i| &i.flavour);
    let abi_num = |i: &ImageMeta| i.abi.as_deref().and_then(|a| a.parse::<u64>().ok());
    // Earliest revision first.
    let by_revision = |a: &&ImageMeta, b: &&ImageMeta| {
        abi_num(a)
            .cmp(&abi_num(b))
            .then_with(|| version_order(a, b))
    };
    let most_common = |key: &dyn Fn(&ImageMeta) -> String, among: &[&ImageMeta]| {
        let mut count: HashMap<String, usize> = HashMap::new();
        for i in among {
            *count.entry(key(i)).or_default() += 1;
        }
        count
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(k, _)| k)
    };
    let all: Vec<&ImageMeta> = images.iter().collect();
    let d = match default {
        Some(d) => images.iter().find(|i| i.id == d)?,
        None => {
            let main_arch = most_common(&arch, &all)?;
            let on_arch: Vec<&ImageMeta> = all
                .iter()
                .copied()
                .filter(|i| arch(i) == main_arch)
                .collect();
            let main_flavour = most_common(&flavour, &on_arch)?;
            // The line with the most images, on every architecture and flavour; ties go to
            // the newer.
            let mut lines: HashMap<String, usize> = HashMap::new();
            for i in &all {
                *lines.entry(series(i)).or_default() += 1;
            }
            let mut candidates: Vec<&ImageMeta> = on_arch
                .iter()
                .copied()
                .filter(|i| flavour(i) == main_flavour)
                .collect();
            candidates.sort_by(|a, b| {
                lines[&series(b)]
                    .cmp(&lines[&series(a)])
                    .then_with(|| version_order(b, a))
            });
            let line = series(candidates.first()?);
            let mut revisions: Vec<&ImageMeta> = candidates
                .into_iter()
                .filter(|i| series(i) == line)
                .collect();
            revisions.sort_by(by_revision);
            revisions.first().copied()?
        }
    };
    let (d_series, d_arch, d_flavour) = (series(d), arch(d), flavour(d));
    let labelled = |v: &[&ImageMeta], label: &dyn Fn(&ImageMeta) -> String| -> Vec<Labelled> {
        v.iter()
            .map(|i| Labelled {
                image: i.id.clone(),
                label: label(i),
            })
            .collect()
    };
    let group = |name: &str, pairs, reference, images, report| Group {
        name: name.to_string(),
        pairs,
        reference,
        images,
        report,
    };
    let mainline: Vec<&ImageMeta> = all
        .iter()
        .copied()
        .filter(|i| arch(i) == d_arch && flavour(i) == d_flavour)
        .collect();
    let mut regular: Vec<&ImageMeta> = Vec::new();
    let mut sorted = mainline.clone();
    sorted.sort_by(by_revision);
    for i in sorted {
        let s = series(i);
        if s == d_series {
            if i.id == d.id {
                regular.push(i);
            }
        } else if !regular.iter().any(|r| series(r) == s) {
            regular.push(i);
        }
    }
    regular.sort_by(|a, b| version_order(a, b));
    let mut groups = vec![group(
        "Regular",
        Pairing::Consecutive,
        None,
        labelled(&regular, &series),
        true,
    )];
    let lts_lines: &[&str] = if d.distro.as_deref() == Some("Ubuntu") {
        &UBUNTU_LTS_SERIES
    } else {
        crate::manifest::LTS_SERIES
    };
    let lts: Vec<&ImageMeta> = regular
        .iter()
        .copied()
        .filter(|i| lts_lines.contains(&series(i).as_str()))
        .collect();
    if !lts.is_empty() {
        groups.push(group(
            "LTS",
            Pairing::Consecutive,
            None,
            labelled(&lts, &series),
            false,
        ));
    }
    let mut revisions: Vec<&ImageMeta> = mainline
        .iter()
        .copied()
        .filter(|i| series(i) == d_series)
        .collect();
    revisions.sort_by(by_revision);
    groups.push(group(
        "Revision",
        Pairing::Consecutive,
        None,
        labelled(&revisions, &|i| field(i, |i| &i.abi)),
        false,
    ));
    let line: Vec<&ImageMeta> = all
        .iter()
        .copied()
        .filter(|i| series(i) == d_series && i.id != d.id)
        .collect();
    let against = |label: String| {
        Some(Labelled {
            image: d.id.clone(),
            label,
        })
    };
    // Labels name one image each: a second image of the same architecture (or flavour) is
    // told apart by its flavour (or architecture), then by its id.
    let distinct = |v: &mut Vec<&ImageMeta>,
                    first: &dyn Fn(&ImageMeta) -> String,
                    then: &dyn Fn(&ImageMeta) -> String| {
        v.sort_by(|a, b| first(a).cmp(&first(b)).then_with(|| by_revision(a, b)));
        let count =
            |f: &dyn Fn(&ImageMeta) -> String, x: &str| v.iter().filter(|o| f(o) == x).count();
        let both = |i: &ImageMeta| format!("{}-{}", first(i), then(i));
        v.iter()
            .map(|i| Labelled {
                image: i.id.clone(),
                label: if count(first, &first(i)) == 1 {
                    first(i)
                } else if count(&both, &both(i)) == 1 {
                    both(i)
                } else {
                    i.id.clone()
                },
            })
            .collect::<Vec<_>>()
    };
    let mut arches: Vec<&ImageMeta> = line.iter().copied().filter(|i| arch(i) != d_arch).collect();
    if !arches.is_empty() {
        groups.push(group(
            "Arch",
            Pairing::Reference,
            against(d_arch.clone()),
            distinct(&mut arches, &arch, &flavour),
            true,
        ));
    }
    let mut flavours: Vec<&ImageMeta> = line
        .iter()
        .copied()
        .filter(|i| arch(i) == d_arch && flavour(i) != d_flavour)
        .collect();
    if !flavours.is_empty() {
        groups.push(group(
            "Flavor",
            Pairing::Reference,
            against(d_flavour.clone()),
            distinct(&mut flavours, &flavour, &arch),
            true,
        ));
    }
    Some((d.id.clone(), groups))
}

/// The entries of `map` in the order `order` names them (those of its names the map has),
/// then the others by name.
fn in_order<'a, V>(
    map: &'a BTreeMap<String, V>,
    order: Option<&'a Vec<String>>,
) -> Vec<(&'a String, &'a V)> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(map.len());
    for n in order.into_iter().flatten() {
        if let Some((k, v)) = map.get_key_value(n)
            && seen.insert(k.as_str())
        {
            out.push((k, v));
        }
    }
    out.extend(map.iter().filter(|(k, _)| !seen.contains(k.as_str())));
    out
}

/// The image's config file: the text it was read from when that sets exactly the options
/// the surface has, else `CONFIG_<name>=<value>` lines by name.
fn config_text(s: &Surface) -> String {
    if let Some(t) = &s.config_text
        && depsurf_image::config::Config::parse(t.as_bytes()).is_ok_and(|c| c.set == s.config)
    {
        return t.clone();
    }
    s.config
        .iter()
        .map(|(k, v)| format!("CONFIG_{k}={v}\n"))
        .collect()
}

/// One JSON value, indented by two spaces as the research layout's `.json` files are.
fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<(), ResearchError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| io(path)(e.into()))?;
    std::fs::write(path, text).map_err(io(path))
}

fn write_lines(path: &Path, lines: impl Iterator<Item = Value>) -> Result<(), ResearchError> {
    let f = std::fs::File::create(path).map_err(io(path))?;
    let mut w = BufWriter::new(f);
    for v in lines {
        serde_json::to_writer(&mut w, &v).map_err(|e| io(path)(e.into()))?;
        w.write_all(b"\n").map_err(io(path))?;
    }
    w.flush().map_err(io(path))
}

/// Writes every image of a dataset into the research layout at `out`, atomically: into a
/// temporary directory beside it, renamed to `out` at the end (`out` must not exist).
pub fn export(
    images: &[(ImageMeta, Surface)],
    manifest: Option<&Manifest>,
    out: &Path,
) -> Result<(), ResearchError> {
    if out.exists() {
        return Err(ResearchError::Invalid(format!(
            "{}: already exists; export writes a new directory",
            out.display()
        )));
    }
    let tmp = depsurf_image::atomic::NewDir::beside(out, "export-").map_err(|(p, e)| io(&p)(e))?;
    for d in DIRS.iter().copied().chain(JSON_DIRS).chain(["config"]) {
        let p = tmp.path().join(d);
        std::fs::create_dir(&p).map_err(io(&p))?;
    }
    for (meta, s) in images {
        if !crate::manifest::is_plain_name(&meta.id) {
            return Err(ResearchError::Invalid(format!(
                "image id {:?} cannot name a file (it is not a plain name)",
                meta.id
            )));
        }
        let f = |d: &str, ext: &str| tmp.path().join(d).join(format!("{}.{ext}", meta.id));
        // A kind the image's inputs could not give has no file, as in the research layout.
        let known = |k: Kind| !meta.missing.contains(&k);
        let order = |dir: &str| s.file_order.get(dir);
        if known(Kind::Struct) {
            write_lines(
                &f("types_struct", "jsonl"),
                in_order(&s.structs, order("types_struct"))
                    .into_iter()
                    .map(|(n, c)| composite_json("STRUCT", n, c)),
            )?;
        }
        if known(Kind::Union) {
            write_lines(
                &f("types_union", "jsonl"),
                in_order(&s.unions, order("types_union"))
                    .into_iter()
                    .map(|(n, c)| composite_json("UNION", n, c)),
            )?;
        }
        if known(Kind::Enum) {
            write_lines(
                &f("types_enum", "jsonl"),
                in_order(&s.enums, order("types_enum"))
                    .into_iter()
                    .map(|(n, e)| enum_json(n, e)),
            )?;
        }
        if !s.ints.is_empty() {
            write_lines(
                &f("types_int", "jsonl"),
                in_order(&s.ints, order("types_int"))
                    .into_iter()
                    .map(|(n, &size)| int_json(n, size)),
            )?;
        }
        if known(Kind::Func) {
            write_lines(
                &f("types_func", "jsonl"),
                in_order(&s.funcs, order("types_func"))
                    .into_iter()
                    .map(|(n, p)| func_json(n, p)),
            )?;
        }
        if !meta.unknown.contains(&Facet::FuncStatus) && !s.func_status.is_empty() {
            write_lines(
                &f("func_groups", "jsonl"),
                in_order(&s.func_status, order("func_groups"))
                    .into_iter()
                    .map(|(n, st)| func_group_json(n, st)),
            )?;
        }
        if known(Kind::Tracepoint) {
            write_lines(
                &f("tracepoints", "jsonl"),
                in_order(&s.tracepoints, order("tracepoints"))
                    .into_iter()
                    .map(|(n, tp)| tracepoint_json(n, tp, s)),
            )?;
        }
        if known(Kind::Syscall) {
            let native = syscall_table(&s.syscalls, s.ni_syscalls.get(""));
            write_json(&f("syscalls", "json"), &native)?;
            let empty = BTreeMap::new();
            let compat: BTreeMap<&str, BTreeMap<u32, &str>> = s
                .compat_syscalls
                .keys()
                .chain(s.ni_syscalls.keys().filter(|a| !a.is_empty()))
                .map(|abi| {
                    let t = s.compat_syscalls.get(abi).unwrap_or(&empty);
                    (abi.as_str(), syscall_table(t, s.ni_syscalls.get(abi)))
                })
                .collect();
            if !compat.is_empty() {
                write_json(&f("syscalls_compat", "json"), &compat)?;
            }
        }
        if known(Kind::Lsm) {
            write_lines(
                &f("lsm_hooks", "jsonl"),
                in_order(&s.lsm_hooks, order("lsm_hooks"))
                    .into_iter()
                    .map(|(n, p)| func_json(n, p)),
            )?;
        }
        if known(Kind::Kfunc) {
            write_lines(
                &f("kfuncs", "jsonl"),
                in_order(&s.kfuncs, order("kfuncs"))
                    .into_iter()
                    .map(|(n, p)| func_json(n, p)),
            )?;
        }
        if known(Kind::Config) {
            let p = f("config", "config");
            std::fs::write(&p, config_text(s)).map_err(io(&p))?;
        }
    }
    if let Some(m) = manifest {
        let p = tmp.path().join("depsurf-manifest.toml");
        std::fs::write(&p, m.to_toml()).map_err(io(&p))?;
    }
    tmp.finish().map_err(io(out))
}

/// Reads every image of a research layout. A kind whose file an image lacks is unknown for
/// it (`missing`), not empty: the research system's public copy leaves out `types_struct/`,
/// `types_func/` and `func_groups/`, and the structs and functions it still gives (those of
/// the tracepoints) are not all the image has.
pub fn import(root: &Path) -> Result<Vec<(ImageMeta, Surface)>, ResearchError> {
    let mut out = Vec::new();
    for name in list_images(root)? {
        let mut s = import_image(root, &name)?;
        let mut meta = image_meta(root, &name);
        mark_unknown(root, &mut meta, &mut s);
        out.push((meta, s));
    }
    Ok(out)
}

/// Records in `meta` what the layout cannot tell about its image: kinds whose file is not
/// there, and what the layout never holds (variables, traceability). LSM hooks without a
/// `lsm_hooks/` file are derived when the image's structs and functions are there, as
/// extraction derives them.
fn mark_unknown(root: &Path, meta: &mut ImageMeta, s: &mut Surface) {
    let image = meta.id.clone();
    let has = |dir: &str, ext: &str| root.join(dir).join(format!("{image}.{ext}")).is_file();
    let mut lacking: Vec<&str> = Vec::new();
    let missing = |meta: &mut ImageMeta, kind: Kind| {
        if !meta.missing.contains(&kind) {
            meta.missing.push(kind);
        }
    };
    for (dir, ext, kind, what) in [
        ("types_struct", "jsonl", Kind::Struct, "structs"),
        ("types_union", "jsonl", Kind::Union, "unions"),
        ("types_enum", "jsonl", Kind::Enum, "enums"),
        ("types_func", "jsonl", Kind::Func, "functions"),
        ("tracepoints", "jsonl", Kind::Tracepoint, "tracepoints"),
        ("syscalls", "json", Kind::Syscall, "system calls"),
        ("config", "config", Kind::Config, "config options"),
        ("kfuncs", "jsonl", Kind::Kfunc, "kfuncs"),
    ] {
        if !has(dir, ext) {
            missing(meta, kind);
            lacking.push(what);
        }
    }
    if !has("lsm_hooks", "jsonl") {
        if has("types_struct", "jsonl") && has("types_func", "jsonl") {
            crate::extract::lsm_hooks(s);
        } else {
            missing(meta, Kind::Lsm);
            lacking.push("LSM hooks");
        }
    }
    if !has("func_groups", "jsonl") {
        if !meta.unknown.contains(&Facet::FuncStatus) {
            meta.unknown.push(Facet::FuncStatus);
        }
        lacking.push("function status");
    }
    // Never part of the layout.
    missing(meta, Kind::Var);
    if !meta.unknown.contains(&Facet::Traceability) {
        meta.unknown.push(Facet::Traceability);
    }
    lacking.extend(["variables", "traceability"]);
    meta.missing.sort();
    let why = format!(
        "not in the research layout for this image: {}",
        list_words(&lacking)
    );
    meta.pending = Some(match meta.pending.take() {
        Some(p) if !p.contains(&why) => format!("{p}; {why}"),
        Some(p) => p,
        None => why,
    });
}

/// `a, b and c`.
fn list_words(w: &[&str]) -> String {
    match w {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Counts per research directory, for messages.
pub fn summary(images: &[(ImageMeta, Surface)]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for (_, s) in images {
        *m.entry("structs").or_default() += s.structs.len();
        *m.entry("unions").or_default() += s.unions.len();
        *m.entry("enums").or_default() += s.enums.len();
        *m.entry("funcs").or_default() += s.funcs.len();
        *m.entry("tracepoints").or_default() += s.tracepoints.len();
        *m.entry("syscalls").or_default() += s.syscalls.len();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The research system's 25 image names.
    const RESEARCH_IMAGES: [&str; 25] = [
        "4.4.0-21-generic-amd64",
        "4.8.0-22-generic-amd64",
        "4.10.0-19-generic-amd64",
        "4.13.0-16-generic-amd64",
        "4.15.0-20-generic-amd64",
        "4.18.0-10-generic-amd64",
        "5.0.0-13-generic-amd64",
        "5.3.0-18-generic-amd64",
        "5.4.0-26-generic-amd64",
        "5.8.0-25-generic-amd64",
        "5.11.0-16-generic-amd64",
        "5.13.0-19-generic-amd64",
        "5.15.0-25-generic-amd64",
        "5.19.0-21-generic-amd64",
        "6.2.0-20-generic-amd64",
        "6.5.0-9-generic-amd64",
        "6.8.0-31-generic-amd64",
        "5.4.0-26-generic-arm64",
        "5.4.0-26-generic-armhf",
        "5.4.0-26-generic-ppc64el",
        "5.4.0-24-generic-riscv64",
        "5.4.0-26-lowlatency-amd64",
        "5.4.0-1009-aws-amd64",
        "5.4.0-1010-azure-amd64",
        "5.4.0-1009-gcp-amd64",
    ];

    #[test]
    fn identity_from_research_and_distribution_names() {
        let id = |n: &str| {
            let m = identity_from_name(n).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(m.id, n);
            format!(
                "{} {} {} {} {} {}",
                m.release.unwrap(),
                m.series.unwrap(),
                m.abi.unwrap(),
                m.flavour.unwrap(),
                m.arch.unwrap_or_default(),
                m.distro.unwrap_or_default()
            )
        };
        assert_eq!(
            id("5.4.0-26-generic-arm64"),
            "5.4.0-26-generic 5.4 26 generic arm64 Ubuntu"
        );
        assert_eq!(
            id("5.4.0-1009-aws-amd64"),
            "5.4.0-1009-aws 5.4 1009 aws amd64 Ubuntu"
        );
        assert_eq!(
            id("5.4.0-24-generic-riscv64"),
            "5.4.0-24-generic 5.4 24 generic riscv64 Ubuntu"
        );
        assert_eq!(
            id("5.4.0-26-lowlatency-amd64"),
            "5.4.0-26-lowlatency 5.4 26 lowlatency amd64 Ubuntu"
        );
        assert_eq!(
            id("6.1.0-47-cloud-amd64"),
            "6.1.0-47-cloud-amd64 6.1 47 cloud-amd64 amd64 Debian"
        );
        assert_eq!(
            id("6.1.0-47-arm64"),
            "6.1.0-47-arm64 6.1 47 arm64 arm64 Debian"
        );
        assert_eq!(
            id("5.4.0-26-generic"),
            "5.4.0-26-generic 5.4 26 generic  Ubuntu"
        );
        for bad in [
            "ubuntu-5.4-generic-amd64",
            "5.4.0-26-generic-sparc",
            "vmlinux",
            "",
        ] {
            assert!(identity_from_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn groups_as_the_research_system_defines_them() {
        let images: Vec<ImageMeta> = RESEARCH_IMAGES
            .iter()
            .map(|n| identity_from_name(n).unwrap())
            .collect();
        let (default, groups) = research_groups(&images, None).unwrap();
        assert_eq!(default, "5.4.0-26-generic-amd64");
        let show = |name: &str| {
            let g = groups.iter().find(|g| g.name == name).unwrap();
            let labels: Vec<String> = g
                .images
                .iter()
                .map(|l| format!("{}={}", l.label, l.image))
                .collect();
            let r = g
                .reference
                .as_ref()
                .map(|r| format!("{}={} | ", r.label, r.image))
                .unwrap_or_default();
            format!("{r}{}", labels.join(" "))
        };
        let names: Vec<(&str, bool)> = groups.iter().map(|g| (g.name.as_str(), g.report)).collect();
        assert_eq!(
            names,
            [
                ("Regular", true),
                ("LTS", false),
                ("Revision", false),
                ("Arch", true),
                ("Flavor", true)
            ]
        );
        let labels = |name: &str| {
            groups
                .iter()
                .find(|g| g.name == name)
                .unwrap()
                .images
                .iter()
                .map(|l| l.label.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            labels("Regular"),
            "4.4 4.8 4.10 4.13 4.15 4.18 5.0 5.3 5.4 5.8 5.11 5.13 5.15 5.19 6.2 6.5 6.8"
        );
        assert!(show("Regular").contains("5.4=5.4.0-26-generic-amd64"));
        assert_eq!(labels("LTS"), "4.4 4.15 5.4 5.15 6.8");
        assert_eq!(show("Revision"), "26=5.4.0-26-generic-amd64");
        assert_eq!(
            show("Arch"),
            "amd64=5.4.0-26-generic-amd64 | arm64=5.4.0-26-generic-arm64 \
             armhf=5.4.0-26-generic-armhf ppc64el=5.4.0-26-generic-ppc64el \
             riscv64=5.4.0-24-generic-riscv64"
        );
        assert_eq!(
            show("Flavor"),
            "generic=5.4.0-26-generic-amd64 | aws=5.4.0-1009-aws-amd64 \
             azure=5.4.0-1010-azure-amd64 gcp=5.4.0-1009-gcp-amd64 \
             lowlatency=5.4.0-26-lowlatency-amd64"
        );

        // More revisions of the line: Revision lists them by ABI, Regular keeps the
        // default; an explicit default moves the reference of Arch and Flavor.
        let mut more = images.clone();
        more.push(identity_from_name("5.4.0-42-generic-amd64").unwrap());
        let (d, g) = research_groups(&more, None).unwrap();
        assert_eq!(d, "5.4.0-26-generic-amd64");
        let rev = g.iter().find(|g| g.name == "Revision").unwrap();
        assert_eq!(rev.pairs().len(), 1);
        assert_eq!(rev.images[1].label, "42");
        let (d, g) = research_groups(&more, Some("5.4.0-42-generic-amd64")).unwrap();
        assert_eq!(d, "5.4.0-42-generic-amd64");
        let arch = g.iter().find(|g| g.name == "Arch").unwrap();
        assert_eq!(arch.reference.as_ref().unwrap().image, d);
        assert_eq!(arch.images.len(), 4);
        // Two images of one architecture are told apart by flavour.
        more.push(identity_from_name("5.4.0-26-lowlatency-arm64").unwrap());
        let (_, g) = research_groups(&more, None).unwrap();
        let arch = g.iter().find(|g| g.name == "Arch").unwrap();
        let labels: Vec<&str> = arch.images.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "arm64-generic",
                "arm64-lowlatency",
                "armhf",
                "ppc64el",
                "riscv64"
            ]
        );
        // Without identities there are no research groups.
        let mut unnamed = images.clone();
        unnamed.push(ImageMeta {
            id: "x".into(),
            ..ImageMeta::default()
        });
        assert!(research_groups(&unnamed, None).is_none());
    }
}
