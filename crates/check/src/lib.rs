//! Checks eBPF objects against the kernel images of a dataset (SPEC §5, §7): for every
//! dependency of an object and every image, whether it is there and what its absence or
//! change means — the program fails to load or attach (**Error**), loads and reads the wrong
//! data (**Stray read**), or attaches and misses calls (**Missing invocation**).
//!
//! CO-RE field accesses are checked against the object's own view of each type (its BTF),
//! the way libbpf relocates them: the struct and each field of the access path must exist
//! in the image; a field whose type differs in kind (libbpf rejects it) is an error, one
//! whose type differs otherwise is read with the object's layout (a stray read). Kernel
//! functions, tracepoints and LSM hooks follow the dataset's groups: once a group has seen
//! a change, every later image of that group is marked changed.

pub mod render;

use std::collections::BTreeMap;

use depsurf_bpf::{BpfObject, Dependency, Target};
use depsurf_diff::Consequence;
use depsurf_report::history::{Def, Lookup};
use depsurf_surface::model::TypeRef;
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};
use serde::Serialize;

/// One dependency in one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub status: Status,
    /// What it means for the program; `None` when nothing goes wrong.
    #[serde(serialize_with = "ser_consequence")]
    pub consequence: Option<Consequence>,
    /// Why, in words (`field mm_struct::exe_file absent`, `Param added: int flags`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

fn ser_consequence<S: serde::Serializer>(c: &Option<Consequence>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(consequence_name(*c)),
        None => s.serialize_none(),
    }
}

pub fn consequence_name(c: Consequence) -> &'static str {
    match c {
        Consequence::Error => "error",
        Consequence::StrayRead => "stray read",
        Consequence::MissingInvocation => "missing invocation",
        Consequence::None => "none",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Present and as the program expects.
    Ok,
    Absent,
    /// Present, changed (type, prototype, layout the program reads).
    Changed,
    /// A function status issue (inlined, transformed, duplicated).
    Issue,
    /// An existence check that answers "no" here: the program handles it.
    GuardFalse,
    /// The dataset cannot tell (no such information for this image).
    Unknown,
}

impl Cell {
    fn ok() -> Cell {
        Cell {
            status: Status::Ok,
            consequence: None,
            detail: String::new(),
        }
    }
    fn ok_with(detail: String) -> Cell {
        Cell {
            detail,
            ..Cell::ok()
        }
    }
    fn unknown(detail: impl Into<String>) -> Cell {
        Cell {
            status: Status::Unknown,
            consequence: None,
            detail: detail.into(),
        }
    }
    fn bad(status: Status, c: Consequence, detail: String) -> Cell {
        Cell {
            status,
            consequence: Some(c),
            detail,
        }
    }
    fn absent(guard: bool, detail: String) -> Cell {
        if guard {
            Cell {
                status: Status::GuardFalse,
                consequence: None,
                detail,
            }
        } else {
            Cell::bad(Status::Absent, Consequence::Error, detail)
        }
    }
}

/// One dependency across the images.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub kind: &'static str,
    pub label: String,
    #[serde(flatten)]
    pub dep: Dependency,
    /// By image id. A kernel function, tracepoint or LSM hook changed in any group is
    /// marked changed here; `changed` says in which groups.
    pub cells: BTreeMap<String, Cell>,
    /// Group → image → what changed (SPEC §5: once a group has seen a change, every later
    /// image of the group that has the item).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub changed: BTreeMap<String, BTreeMap<String, String>>,
}

impl Row {
    /// The cell as one group's page shows it: a change another group saw is not shown.
    pub fn cell_in(&self, group: &str, image: &str) -> Option<Cell> {
        let c = self.cells.get(image)?;
        let by_group = self.changed.values().any(|m| m.contains_key(image));
        if c.status == Status::Changed
            && by_group
            && !self
                .changed
                .get(group)
                .is_some_and(|m| m.contains_key(image))
        {
            return Some(Cell::ok());
        }
        Some(c.clone())
    }
}

