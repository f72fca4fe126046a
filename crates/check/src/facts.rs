//! What one image says about one dependency, before any program is considered: present,
//! absent, changed against the object's own types, unknown. Programs refine these cells
//! (crate::program): whether they reach the code that needs the item, what they read of it.

use depsurf_bpf::{Dependency, Target};
use depsurf_diff::Consequence;
use depsurf_report::history::{Def, Lookup};
use depsurf_surface::model::{FuncStatus, InlineType, TypeRef};
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};

use crate::meaning::{self, Word};
use crate::{Cell, Live, Status};

/// The dependency in one image, before programs are considered.
pub(crate) fn resolve(
    ds: &Dataset,
    dep: &Dependency,
    id: &str,
    live: Option<&Live>,
) -> Result<Cell, StoreError> {
    let Some(slot) = ds.slot(id) else {
        return Ok(Cell::unknown("not in the dataset"));
    };
    let store = ds.store();
    let has = |kind: Kind| ds.has_kind(id, kind);
    let live = live.filter(|l| l.id == id);
    Ok(match &dep.target {
        Target::Kprobe { func } | Target::Trampoline { func } => {
            let trampoline = matches!(dep.target, Target::Trampoline { .. });
            attach_func(ds, id, slot, func, trampoline, live)?
        }
        Target::KprobeMulti { glob } => {
            if !has(Kind::Func) {
                return Ok(Cell::unknown("no functions for this image"));
            }
            let n = store
                .names(slot, Kind::Func)?
                .into_iter()
                .filter(|n| glob_matches(glob, n))
                .count();
            if n == 0 {
                Cell::absent(false, format!("no function matches {glob}"))
            } else {
                Cell::ok_with(format!("{n} functions"))
            }
        }
        Target::Iter { name } => present(ds, id, Kind::Func, &format!("bpf_iter_{name}"), false)?,
        Target::Tracepoint { event, .. } => present(ds, id, Kind::Tracepoint, event, false)?,
        Target::Syscall { name } => present(ds, id, Kind::Syscall, name, false)?,
        Target::Lsm { hook } => present(ds, id, Kind::Lsm, hook, false)?,
        Target::Config { name } => present(ds, id, Kind::Config, name, dep.guard)?,
        Target::KernelConfig { name, item, miss } => kernel_config(ds, id, name, item, *miss)?,
        Target::StructOps { name } => present(ds, id, Kind::Struct, name, false)?,
        Target::Ksym { name, typed } => {
            if !has(Kind::Var) || !store.holds(Kind::Var) {
                return Ok(Cell::unknown(
                    "no kernel variables for this image (a dataset from before format 4)",
                ));
            }
            match Lookup::new(ds, Kind::Var, name).get(id)? {
                None => Cell::absent(dep.guard, format!("variable {name} absent")),
                Some(Def::Var(TypeRef::Void)) if *typed => Cell::absent(
                    dep.guard,
                    format!(
                        "{name} is a symbol without a BTF type; a typed __ksym needs the \
                         kernel's BTF to describe it (declare it `const void` to use the symbol)"
                    ),
                ),
                Some(_) => Cell::ok(),
            }
        }
        Target::Kfunc { name, proto } => {
            if !has(Kind::Kfunc) {
                return Ok(Cell::unknown(
                    "kfuncs unknown for this image (its inputs could not tell)",
                ));
            }
            match Lookup::new(ds, Kind::Kfunc, name).get(id)? {
                None => Cell::absent(dep.guard, format!("kfunc {name} absent")),
                Some(Def::Func(p)) => match proto {
                    Some(local) if local.params.len() != p.params.len() => Cell::bad(
                        Status::Changed,
                        Consequence::Error,
                        format!(
                            "kfunc {name} takes {} parameters, the object declares {}",
                            p.params.len(),
                            local.params.len()
                        ),
                    ),
                    Some(local)
                        if local
                            .params
                            .iter()
                            .zip(&p.params)
                            .any(|(a, b)| !meaning::compatible(&a.ty, &b.ty)) =>
                    {
                        Cell::bad(
                            Status::Changed,
                            Consequence::Error,
                            format!("kfunc {name}'s prototype is incompatible with the object's"),
                        )
                    }
                    _ => Cell::ok(),
                },
                Some(_) => Cell::ok(),
            }
        }
        Target::Field { hops, .. } => field(ds, id, slot, dep, hops)?,
        Target::Type { name, btf_kind, .. } => {
            let kind = match btf_kind.as_str() {
                "struct" => Kind::Struct,
                "union" => Kind::Union,
                "enum" | "enum64" => Kind::Enum,
                _ => {
                    return Ok(Cell::unknown(format!(
                        "{btf_kind} types are not in datasets"
                    )));
                }
            };
            present(ds, id, kind, name, dep.guard)?
        }
        Target::EnumValue {
            enum_name, value, ..
        } => {
            if !has(Kind::Enum) {
                return Ok(Cell::unknown("no types for this image"));
            }
            match Lookup::new(ds, Kind::Enum, enum_name).get(id)? {
                Some(Def::Enum(e)) => match e.values.iter().find(|(n, _)| n == value) {
                    Some(_) => Cell::ok(),
                    None => Cell::absent(dep.guard, format!("{enum_name}::{value} absent")),
                },
                _ => Cell::absent(dep.guard, format!("enum {enum_name} absent")),
            }
        }
        Target::Helper { id: n } => enum_number(ds, id, "bpf_func_id", "BPF_FUNC_", *n)?,
        Target::MapType { id: n } => enum_number(ds, id, "bpf_map_type", "BPF_MAP_TYPE_", *n)?,
        Target::ProgType { name } => {
            enum_name(ds, id, "bpf_prog_type", &format!("BPF_PROG_TYPE_{name}"))?
        }
        Target::AttachType { name } => {
            enum_name(ds, id, "bpf_attach_type", &format!("BPF_{name}"))?
        }
        Target::Isa { feature } => isa(ds, id, feature),
    })
}

