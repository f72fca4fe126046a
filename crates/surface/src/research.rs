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

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::extract::ImageMeta;
use crate::manifest::Manifest;
use crate::model::{
    Callers, Collision, Composite, Enum, FuncEntry, FuncStatus, FuncSymbol, InlineAttr, InlineType,
    Member, Param, Proto, Surface, Tracepoint, TypeRef,
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

const DIRS: [&str; 8] = [
    "types_struct",
    "types_union",
    "types_enum",
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

/// A system call table: `{"0": "read", ...}`.
pub fn syscalls_json(t: &BTreeMap<u32, String>) -> Value {
    Value::Object(
        t.iter()
            .map(|(nr, n)| (nr.to_string(), Value::String(n.clone())))
            .collect(),
    )
}

fn syscalls_from_json(v: &Value, path: &Path) -> Result<BTreeMap<u32, String>, ResearchError> {
    let bad = |what: String| ResearchError::Invalid(format!("{}: {what}", path.display()));
    let obj = v
        .as_object()
        .ok_or_else(|| bad("expected an object of number: name".into()))?;
    obj.iter()
        .map(|(k, n)| {
            let nr = k
                .parse::<u32>()
                .map_err(|_| bad(format!("{k:?} is not a system call number")))?;
            let name = n
                .as_str()
                .ok_or_else(|| bad(format!("the name of {nr} is not a string")))?;
            Ok((nr, name.to_string()))
        })
        .collect()
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
    for (dir, is_struct) in [("types_struct", true), ("types_union", false)] {
        let p = file(dir, "jsonl");
        if !p.exists() {
            continue;
        }
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
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
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
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
        read_jsonl(&p, |r, v| {
            let name = r.str(&v, "name")?.to_string();
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
        read_jsonl(&p, |r, v| {
            let event = r.str(&v, "event_name")?.to_string();
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
        if dir == "syscalls" {
            s.syscalls = syscalls_from_json(&v, &p)?;
        } else {
            let obj = v.as_object().ok_or_else(|| {
                ResearchError::Invalid(format!("{}: expected an object of tables", p.display()))
            })?;
            for (abi, t) in obj {
                s.compat_syscalls
                    .insert(abi.clone(), syscalls_from_json(t, &p)?);
            }
        }
    }
    let p = file("config", "config");
    if p.exists() {
        let data = std::fs::read(&p).map_err(io(&p))?;
        let cfg = depsurf_image::config::Config::parse(&data)
            .map_err(|e| ResearchError::Invalid(format!("{}: {e}", p.display())))?;
        s.config = cfg.set;
    }
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

/// Identity for an image of a research layout: from the exported manifest when there is
/// one, else read from its name (`5.4.0-26-generic`, `ubuntu_5.4.0-26-generic_arm64`).
pub fn image_meta(root: &Path, image: &str) -> ImageMeta {
    if let Ok(text) = std::fs::read_to_string(root.join("depsurf-manifest.toml"))
        && let Ok(m) = Manifest::parse(&text)
        && let Some(meta) = m.image(image)
    {
        return meta.clone();
    }
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
        } else if [
            "amd64", "arm64", "armhf", "ppc64el", "s390x", "i386", "riscv64",
        ]
        .contains(&token)
        {
            meta.arch = Some(token.to_string());
        }
    }
    meta
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
        write_lines(
            &f("types_struct", "jsonl"),
            s.structs
                .iter()
                .map(|(n, c)| composite_json("STRUCT", n, c)),
        )?;
        write_lines(
            &f("types_union", "jsonl"),
            s.unions.iter().map(|(n, c)| composite_json("UNION", n, c)),
        )?;
        write_lines(
            &f("types_enum", "jsonl"),
            s.enums.iter().map(|(n, e)| enum_json(n, e)),
        )?;
        write_lines(
            &f("types_func", "jsonl"),
            s.funcs.iter().map(|(n, p)| func_json(n, p)),
        )?;
        write_lines(
            &f("func_groups", "jsonl"),
            s.func_status.iter().map(|(n, st)| func_group_json(n, st)),
        )?;
        write_lines(
            &f("tracepoints", "jsonl"),
            s.tracepoints
                .iter()
                .map(|(n, tp)| tracepoint_json(n, tp, s)),
        )?;
        let p = f("syscalls", "json");
        std::fs::write(&p, syscalls_json(&s.syscalls).to_string()).map_err(io(&p))?;
        if !s.compat_syscalls.is_empty() {
            let v = Value::Object(
                s.compat_syscalls
                    .iter()
                    .map(|(abi, t)| (abi.clone(), syscalls_json(t)))
                    .collect(),
            );
            let p = f("syscalls_compat", "json");
            std::fs::write(&p, v.to_string()).map_err(io(&p))?;
        }
        write_lines(
            &f("lsm_hooks", "jsonl"),
            s.lsm_hooks.iter().map(|(n, p)| func_json(n, p)),
        )?;
        write_lines(
            &f("kfuncs", "jsonl"),
            s.kfuncs.iter().map(|(n, p)| func_json(n, p)),
        )?;
        let cfg: String = s
            .config
            .iter()
            .map(|(k, v)| format!("CONFIG_{k}={v}\n"))
            .collect();
        let p = f("config", "config");
        std::fs::write(&p, cfg).map_err(io(&p))?;
    }
    if let Some(m) = manifest {
        let p = tmp.path().join("depsurf-manifest.toml");
        std::fs::write(&p, m.to_toml()).map_err(io(&p))?;
    }
    tmp.finish().map_err(io(out))
}

/// Reads every image of a research layout.
pub fn import(root: &Path) -> Result<Vec<(ImageMeta, Surface)>, ResearchError> {
    let mut out = Vec::new();
    for name in list_images(root)? {
        let s = import_image(root, &name)?;
        out.push((image_meta(root, &name), s));
    }
    Ok(out)
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