/// The verdict for one image.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub image: String,
    /// `loads`, `loads with stray reads`, `misses calls`, `fails`.
    pub verdict: String,
    pub errors: usize,
    pub stray_reads: usize,
    pub missing_invocations: usize,
    /// The first reasons, for a one-line summary.
    pub because: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ObjectCheck {
    pub object: String,
    pub programs: Vec<depsurf_bpf::Program>,
    pub rows: Vec<Row>,
    pub verdicts: Vec<Verdict>,
    /// Each CO-RE relocation on its own, as libbpf numbers them, and whether it resolves
    /// in each image: `ok`, `fails` (the instruction is poisoned) or `guard` (an existence
    /// check that answers false).
    pub relocations: Vec<ReloOutcome>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReloOutcome {
    pub section: String,
    pub index: usize,
    pub insn: u32,
    pub kind: &'static str,
    pub access: String,
    pub outcomes: BTreeMap<String, &'static str>,
}

/// Options for a check.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Image ids to check (all when empty).
    pub images: Vec<String>,
    /// Attach targets renamed: section target as written → target to check.
    pub map: BTreeMap<String, String>,
    /// The text symbols of one image (its id), when known (a running kernel's
    /// /proc/kallsyms): kprobes need a symbol, not only a BTF function.
    pub symbols: Option<(String, std::collections::HashSet<String>)>,
}

/// Checks one object against the dataset's images.
pub fn check(ds: &Dataset, obj: &BpfObject, opts: &Options) -> Result<ObjectCheck, StoreError> {
    let images: Vec<String> = ds
        .images()
        .iter()
        .map(|m| m.id.clone())
        .filter(|id| opts.images.is_empty() || opts.images.contains(id))
        .collect();
    let names = Names::new(ds)?;
    let mut rows = Vec::new();
    for dep in &obj.deps {
        let Some(dep) = rename(dep, &opts.map) else {
            continue;
        };
        let mut cells = BTreeMap::new();
        let changed = changed_images(ds, &dep)?;
        for id in &images {
            let mut cell = resolve(ds, &dep, id)?;
            if let (Target::Kprobe { func }, Some((sid, syms))) = (&dep.target, &opts.symbols)
                && sid == id
                && cell.consequence.is_none()
            {
                cell = kprobe_symbol(func, syms);
            }
            if cell.status == Status::Ok
                && let Some(why) = changed.values().find_map(|m| m.get(id))
            {
                cell = Cell::bad(Status::Changed, Consequence::StrayRead, why.clone());
            }
            cells.insert(id.clone(), cell);
        }
        rows.push(Row {
            kind: dep.kind(),
            label: names.label(&dep),
            dep,
            cells,
            changed,
        });
    }
    for id in &images {
        dead_code(ds, obj, id, &mut rows)?;
    }
    let verdicts = images.iter().map(|id| verdict(id, &rows)).collect();
    let mut relocations = Vec::new();
    for r in &obj.core_relos {
        // A relocation alone: libbpf resolves each one by itself, and an existence check
        // guards nothing but itself.
        let dep = Dependency {
            target: r.target.clone(),
            guard: r.guard,
            relos: vec![r.kind.to_string()],
            origins: Vec::new(),
        };
        let mut outcomes = BTreeMap::new();
        for id in &images {
            let c = resolve(ds, &dep, id)?;
            let o = match (c.status, c.consequence) {
                (Status::GuardFalse, _) => "guard",
                (_, Some(Consequence::Error)) => "fails",
                (Status::Unknown, _) => "unknown",
                _ => "ok",
            };
            outcomes.insert(id.clone(), o);
        }
        relocations.push(ReloOutcome {
            section: r.section.clone(),
            index: r.index,
            insn: r.insn,
            kind: r.kind,
            access: dep.label(),
            outcomes,
        });
    }
    Ok(ObjectCheck {
        object: obj.name.clone(),
        programs: obj.programs.clone(),
        rows,
        verdicts,
        relocations,
    })
}