/// A kernel release's (major, minor) from an image's version (`6.1.170`, `7.2.13+deb14`).
pub fn version_of(ds: &Dataset, id: &str) -> Option<(u32, u32)> {
    let m = ds.images().iter().find(|m| m.id == id)?;
    let v = m.version.as_deref().or(m.release.as_deref())?;
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

fn isa(ds: &Dataset, id: &str, feature: &str) -> Cell {
    let Some(f) = depsurf_bpf::FEATURES.iter().find(|f| f.name == feature) else {
        return Cell::unknown(format!("unknown instruction feature {feature}"));
    };
    let Some(v) = version_of(ds, id) else {
        return Cell::unknown("the image's version is unknown");
    };
    if v >= f.since {
        Cell::ok()
    } else {
        Cell::bad(
            Status::Absent,
            Consequence::Error,
            format!(
                "{} ({}) needs Linux {}.{}; the verifier of {}.{} rejects it",
                f.name, f.what, f.since.0, f.since.1, v.0, v.1
            ),
        )
    }
}

/// Whether `name` matches a `kprobe.multi` pattern (`*` and `?` wildcards; a pattern without
/// them names one function).
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == name;
    }
    depsurf_report::index::matches(pattern, name)
}

/// A compiler clone's kind, from its symbol's suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloneKind {
    /// `.cold`: the unlikely tail of the same function, entered from it.
    Cold,
    /// `.part.N`: partial inlining; callers that inlined the head jump straight here.
    Part,
    /// `.constprop.N`, `.isra.N`, ...: a specialised copy some callers call instead.
    Copy,
}

fn clone_kind(suffix: &str) -> CloneKind {
    if suffix.starts_with("cold") {
        CloneKind::Cold
    } else if suffix.starts_with("part") {
        CloneKind::Part
    } else {
        CloneKind::Copy
    }
}

/// The symbols of one function name in an image: how many carry the exact name, and the
/// suffixed ones.
struct Symbols {
    exact: usize,
    clones: Vec<String>,
}