/// Marks as guarded the failing CO-RE accesses of image `id` that sit only in code its
/// resolved existence checks rule out (the verifier never walks it, so their poisoned
/// instructions never run).
fn dead_code(ds: &Dataset, obj: &BpfObject, id: &str, rows: &mut [Row]) -> Result<(), StoreError> {
    use std::collections::{HashMap, HashSet};
    let has_failure = rows.iter().any(|r| {
        matches!(
            r.dep.target,
            Target::Field { .. } | Target::Type { .. } | Target::EnumValue { .. }
        ) && r
            .cells
            .get(id)
            .is_some_and(|c| c.consequence == Some(Consequence::Error))
    });
    if !has_failure {
        return Ok(());
    }
    // Each existence check's value in this image, by section and instruction.
    let mut patched: HashMap<&str, HashMap<usize, i64>> = HashMap::new();
    for r in obj.core_relos.iter().filter(|r| r.guard) {
        let dep = Dependency {
            target: r.target.clone(),
            guard: true,
            relos: Vec::new(),
            origins: Vec::new(),
        };
        let c = resolve(ds, &dep, id)?;
        let value = match c.status {
            Status::GuardFalse | Status::Absent => 0,
            Status::Unknown => continue,
            _ => 1,
        };
        patched
            .entry(r.section.as_str())
            .or_default()
            .insert(r.insn as usize, value);
    }
    if patched.is_empty() {
        return Ok(());
    }
    let mut live: HashMap<&str, HashSet<usize>> = HashMap::new();
    for p in &obj.programs {
        let Some((_, bytes)) = obj.code.iter().find(|(n, _)| *n == p.section) else {
            continue;
        };
        let code = depsurf_bpf::flow::Code {
            bytes,
            big_endian: obj.big_endian,
            start: p.start,
            end: p.start + p.insns,
        };
        let empty = HashMap::new();
        let r =
            depsurf_bpf::flow::reachable(&code, patched.get(p.section.as_str()).unwrap_or(&empty));
        live.entry(p.section.as_str()).or_default().extend(r);
    }
    for row in rows.iter_mut() {
        let Some(cell) = row.cells.get_mut(id) else {
            continue;
        };
        if cell.consequence != Some(Consequence::Error) {
            continue;
        }
        let uses: Vec<_> = row
            .dep
            .origins
            .iter()
            .filter(|o| {
                o.relo.is_some_and(|k| {
                    !matches!(
                        k,
                        "field_exists" | "type_exists" | "enumval_exists" | "type_matches"
                    )
                })
            })
            .collect();
        let dead = !uses.is_empty()
            && uses.iter().all(|o| {
                // Code outside any analysed program (subprograms) counts as live.
                let (Some(l), Some(i)) = (live.get(o.section.as_str()), o.insn) else {
                    return false;
                };
                let i = i as usize;
                !l.contains(&i)
                    && obj.programs.iter().any(|p| {
                        p.section == o.section && (p.start..p.start + p.insns).contains(&i)
                    })
            });
        if dead {
            *cell = Cell {
                status: Status::GuardFalse,
                consequence: None,
                detail: format!(
                    "{}, only in code that an existence check rules out here",
                    cell.detail
                ),
            };
        }
    }
    Ok(())
}

/// The dependency with its attach target renamed by the user's map; `None` when the map
/// sends it to nothing (`--map func=`: not a kernel function, e.g. an fentry program
/// attached to another BPF program at run time).
fn rename(dep: &Dependency, map: &BTreeMap<String, String>) -> Option<Dependency> {
    let mut d = dep.clone();
    let mut gone = false;
    let mut swap = |s: &mut String| {
        if let Some(n) = map.get(s.as_str()) {
            gone = n.is_empty();
            *s = n.clone();
        }
    };
    match &mut d.target {
        Target::Kprobe { func } | Target::Trampoline { func } => swap(func),
        Target::KprobeMulti { glob } => swap(glob),
        Target::Tracepoint { event, .. } => swap(event),
        Target::Syscall { name } | Target::Iter { name } => swap(name),
        Target::Lsm { hook } => swap(hook),
        _ => {}
    }
    (!gone).then_some(d)
}

fn verdict(id: &str, rows: &[Row]) -> Verdict {
    let (mut e, mut s, mut m) = (0, 0, 0);
    let mut because = Vec::new();
    for r in rows {
        let Some(c) = r.cells.get(id) else { continue };
        match c.consequence {
            Some(Consequence::Error) => {
                e += 1;
                because.push(format!("{} {}: {}", r.kind, r.label, c.detail));
            }
            Some(Consequence::StrayRead) => s += 1,
            Some(Consequence::MissingInvocation) => m += 1,
            _ => {}
        }
    }
    let verdict = if e > 0 {
        "fails"
    } else if s > 0 && m > 0 {
        "loads with stray reads and missed calls"
    } else if s > 0 {
        "loads with stray reads"
    } else if m > 0 {
        "loads, misses calls"
    } else {
        "loads"
    };
    if e == 0 {
        for r in rows {
            if let Some(c) = r.cells.get(id)
                && c.consequence.is_some()
            {
                because.push(format!("{} {}: {}", r.kind, r.label, c.detail));
            }
        }
    }
    because.truncate(3);
    Verdict {
        image: id.to_string(),
        verdict: verdict.to_string(),
        errors: e,
        stray_reads: s,
        missing_invocations: m,
        because,
    }
}

/// The dataset kind and name that a kernel-item dependency is looked up as.
fn item_of(dep: &Dependency) -> Option<(Kind, String)> {
    Some(match &dep.target {
        Target::Kprobe { func } | Target::Trampoline { func } => (Kind::Func, func.clone()),
        Target::Iter { name } => (Kind::Func, format!("bpf_iter_{name}")),
        Target::Tracepoint { event, .. } => (Kind::Tracepoint, event.clone()),
        Target::Syscall { name } => (Kind::Syscall, name.clone()),
        Target::Lsm { hook } => (Kind::Lsm, hook.clone()),
        _ => return None,
    })
}

/// Images where a kernel function, tracepoint or LSM hook has changed, within the groups:
/// once a group has seen a change, every later image of it that has the item (SPEC §5).
fn changed_images(
    ds: &Dataset,
    dep: &Dependency,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let Some((kind, name)) = item_of(dep) else {
        return Ok(out);
    };
    if matches!(kind, Kind::Syscall) {
        return Ok(out);
    }
    let mut look = Lookup::new(ds, kind, &name);
    for g in &ds.manifest.groups {
        let mut since: Option<String> = None;
        let mut prev: Option<&str> = g.reference.as_ref().map(|r| r.image.as_str());
        for l in &g.images {
            if let Some(p) = prev
                && since.is_none()
                && let Some(ch) = look.changes(p, &l.image)?
                && ch.iter().any(|c| c.consequence() != Consequence::None)
            {
                // Only changes with a consequence (SPEC §5): a new format string or a
                // layout that CO-RE relocates reads the same data.
                let what: Vec<String> = ch
                    .iter()
                    .filter(|c| c.consequence() != Consequence::None)
                    .map(|c| {
                        let inner: Vec<&str> = c.nested().iter().map(|n| n.name()).collect();
                        if inner.is_empty() {
                            c.name().to_string()
                        } else {
                            format!("{} ({})", c.name(), inner.join(", "))
                        }
                    })
                    .collect();
                since = Some(format!(
                    "{} between {} and {}",
                    what.join(", "),
                    g.images
                        .iter()
                        .chain(g.reference.iter())
                        .find(|x| x.image == p)
                        .map_or(p, |x| x.label.as_str()),
                    l.label
                ));
            }
            if let Some(s) = &since
                && look.get(&l.image)?.is_some()
            {
                out.entry(g.name.clone())
                    .or_default()
                    .insert(l.image.clone(), s.clone());
            }
            if look.get(&l.image)?.is_some() {
                prev = Some(&l.image);
            }
        }
    }
    Ok(out)
}