impl Symbols {
    fn of_status(func: &str, st: &FuncStatus) -> Symbols {
        Symbols::of_names(func, st.symbols.iter().map(|s| s.name.as_str()))
    }

    fn of_names<'a>(func: &str, names: impl Iterator<Item = &'a str>) -> Symbols {
        let prefix = format!("{func}.");
        let mut s = Symbols {
            exact: 0,
            clones: Vec::new(),
        };
        for n in names {
            if n == func {
                s.exact += 1;
            } else if n.starts_with(&prefix) && !s.clones.iter().any(|c| c == n) {
                s.clones.push(n.to_string());
            }
        }
        s.clones.sort();
        s
    }
}

/// A kernel function as an attach point: a kprobe needs one symbol of that exact name that
/// kprobes accept; a trampoline (fentry, fexit, fmod_ret) its BTF and an ftrace call site.
/// Then what a probe on the plain name misses: callers that inlined it, or that call a clone.
fn attach_func(
    ds: &Dataset,
    id: &str,
    slot: usize,
    func: &str,
    trampoline: bool,
    live: Option<&Live>,
) -> Result<Cell, StoreError> {
    let store = ds.store();
    let kind_known = ds.has_kind(id, Kind::Func);
    let in_btf = kind_known && store.def_id(slot, Kind::Func, func)?.is_some();
    let status = if kind_known {
        store.func_status(slot, func)?
    } else {
        None
    };
    let syms = match (live, &status) {
        (Some(l), _) => Some(Symbols::of_names(
            func,
            l.symbols
                .iter()
                .filter(|(n, _)| *n == func || n.starts_with(&format!("{func}.")))
                .flat_map(|(n, c)| std::iter::repeat_n(n.as_str(), *c as usize)),
        )),
        (None, Some(st)) => Some(Symbols::of_status(func, st)),
        (None, None) => None,
    };
    let trace = match live {
        Some(l) => l.trace(func),
        None => ds.traceability(id, func)?,
    };
    let what = if trampoline { "fentry" } else { "a kprobe" };

    // Presence.
    if trampoline {
        if !kind_known {
            return Ok(Cell::unknown("no functions for this image"));
        }
        if !in_btf {
            let why = match &syms {
                Some(s) if s.exact == 0 && !s.clones.is_empty() => format!(
                    "function {func} is not in the kernel's BTF (only its clones {} are \
                     symbols)",
                    s.clones.join(", ")
                ),
                _ if status
                    .as_ref()
                    .is_some_and(|s| s.inline == InlineType::Full) =>
                {
                    format!("function {func} is not in the kernel's BTF (Full Inline)")
                }
                _ => format!("function {func} absent from the kernel's BTF"),
            };
            return Ok(Cell::bad(Status::Absent, Consequence::Error, why));
        }
    } else {
        match &syms {
            None if !in_btf && trace.as_ref().is_none_or(|t| !t.symbol) => {
                return Ok(if kind_known || trace.is_some() {
                    Cell::absent(false, format!("function {func} absent"))
                } else {
                    Cell::unknown("no functions or symbols for this image")
                });
            }
            None => {}
            Some(s) if s.exact == 0 => {
                return Ok(if !s.clones.is_empty() {
                    Cell::bad(
                        Status::Issue,
                        Consequence::Error,
                        format!(
                            "Transformation: only the clones {} are symbols; no symbol is named \
                             {func}, so a kprobe on it fails",
                            s.clones.join(", ")
                        ),
                    )
                } else if status
                    .as_ref()
                    .is_some_and(|s| s.inline == InlineType::Full)
                {
                    Cell::bad(
                        Status::Issue,
                        Consequence::Error,
                        format!("Full Inline: {func} exists only inlined into its callers"),
                    )
                } else {
                    Cell::absent(false, format!("no symbol {func} in the kernel"))
                });
            }
            Some(s) if s.exact > 1 => match refuses_ambiguous(ds, id, slot)? {
                Some(true) => {
                    return Ok(Cell::bad(
                        Status::Issue,
                        Consequence::Error,
                        format!(
                            "{} symbols are named {func}: this kernel refuses a kprobe on an \
                             ambiguous name (EADDRNOTAVAIL)",
                            s.exact
                        ),
                    ));
                }
                known => {
                    return Ok(Cell::bad(
                        Status::Issue,
                        Consequence::MissingInvocation,
                        format!(
                            "{} symbols are named {func}: the kprobe attaches to the first one \
                             only{}",
                            s.exact,
                            if known.is_none() {
                                " (unless this kernel refuses ambiguous names, which its data \
                                 does not tell)"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
            },
            Some(_) => {}
        }
    }

    // A trampoline attaches at the address the kernel finds for the name.
    if trampoline
        && let Some(s) = &syms
        && s.exact == 0
    {
        return Ok(Cell::bad(
            Status::Issue,
            Consequence::Error,
            if s.clones.is_empty() {
                format!(
                    "{func} has no symbol (Full Inline): fentry/fexit cannot attach (libbpf \
                     finds no BTF id for it, or the kernel no address)"
                )
            } else {
                format!(
                    "only the clones {} of {func} are symbols: fentry/fexit cannot attach \
                     (libbpf finds no BTF id for it, or the kernel no address)",
                    s.clones.join(", ")
                )
            },
        ));
    }

    // What the kernel allows on the symbol.
    if let Some(t) = &trace
        && t.symbol
    {
        if trampoline && !t.ftrace {
            return Ok(Cell::bad(
                Status::Issue,
                Consequence::Error,
                format!(
                    "ftrace cannot patch {func} ({}): attaching fentry/fexit fails (EBUSY)",
                    reasons(t)
                ),
            ));
        }
        if !trampoline && let Some(r) = t.kprobe {
            return Ok(Cell::bad(
                Status::Issue,
                Consequence::Error,
                format!(
                    "kprobes refuse {func} ({}): attaching fails (EINVAL)",
                    r.as_str()
                ),
            ));
        }
    }

    // What a probe on the plain name misses.
    let mut misses = Vec::new();
    if let Some(st) = &status
        && st.inline == InlineType::Selective
    {
        let n: u32 = st.entries.iter().map(|e| e.caller_inline.count).sum();
        misses.push(format!(
            "Selective Inline: inlined into {} caller{}, whose calls {what} on {func} misses",
            n,
            if n == 1 { "" } else { "s" }
        ));
    }
    if trampoline
        && let Some(s) = &syms
        && s.exact > 1
    {
        misses.push(format!(
            "Duplicate: {} functions are named {func}; fentry attaches to one",
            s.exact
        ));
    }
    let mut cold = Vec::new();
    if let Some(s) = &syms {
        let mut part = Vec::new();
        let mut copies = Vec::new();
        for c in &s.clones {
            match clone_kind(&c[func.len() + 1..]) {
                CloneKind::Cold => cold.push(c.as_str()),
                CloneKind::Part => part.push(c.as_str()),
                CloneKind::Copy => copies.push(c.as_str()),
            }
        }
        if !part.is_empty() {
            misses.push(format!(
                "Transformation: callers that inlined the head of {func} jump straight into {}, \
                 which {what} on {func} does not see",
                part.join(", ")
            ));
        }
        if !copies.is_empty() {
            misses.push(format!(
                "Transformation: callers of the clone{} {} do not enter {func}",
                if copies.len() == 1 { "" } else { "s" },
                copies.join(", ")
            ));
        }
    }
    if !misses.is_empty() {
        return Ok(Cell::bad(
            Status::Issue,
            Consequence::MissingInvocation,
            misses.join("; "),
        ));
    }
    Ok(if cold.is_empty() {
        Cell::ok()
    } else {
        Cell::ok_with(format!(
            "{} is the cold tail of {func}, entered from it: harmless",
            cold.join(", ")
        ))
    })
}

/// Whether the kernel refuses a kprobe on a name several symbols share: the check came with
/// `number_of_same_symbols()` in its kprobe code (mainline 6.6, backported to the stable
/// lines at different points: Debian's 5.10.223 lacks it, 5.10.251 has it). The image's own
/// functions say; without its function list, the version decides from 6.6 on.
fn refuses_ambiguous(ds: &Dataset, id: &str, slot: usize) -> Result<Option<bool>, StoreError> {
    let store = ds.store();
    if ds.has_facet(id, depsurf_surface::model::Facet::FuncStatus)? {
        return Ok(Some(
            store.func_status(slot, "number_of_same_symbols")?.is_some(),
        ));
    }
    Ok(match version_of(ds, id) {
        Some(v) if v >= (6, 6) => Some(true),
        _ => None,
    })
}

fn reasons(t: &depsurf_model::trace::FuncTrace) -> String {
    if t.reasons.is_empty() {
        "no ftrace call site".into()
    } else {
        t.reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn kernel_config(
    ds: &Dataset,
    id: &str,
    name: &str,
    item: &Option<String>,
    miss: bool,
) -> Result<Cell, StoreError> {
    if !ds.has_kind(id, Kind::Config) {
        return Ok(Cell::unknown("no configuration for this image"));
    }
    let value = match Lookup::new(ds, Kind::Config, name).get(id)? {
        Some(Def::Config(v)) => Some(v),
        _ => None,
    };
    let met = match (&value, item) {
        (Some(v), None) => v == "y",
        (Some(v), Some(i)) => v.trim_matches('"').split(',').any(|x| x.trim() == i),
        (None, _) => false,
    };
    let shown = value.as_deref().unwrap_or("not set");
    Ok(if met {
        Cell::ok_with(format!("CONFIG_{name}={shown}"))
    } else if miss {
        Cell::bad(
            Status::Absent,
            Consequence::MissingInvocation,
            format!(
                "CONFIG_{name}={shown}: the program is never called (unless the boot command \
                 line changes it)"
            ),
        )
    } else {
        Cell::bad(
            Status::Absent,
            Consequence::Error,
            if name == "DEBUG_INFO_BTF" {
                format!(
                    "CONFIG_{name} is {shown}: the kernel has no BTF for CO-RE, kfuncs or BTF \
                     attach points (unless the loader brings one, as BTFHub's)"
                )
            } else {
                format!("CONFIG_{name} is {shown}: the program cannot attach")
            },
        )
    })
}

/// A CO-RE field access path in one image: every struct and field present, each field of a
/// type libbpf accepts where the object's differs (else an error), and of the same meaning
/// (else the program reads it with the object's layout: a stray read).
fn field(
    ds: &Dataset,
    id: &str,
    slot: usize,
    dep: &Dependency,
    hops: &[depsurf_bpf::Hop],
) -> Result<Cell, StoreError> {
    if !ds.has_kind(id, Kind::Struct) {
        return Ok(Cell::unknown("no types for this image"));
    }
    let store = ds.store();
    let word = Word::of_arch(
        ds.images()
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.arch.as_deref()),
    );
    // A relocation that only asks whether the field exists reads nothing.
    let reads = dep.relos.iter().any(|k| k != "field_exists");
    let mut cell = Cell::ok();
    for h in hops {
        if h.owner.contains('.') || h.owner.starts_with('(') {
            continue;
        }
        let kinds = if h.owner_is_union {
            [Kind::Union, Kind::Struct]
        } else {
            [Kind::Struct, Kind::Union]
        };
        let mut owner = None;
        for k in kinds {
            if let Some(d) = store.def_id(slot, k, &h.owner)? {
                owner = Some(store.composite(d)?);
                break;
            }
        }
        let Some(owner) = owner else {
            return Ok(Cell::absent(
                dep.guard,
                format!("struct {} absent", h.owner),
            ));
        };
        let Some(m) = owner.member(&h.field) else {
            return Ok(Cell::absent(
                dep.guard,
                format!("field {}::{} absent", h.owner, h.field),
            ));
        };
        if reads && cell.status == Status::Ok && !meaning::same(&h.local, Word::BPF, &m.ty, word) {
            let text = format!(
                "{}::{} is {}, the object reads {}",
                h.owner,
                h.field,
                depsurf_surface::ctext::type_text(&m.ty),
                depsurf_surface::ctext::type_text(&h.local)
            );
            cell = if meaning::compatible(&h.local, &m.ty) {
                Cell::bad(Status::Changed, Consequence::StrayRead, text)
            } else if dep.guard {
                Cell {
                    status: Status::GuardFalse,
                    consequence: None,
                    detail: text,
                }
            } else {
                Cell::bad(
                    Status::Changed,
                    Consequence::Error,
                    format!("{text} (incompatible)"),
                )
            };
        }
    }
    Ok(cell)
}

pub(crate) fn present(
    ds: &Dataset,
    id: &str,
    kind: Kind,
    name: &str,
    guard: bool,
) -> Result<Cell, StoreError> {
    if !ds.has_kind(id, kind) {
        return Ok(Cell::unknown(format!(
            "{}s unknown for this image (its inputs could not tell)",
            kind.as_str()
        )));
    }
    Ok(match Lookup::new(ds, kind, name).get(id)? {
        Some(Def::Config(v)) if v == "n" => {
            Cell::absent(guard, format!("CONFIG_{name} is not set"))
        }
        Some(Def::Config(v)) => Cell::ok_with(format!("CONFIG_{name}={v}")),
        Some(_) => Cell::ok(),
        None => Cell::absent(guard, format!("{} {name} absent", kind.as_str())),
    })
}

pub(crate) fn enum_values(
    ds: &Dataset,
    id: &str,
    enum_name: &str,
) -> Result<Option<Vec<(String, i64)>>, StoreError> {
    Ok(match Lookup::new(ds, Kind::Enum, enum_name).get(id)? {
        Some(Def::Enum(e)) => Some(e.values),
        _ => None,
    })
}

fn enum_number(
    ds: &Dataset,
    id: &str,
    enum_name: &str,
    prefix: &str,
    n: u32,
) -> Result<Cell, StoreError> {
    let Some(values) = enum_values(ds, id, enum_name)? else {
        return Ok(Cell::unknown(format!("no enum {enum_name} in this image")));
    };
    Ok(
        match values.iter().find(|(name, v)| {
            *v == i64::from(n) && name.starts_with(prefix) && !name.starts_with("__")
        }) {
            Some(_) => Cell::ok(),
            None => Cell::absent(false, format!("{enum_name} has no value {n}")),
        },
    )
}

fn enum_name(ds: &Dataset, id: &str, enum_name: &str, value: &str) -> Result<Cell, StoreError> {
    let Some(values) = enum_values(ds, id, enum_name)? else {
        return Ok(Cell::unknown(format!("no enum {enum_name} in this image")));
    };
    Ok(if values.iter().any(|(n, _)| n == value) {
        Cell::ok()
    } else {
        Cell::absent(false, format!("{value} absent"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_are_told_apart_by_suffix() {
        let s = Symbols::of_names(
            "f",
            [
                "f",
                "f.cold",
                "f.part.0",
                "f.isra.0",
                "f.constprop.0",
                "ff",
                "f.cold",
            ]
            .into_iter(),
        );
        assert_eq!(s.exact, 1);
        assert_eq!(
            s.clones,
            ["f.cold", "f.constprop.0", "f.isra.0", "f.part.0"]
        );
        assert_eq!(clone_kind("cold"), CloneKind::Cold);
        assert_eq!(clone_kind("cold.1"), CloneKind::Cold);
        assert_eq!(clone_kind("part.0"), CloneKind::Part);
        assert_eq!(clone_kind("isra.0"), CloneKind::Copy);
        assert_eq!(clone_kind("constprop.0"), CloneKind::Copy);
        assert!(glob_matches("vfs_*", "vfs_read"));
        assert!(!glob_matches("vfs_read", "vfs_readv"));
    }
}