/// The dependency in one image, before group changes are considered.
fn resolve(ds: &Dataset, dep: &Dependency, id: &str) -> Result<Cell, StoreError> {
    let Some(slot) = ds.slot(id) else {
        return Ok(Cell::unknown("not in the dataset"));
    };
    let store = ds.store();
    let has = |kind: Kind| ds.has_kind(id, kind);
    Ok(match &dep.target {
        Target::Kprobe { func } | Target::Trampoline { func } => {
            if !has(Kind::Func) {
                return Ok(Cell::unknown("no functions for this image"));
            }
            let look = Lookup::new(ds, Kind::Func, func);
            let status = look.func_status(id)?;
            let in_btf = store.def_id(slot, Kind::Func, func)?.is_some();
            let trampoline = matches!(dep.target, Target::Trampoline { .. });
            if !in_btf && (trampoline || status.is_none()) {
                return Ok(Cell::absent(false, format!("function {func} absent")));
            }
            func_issues(status.as_ref().map(|s| s.issues()).unwrap_or_default())
        }
        Target::KprobeMulti { glob } => {
            let n = store
                .names(slot, Kind::Func)?
                .into_iter()
                .filter(|n| depsurf_report::index::matches(glob, n))
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
        Target::KernelConfig { name, item, miss } => {
            if !has(Kind::Config) {
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
            if met {
                Cell::ok_with(format!("CONFIG_{name}={shown}"))
            } else if *miss {
                Cell::bad(
                    Status::Absent,
                    Consequence::MissingInvocation,
                    format!(
                        "CONFIG_{name}={shown}: the program is never called (unless the boot \
                         command line changes it)"
                    ),
                )
            } else {
                Cell::bad(
                    Status::Absent,
                    Consequence::Error,
                    if name == "DEBUG_INFO_BTF" {
                        format!(
                            "CONFIG_{name} is {shown}: the kernel has no BTF for CO-RE, kfuncs \
                             or BTF attach points (unless the loader brings one, as BTFHub's)"
                        )
                    } else {
                        format!("CONFIG_{name} is {shown}: the program cannot attach")
                    },
                )
            }
        }
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
                return Ok(Cell::unknown("no kfuncs for this image (no BTF)"));
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
                            .any(|(a, b)| !compatible(&a.ty, &b.ty)) =>
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
        Target::Field { hops, .. } => {
            if !has(Kind::Struct) {
                return Ok(Cell::unknown("no types for this image"));
            }
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
                if !same_type(&unqualified(&m.ty), &unqualified(&h.local))
                    && cell.status == Status::Ok
                {
                    let text = format!(
                        "{}::{} is {}, the object reads {}",
                        h.owner,
                        h.field,
                        depsurf_surface::ctext::type_text(&m.ty),
                        depsurf_surface::ctext::type_text(&h.local)
                    );
                    cell = if compatible(&h.local, &m.ty) {
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
            cell
        }
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
        } => match Lookup::new(ds, Kind::Enum, enum_name).get(id)? {
            Some(Def::Enum(e)) => match e.values.iter().find(|(n, _)| n == value) {
                Some(_) => Cell::ok(),
                None => Cell::absent(dep.guard, format!("{enum_name}::{value} absent")),
            },
            _ => Cell::absent(dep.guard, format!("enum {enum_name} absent")),
        },
        Target::Helper { id: n } => enum_number(ds, id, "bpf_func_id", "BPF_FUNC_", *n)?,
        Target::MapType { id: n } => enum_number(ds, id, "bpf_map_type", "BPF_MAP_TYPE_", *n)?,
        Target::ProgType { name } => {
            enum_name(ds, id, "bpf_prog_type", &format!("BPF_PROG_TYPE_{name}"))?
        }
        Target::AttachType { name } => {
            enum_name(ds, id, "bpf_attach_type", &format!("BPF_{name}"))?
        }
    })
}

/// A kprobe target against the kernel's symbols: present, only as compiler clones
/// (`.isra.0`, `.constprop.0`, `.part.0`, `.cold`: Transformation), or absent.
fn kprobe_symbol(func: &str, syms: &std::collections::HashSet<String>) -> Cell {
    if syms.contains(func) {
        return Cell::ok();
    }
    let prefix = format!("{func}.");
    if syms.iter().any(|s| s.starts_with(&prefix)) {
        return Cell::bad(
            Status::Issue,
            Consequence::Error,
            format!("Transformation: only {func}.* clones are symbols"),
        );
    }
    Cell::absent(false, format!("no symbol {func} in the kernel"))
}

fn func_issues(issues: Vec<&'static str>) -> Cell {
    let mut worst: Option<(Consequence, &str)> = None;
    for i in &issues {
        let c = match *i {
            "Full Inline" | "Transformation" => Consequence::Error,
            "Selective Inline" | "Duplicate" | "Collision" => Consequence::MissingInvocation,
            _ => continue,
        };
        if worst.is_none_or(|(w, _)| c < w) {
            worst = Some((c, i));
        }
    }
    match worst {
        Some((c, _)) => Cell::bad(Status::Issue, c, issues.join(", ")),
        None => Cell::ok(),
    }
}

fn present(
    ds: &Dataset,
    id: &str,
    kind: Kind,
    name: &str,
    guard: bool,
) -> Result<Cell, StoreError> {
    if !ds.has_kind(id, kind) {
        return Ok(Cell::unknown(format!(
            "no {}s for this image",
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

fn enum_values(
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

/// The type without `const`, `volatile` and `restrict`, at any depth (CO-RE relocation
/// ignores them), with one spelling per integer type and forward declarations as the
/// structs they declare.
fn unqualified(t: &TypeRef) -> TypeRef {
    match t {
        TypeRef::Int(n) => TypeRef::Int(int_name(n)),
        TypeRef::Typedef(n) => match fixed_width(n) {
            Some(int) => TypeRef::Int(int_name(int)),
            None => t.clone(),
        },
        // An object's BTF declares the structs it only points to.
        TypeRef::Fwd { name, union: false } => TypeRef::Struct(name.clone()),
        TypeRef::Fwd { name, union: true } => TypeRef::Union(name.clone()),
        TypeRef::Const(b) | TypeRef::Volatile(b) | TypeRef::Restrict(b) => unqualified(b),
        TypeRef::Ptr(b) => TypeRef::Ptr(Box::new(unqualified(b))),
        TypeRef::Array { nelems, elem } => TypeRef::Array {
            nelems: *nelems,
            elem: Box::new(unqualified(elem)),
        },
        other => other.clone(),
    }
}

/// The integer type behind the kernel's and the C library's fixed-width typedefs (`u32`,
/// `__u32`, `__le32`, `uint32_t`, ...): a program built against UAPI headers names them
/// differently from vmlinux.h.
fn fixed_width(n: &str) -> Option<&'static str> {
    let n = n.trim_start_matches('_');
    Some(match n {
        "u8" | "uint8_t" => "unsigned char",
        "s8" | "int8_t" => "signed char",
        "u16" | "le16" | "be16" | "uint16_t" | "sum16" => "short unsigned int",
        "s16" | "int16_t" => "short int",
        "u32" | "le32" | "be32" | "uint32_t" | "wsum" => "unsigned int",
        "s32" | "int32_t" => "int",
        "u64" | "le64" | "be64" | "uint64_t" => "long long unsigned int",
        "s64" | "int64_t" => "long long int",
        "bool" | "Bool" => "_Bool",
        _ => return None,
    })
}

/// Equal types, where a typedef the dataset cannot see through counts as equal to anything
/// (datasets keep typedef names, not their definitions).
fn same_type(a: &TypeRef, b: &TypeRef) -> bool {
    match (a, b) {
        (TypeRef::Typedef(_), _) | (_, TypeRef::Typedef(_)) => true,
        (TypeRef::Ptr(x), TypeRef::Ptr(y)) => same_type(x, y),
        (TypeRef::Array { nelems: n, elem: x }, TypeRef::Array { nelems: m, elem: y }) => {
            n == m && same_type(x, y)
        }
        _ => a == b,
    }
}

/// One spelling per C integer type: clang writes `long` and `unsigned long` where gcc and
/// pahole write `long int` and `long unsigned int`.
fn int_name(n: &str) -> String {
    let mut w: Vec<&str> = n.split_whitespace().collect();
    if w.len() > 1 {
        w.retain(|x| *x != "int");
    }
    if w.len() > 1 && w.contains(&"signed") && !w.contains(&"char") {
        w.retain(|x| *x != "signed");
    }
    w.sort_unstable();
    w.join(" ")
}

/// Whether libbpf would accept `target` where the object has `local` (same class of type:
/// integers and enums, pointers, structs, unions, arrays of compatible elements).
fn compatible(local: &TypeRef, target: &TypeRef) -> bool {
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
        (Some(a), Some(b)) => a == b,
        // A typedef the dataset does not resolve: assume compatible.
        _ => true,
    }
}

/// Names for helpers and map types, by number, from the dataset's newest image that has
/// them.
struct Names {
    helpers: BTreeMap<i64, String>,
    maps: BTreeMap<i64, String>,
}

impl Names {
    fn new(ds: &Dataset) -> Result<Names, StoreError> {
        let mut helpers = BTreeMap::new();
        let mut maps = BTreeMap::new();
        for m in ds.images() {
            for (e, prefix, out) in [
                ("bpf_func_id", "BPF_FUNC_", &mut helpers),
                ("bpf_map_type", "BPF_MAP_TYPE_", &mut maps),
            ] {
                for (n, v) in enum_values(ds, &m.id, e)?.unwrap_or_default() {
                    if let Some(short) = n.strip_prefix(prefix) {
                        out.entry(v).or_insert_with(|| short.to_lowercase());
                    }
                }
            }
        }
        Ok(Names { helpers, maps })
    }

    fn label(&self, dep: &Dependency) -> String {
        match &dep.target {
            Target::Helper { id } => match self.helpers.get(&i64::from(*id)) {
                Some(n) => format!("bpf_{n}"),
                None => dep.label(),
            },
            Target::MapType { id } => match self.maps.get(&i64::from(*id)) {
                Some(n) => format!("BPF_MAP_TYPE_{}", n.to_uppercase()),
                None => dep.label(),
            },
            _ => dep.label(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: &str) -> TypeRef {
        TypeRef::Int(n.into())
    }

    #[test]
    fn spellings_of_one_type_compare_equal() {
        let eq = |a: &TypeRef, b: &TypeRef| same_type(&unqualified(a), &unqualified(b));
        assert!(eq(&int("long"), &int("long int")));
        assert!(eq(&int("unsigned long"), &int("long unsigned int")));
        assert!(eq(
            &TypeRef::Typedef("__u32".into()),
            &TypeRef::Typedef("u32".into())
        ));
        assert!(eq(&TypeRef::Typedef("__u32".into()), &int("unsigned int")));
        assert!(eq(
            &TypeRef::Volatile(Box::new(int("long int"))),
            &int("long int")
        ));
        assert!(eq(
            &TypeRef::Ptr(Box::new(TypeRef::Fwd {
                name: "file".into(),
                union: false
            })),
            &TypeRef::Ptr(Box::new(TypeRef::Struct("file".into())))
        ));
        // A real change stays a change.
        assert!(!eq(&int("unsigned int"), &int("short unsigned int")));
        assert!(!eq(
            &TypeRef::Typedef("u32".into()),
            &TypeRef::Typedef("u16".into())
        ));
        assert!(!compatible(
            &TypeRef::Array {
                nelems: 10,
                elem: Box::new(TypeRef::Ptr(Box::new(TypeRef::Void)))
            },
            &TypeRef::Ptr(Box::new(TypeRef::Void))
        ));
        assert!(compatible(
            &int("int"),
            &TypeRef::Enum {
                name: "e".into(),
                size: 4
            }
        ));
    }

    #[test]
    fn kprobes_on_clones_are_transformations() {
        let syms: std::collections::HashSet<String> = ["vfs_read", "finish_task_switch.isra.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(kprobe_symbol("vfs_read", &syms).consequence, None);
        let c = kprobe_symbol("finish_task_switch", &syms);
        assert_eq!(
            (c.status, c.consequence),
            (Status::Issue, Some(Consequence::Error))
        );
        assert_eq!(kprobe_symbol("nope", &syms).status, Status::Absent);
    }
}
