//! Checks eBPF objects against the kernel images of a dataset, the way the kernel's loader
//! (libbpf and the verifier) would decide: for every program of an object and every image,
//! whether it loads and attaches (else **Error**), reads what it expects (else **Stray
//! read**), and sees every call of its attach point (else **Missing invocation**).
//!
//! Per image, each dependency is first resolved on its own ([`facts`]): present, absent,
//! changed against the object's own types. Then each program is walked the way the
//! verifier walks it on that kernel (`depsurf_bpf::flow`: existence checks, weak externs
//! and `__kconfig` values resolved, across BPF-to-BPF calls), so a failing CO-RE access, a
//! missing weak kfunc or helper only in code the verifier never reaches is harmless. What a
//! program reads of its attach point (arguments, registers, a tracepoint record) is judged
//! against the definition the object was built for ([`reads`]). What libbpf does for the
//! whole object (create every map, resolve every extern, load the kernel's BTF) fails every
//! program when it fails. Programs that are alternatives of each other ([`alternatives`])
//! let an object load on a kernel where some of them fail.
//!
//! [`study`] counts the same objects' dependencies the way the study's program tables do:
//! absent, changed or with a function status issue in at least one image of the Regular
//! and Arch groups, without judging what a loader would do.

pub mod alternatives;
mod facts;
pub mod meaning;
mod reads;
pub mod render;
pub mod study;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use depsurf_bpf::code::Loc;
use depsurf_bpf::flow::{self, Env, Extern as Ext, Flow};
use depsurf_bpf::{BpfObject, Dependency, ExternKind, Program, Target};
use depsurf_diff::Consequence;
use depsurf_model::trace::{FuncTrace, TraceReason};
use depsurf_report::history::{Def, Lookup};
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};
use serde::Serialize;

use crate::meaning::Word;
use crate::reads::{Reads, Shown};

pub use facts::version_of;

/// One dependency in one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub status: Status,
    /// What it means for the program; `None` when nothing goes wrong.
    #[serde(serialize_with = "ser_consequence")]
    pub consequence: Option<Consequence>,
    /// Why, in words (`field mm_struct::exe_file absent`, `argument 2 is ...`).
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
    /// A function status issue (inlined, transformed, duplicated, not traceable).
    Issue,
    /// Absent, but only where the program checks for it first, or only in code the
    /// verifier does not reach on this kernel: the program handles it.
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
    fn guarded(&self, why: &str) -> Cell {
        Cell {
            status: Status::GuardFalse,
            consequence: None,
            detail: format!("{}, {why}", self.detail),
        }
    }

    /// How bad a cell is, for picking the one a row shows: errors first, then stray reads,
    /// missed calls, unknowns, handled absences, fine.
    fn rank(&self) -> u8 {
        match (self.consequence, self.status) {
            (Some(Consequence::Error), _) => 0,
            (Some(Consequence::StrayRead), _) => 1,
            (Some(Consequence::MissingInvocation), _) => 2,
            (_, Status::Unknown) => 3,
            (_, Status::GuardFalse) => 4,
            _ => 5,
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
    /// Whether libbpf needs it for the whole object (maps, externs, the kernel's BTF):
    /// then it fails every program where it fails.
    pub object_wide: bool,
    /// The checked programs that depend on it.
    pub programs: Vec<String>,
    /// By image id: the worst cell of its programs.
    pub cells: BTreeMap<String, Cell>,
}

/// The verdict for one image (of a program, or of the object).
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub image: String,
    /// `loads`, `loads with stray reads`, `loads, misses calls`, `loads with stray reads
    /// and missed calls`, `loads with alternatives` (objects only), `fails`.
    pub verdict: String,
    pub errors: usize,
    pub stray_reads: usize,
    pub missing_invocations: usize,
    /// Dependencies the dataset cannot answer for this image.
    pub unknown: usize,
    /// The first reasons, for a one-line summary.
    pub because: Vec<String>,
    /// For `loads with alternatives`: the programs the loader must turn off.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub turn_off: Vec<String>,
}

/// One program of an object and its verdict per image.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramCheck {
    #[serde(flatten)]
    pub program: Program,
    /// Checked (every program, unless `--program` chose some).
    pub checked: bool,
    /// The other programs of the object it is an alternative of.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
    pub verdicts: Vec<Verdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ObjectCheck {
    pub object: String,
    pub programs: Vec<ProgramCheck>,
    /// Groups of programs that are alternatives of each other.
    pub alternatives: Vec<Vec<String>>,
    /// What kernel functions', tracepoints' and LSM hooks' definitions are compared with
    /// (the object does not say what it was built for).
    pub reference: String,
    pub rows: Vec<Row>,
    /// The object's verdict per image: every checked program, or for each group of
    /// alternatives at least one.
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

/// Which helpers each program type may call on one kernel, as probed on that kernel booted
/// (the kernel decides this in code, no table of the image spells it out). The dataset's
/// manifest keeps such tables ([`Dataset::helper_table`]); this one overrides it, for a
/// table just probed (`depsurf verify`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HelperTable {
    /// Program type (`KPROBE`, `TRACING`, ...) → allowed helper ids.
    pub allowed: BTreeMap<String, BTreeSet<u32>>,
}

/// The values of a kernel enum (`bpf_func_id`, `bpf_prog_type`, ...) in image `id`, as
/// (name, value); `None` when the image has no such enum.
pub fn kernel_enum(
    ds: &Dataset,
    id: &str,
    enum_name: &str,
) -> Result<Option<Vec<(String, i64)>>, StoreError> {
    facts::enum_values(ds, id, enum_name)
}

/// Facts read from a running kernel, for `--kernel running`.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// The image id they belong to.
    pub id: String,
    /// Text symbols of /proc/kallsyms and how many of each name.
    pub symbols: HashMap<String, u32>,
    /// ftrace's `available_filter_functions`, when readable.
    pub ftrace: Option<HashSet<String>>,
    /// The kprobe blacklist (debugfs `kprobes/blacklist`), when readable.
    pub kprobe_blacklist: Option<HashSet<String>>,
    /// `CONFIG_KPROBE_EVENTS_ON_NOTRACE`.
    pub kprobe_on_notrace: bool,
}

impl Live {
    /// What this kernel allows on a function symbol; `None` when it cannot tell.
    fn trace(&self, func: &str) -> Option<FuncTrace> {
        let ftrace = self.ftrace.as_ref()?;
        let symbol = self.symbols.contains_key(func);
        let patchable = ftrace.contains(func);
        let black = self
            .kprobe_blacklist
            .as_ref()
            .is_some_and(|b| b.contains(func));
        let kprobe = if !symbol {
            None
        } else if black {
            Some(TraceReason::Blacklist)
        } else if !patchable && !self.kprobe_on_notrace {
            Some(TraceReason::Notrace)
        } else {
            None
        };
        let mut reasons = Vec::new();
        if symbol && !patchable {
            reasons.push(TraceReason::Notrace);
        }
        if black {
            reasons.push(TraceReason::Blacklist);
        }
        Some(FuncTrace {
            symbol,
            ftrace: patchable,
            kprobe,
            reasons,
            base: None,
        })
    }
}

/// Options for a check.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Image ids to check (all when empty).
    pub images: Vec<String>,
    /// Attach targets renamed: section target as written → target to check.
    pub map: BTreeMap<String, String>,
    /// Programs to check, by name or glob (all when empty): those a loader will load.
    pub programs: Vec<String>,
    /// Facts of a running kernel (one image of the dataset).
    pub live: Option<Live>,
    /// Probed helper tables by image id, over the dataset's.
    pub helpers: BTreeMap<String, HelperTable>,
}

/// Who needs a dependency.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Users {
    /// libbpf needs it for the object as a whole.
    Object,
    /// These programs (indices).
    Programs(Vec<usize>),
}

/// What a check of one object covers: which programs are checked (`--program`), each
/// program's code with its subprograms, the object's dependencies after `--map` (those mapped
/// to nothing dropped), and who needs each.
struct Chosen {
    checked: Vec<bool>,
    closures: Vec<Vec<(Loc, usize)>>,
    deps: Vec<Dependency>,
    users: Vec<Users>,
}

fn choose(obj: &BpfObject, opts: &Options) -> Chosen {
    let checked: Vec<bool> = obj
        .programs
        .iter()
        .map(|p| {
            opts.programs.is_empty()
                || opts
                    .programs
                    .iter()
                    .any(|g| facts::glob_matches(g, &p.name))
        })
        .collect();
    let closures: Vec<Vec<(Loc, usize)>> = obj
        .programs
        .iter()
        .map(|p| obj.code.closure(p.entry))
        .collect();
    let deps: Vec<Dependency> = obj
        .deps
        .iter()
        .filter_map(|d| rename(d, &opts.map))
        .collect();
    let users: Vec<Users> = deps.iter().map(|d| users_of(obj, &closures, d)).collect();
    Chosen {
        checked,
        closures,
        deps,
        users,
    }
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
    let Chosen {
        checked,
        closures,
        deps,
        users,
    } = choose(obj, opts);
    let reference = Reference::new(ds);
    let mut refs = RefDefs::default();
    let live = opts.live.as_ref();
    let bases: Vec<Vec<Cell>> = images
        .iter()
        .map(|id| {
            deps.iter()
                .map(|d| facts::resolve(ds, d, id, live))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    // Each program's attach point, to tell alternatives from handlers that are all needed.
    let attach_dep: Vec<Option<usize>> = obj
        .programs
        .iter()
        .enumerate()
        .map(|(pi, p)| {
            deps.iter().enumerate().position(|(di, d)| {
                is_attach(&d.target)
                    && matches!(&users[di], Users::Programs(ps) if ps.contains(&pi))
                    && d.origins
                        .iter()
                        .any(|o| o.program == p.name && o.insn.is_none())
            })
        })
        .collect();
    // Over every image of the dataset, not only the checked ones.
    let mut presence: HashMap<usize, Vec<bool>> = HashMap::new();
    for di in attach_dep.iter().flatten() {
        if presence.contains_key(di) {
            continue;
        }
        let mut row = Vec::new();
        for m in ds.images() {
            row.push(facts::resolve(ds, &deps[*di], &m.id, live)?.status != Status::Absent);
        }
        presence.insert(*di, row);
    }
    let present = |p: usize| attach_dep[p].and_then(|di| presence.get(&di));
    let apart = |a: usize, b: usize| match (present(a), present(b)) {
        (Some(x), Some(y)) => x != y,
        _ => false,
    };
    let groups = alternatives::groups(obj, &apart);

    // cells[image][program][dep]
    let mut program_cells: Vec<Vec<Vec<Option<Cell>>>> = Vec::new();
    let mut walks: HashMap<(usize, String), (Flow, Flow)> = HashMap::new();
    for (ii, id) in images.iter().enumerate() {
        let base = &bases[ii];
        let env = env(ds, obj, id, &deps, base)?;
        let failing = failing_relocations(ds, obj, id, live)?;
        let key = fingerprint(&env);
        let word = word_of(ds, id);
        let helpers = Helpers {
            given: opts.helpers.get(id),
            recorded: ds.helper_table(id),
        };
        let mut per_prog = Vec::new();
        for (pi, p) in obj.programs.iter().enumerate() {
            if !checked[pi] {
                per_prog.push(vec![None; deps.len()]);
                continue;
            }
            // As compiled (`const volatile` values of the object), and with any values a
            // loader may set: what only the second reaches is a note, not a verdict.
            let (flow, other) = &*walks.entry((pi, key.clone())).or_insert_with(|| {
                let compiled = flow::walk(&obj.code, p.entry, &env);
                let any = flow::walk(
                    &obj.code,
                    p.entry,
                    &Env {
                        rodata_as_compiled: false,
                        ..env.clone()
                    },
                );
                (compiled, other_values(&any))
            });
            let reads = reads::reads(p, flow, false);
            let chosen_reads = reads::reads(p, other, false);
            let mut cells = Vec::with_capacity(deps.len());
            for (di, d) in deps.iter().enumerate() {
                let cell = match &users[di] {
                    Users::Object => Some(object_cell(obj, d, &base[di], &closures[pi], flow)),
                    Users::Programs(ps) if ps.contains(&pi) => Some(program_cell(
                        ds,
                        &mut refs,
                        &reference,
                        ProgramCtx {
                            obj,
                            p,
                            closure: &closures[pi],
                            flow,
                            other,
                            reads: &reads,
                            chosen_reads: &chosen_reads,
                            failing: &failing,
                            helpers,
                            word,
                            id,
                        },
                        d,
                        &base[di],
                    )?),
                    Users::Programs(_) => None,
                };
                cells.push(cell);
            }
            per_prog.push(cells);
        }
        program_cells.push(per_prog);
    }

    // Rows: each dependency's worst cell over its checked programs.
    let mut rows = Vec::new();
    for (di, d) in deps.iter().enumerate() {
        let using: Vec<usize> = match &users[di] {
            Users::Object => (0..obj.programs.len()).filter(|&p| checked[p]).collect(),
            Users::Programs(ps) => ps.iter().copied().filter(|&p| checked[p]).collect(),
        };
        if using.is_empty() {
            continue;
        }
        let mut cells = BTreeMap::new();
        for (ii, id) in images.iter().enumerate() {
            let worst = using
                .iter()
                .filter_map(|&p| program_cells[ii][p][di].as_ref())
                .min_by_key(|c| c.rank())
                .cloned();
            if let Some(c) = worst {
                cells.insert(id.clone(), c);
            }
        }
        rows.push(Row {
            kind: d.kind(),
            label: names.label(d),
            dep: d.clone(),
            object_wide: users[di] == Users::Object,
            programs: using
                .iter()
                .map(|&p| obj.programs[p].name.clone())
                .collect(),
            cells,
        });
    }

    let group_names: Vec<Vec<String>> = groups
        .iter()
        .map(|g| g.iter().map(|&p| obj.programs[p].name.clone()).collect())
        .collect();
    let mut programs = Vec::new();
    for (pi, p) in obj.programs.iter().enumerate() {
        let verdicts = if checked[pi] {
            images
                .iter()
                .enumerate()
                .map(|(ii, id)| {
                    let cells: Vec<(&Dependency, &Cell)> = deps
                        .iter()
                        .zip(&program_cells[ii][pi])
                        .filter_map(|(d, c)| c.as_ref().map(|c| (d, c)))
                        .collect();
                    verdict(id, &names, &cells)
                })
                .collect()
        } else {
            Vec::new()
        };
        let alternatives = groups
            .iter()
            .find(|g| g.contains(&pi))
            .map(|g| {
                g.iter()
                    .filter(|&&q| q != pi)
                    .map(|&q| obj.programs[q].name.clone())
                    .collect()
            })
            .unwrap_or_default();
        programs.push(ProgramCheck {
            program: p.clone(),
            checked: checked[pi],
            alternatives,
            verdicts,
        });
    }
    let verdicts = images
        .iter()
        .enumerate()
        .map(|(ii, id)| {
            object_verdict(ii, id, &programs, &groups, &rows, !opts.programs.is_empty())
        })
        .collect();

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
            let c = facts::resolve(ds, &dep, id, opts.live.as_ref())?;
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
        programs,
        alternatives: group_names,
        reference: reference.describe(),
        rows,
        verdicts,
        relocations,
    })
}

/// The machine word of an image's architecture.
fn word_of(ds: &Dataset, id: &str) -> Word {
    Word::of_arch(
        ds.images()
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.arch.as_deref()),
    )
}

/// An attach point: a function, tracepoint, syscall, LSM hook or iterator.
fn is_attach(t: &Target) -> bool {
    matches!(
        t,
        Target::Kprobe { .. }
            | Target::KprobeMulti { .. }
            | Target::Trampoline { .. }
            | Target::Tracepoint { .. }
            | Target::Syscall { .. }
            | Target::Lsm { .. }
            | Target::Iter { .. }
    )
}

/// Who needs `d`: libbpf for the whole object, or the programs whose code (with their
/// subprograms) or section carries it.
fn users_of(obj: &BpfObject, closures: &[Vec<(Loc, usize)>], d: &Dependency) -> Users {
    let object_wide = match &d.target {
        Target::MapType { .. }
        | Target::StructOps { .. }
        | Target::Kfunc { .. }
        | Target::Ksym { .. }
        | Target::Config { .. } => true,
        Target::KernelConfig { name, .. } => name == "DEBUG_INFO_BTF",
        _ => d
            .origins
            .iter()
            .all(|o| o.insn.is_none() && o.section.starts_with('.')),
    };
    if object_wide {
        return Users::Object;
    }
    let mut ps = Vec::new();
    for (pi, p) in obj.programs.iter().enumerate() {
        let uses = d.origins.iter().any(|o| match o.insn {
            Some(i) => obj.code.section(&o.section).is_some_and(|sec| {
                depsurf_bpf::Code::in_closure(
                    &closures[pi],
                    Loc {
                        sec,
                        insn: i as usize,
                    },
                )
            }),
            None => o.program == p.name && o.section == p.section,
        });
        if uses {
            ps.push(pi);
        }
    }
    Users::Programs(ps)
}

/// The places of a dependency's uses in the code, with whether each reads (not only an
/// existence check).
fn uses(obj: &BpfObject, d: &Dependency) -> Vec<(Loc, bool)> {
    d.origins
        .iter()
        .filter_map(|o| {
            let sec = obj.code.section(&o.section)?;
            let reads = o.relo.is_none_or(|k| {
                !matches!(
                    k,
                    "field_exists" | "type_exists" | "enumval_exists" | "type_matches"
                )
            });
            Some((
                Loc {
                    sec,
                    insn: o.insn? as usize,
                },
                reads,
            ))
        })
        .collect()
}

/// An object-wide dependency's cell for one program: libbpf's verdict on the object, except
/// that a weak extern the kernel lacks only hurts a program that reaches a use of it.
fn object_cell(
    obj: &BpfObject,
    d: &Dependency,
    base: &Cell,
    closure: &[(Loc, usize)],
    flow: &Flow,
) -> Cell {
    let weak_extern = matches!(d.target, Target::Kfunc { .. } | Target::Ksym { .. }) && d.guard;
    if weak_extern && base.status == Status::GuardFalse {
        // libbpf sets a missing weak extern's address to 0 (what `bpf_ksym_exists()` tests)
        // and poisons the calls of a missing weak kfunc: a call the verifier reaches fails.
        let reached = matches!(d.target, Target::Kfunc { .. })
            && uses(obj, d).iter().any(|(at, _)| {
                depsurf_bpf::Code::in_closure(closure, *at)
                    && flow.reachable.contains(at)
                    && obj.code.insn(*at).is_some_and(|i| i.is_call())
            });
        if reached {
            return Cell::bad(
                Status::Absent,
                Consequence::Error,
                format!(
                    "{}; the program reaches a call of it here (libbpf poisons it)",
                    base.detail
                ),
            );
        }
        return base.guarded("and the program never reaches a use of it here");
    }
    if base.consequence == Some(Consequence::Error) && !base.detail.contains("libbpf") {
        return Cell {
            detail: format!(
                "{} (libbpf needs it for the whole object, whatever programs load)",
                base.detail
            ),
            ..base.clone()
        };
    }
    base.clone()
}

/// The helper table of one image: one just probed, else the dataset's.
#[derive(Clone, Copy)]
struct Helpers<'a> {
    given: Option<&'a HelperTable>,
    recorded: Option<&'a depsurf_surface::helpers::HelperTable>,
}

/// What an image's helper table says of one helper for one program type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HelperAnswer {
    /// The type was probed and allows it.
    Allowed,
    /// The type was not probed, but raw tracepoints allow it: tracing (fentry, fexit,
    /// iterators, tp_btf) and LSM programs allow whatever raw tracepoints do (the kernel's
    /// proto functions for them fall back to the raw tracepoint one, from 5.5 on).
    AllowedAsRawTracepoint,
    /// The type was probed and does not allow it.
    Refused,
    /// The image has a table, but not of this program type.
    TypeNotProbed,
    /// The image's helpers were not probed.
    NoTable,
}

impl Helpers<'_> {
    fn allows(&self, prog_type: &str, helper: u32) -> Option<bool> {
        match self.given {
            Some(g) => g.allowed.get(prog_type).map(|s| s.contains(&helper)),
            None => self.recorded?.allows(prog_type, helper),
        }
    }

    fn answer(&self, prog_type: &str, helper: u32) -> HelperAnswer {
        if self.given.is_none() && self.recorded.is_none() {
            return HelperAnswer::NoTable;
        }
        match self.allows(prog_type, helper) {
            Some(true) => HelperAnswer::Allowed,
            Some(false) => HelperAnswer::Refused,
            None if matches!(prog_type, "TRACING" | "LSM")
                && self.allows("RAW_TRACEPOINT", helper) == Some(true) =>
            {
                HelperAnswer::AllowedAsRawTracepoint
            }
            None => HelperAnswer::TypeNotProbed,
        }
    }
}

/// What one program needs to judge its dependencies in one image.
struct ProgramCtx<'a> {
    obj: &'a BpfObject,
    p: &'a Program,
    closure: &'a [(Loc, usize)],
    flow: &'a Flow,
    /// What the program reaches and reads only with other values of its `const volatile`
    /// globals than those compiled in (a loader may set them).
    other: &'a Flow,
    reads: &'a Reads,
    /// What it reads only with such values.
    chosen_reads: &'a Reads,
    /// The instructions of CO-RE relocations that fail on this image (libbpf poisons them).
    failing: &'a HashSet<Loc>,
    helpers: Helpers<'a>,
    word: Word,
    id: &'a str,
}

/// A program's dependency in one image: code it does not reach is harmless; an attach
/// point's change matters as far as the program reads it; a helper must be allowed for the
/// program's type.
fn program_cell(
    ds: &Dataset,
    refs: &mut RefDefs,
    reference: &Reference,
    c: ProgramCtx<'_>,
    d: &Dependency,
    base: &Cell,
) -> Result<Cell, StoreError> {
    let mine: Vec<(Loc, bool)> = uses(c.obj, d)
        .into_iter()
        .filter(|(at, _)| depsurf_bpf::Code::in_closure(c.closure, *at))
        .collect();
    // Reached on a path free of the loader's run-time choices, or only on chosen ones.
    let reached = |reading_only: bool| {
        mine.iter().any(|(at, reads)| {
            (*reads || !reading_only)
                && c.flow.reachable.contains(at)
                && !c.flow.chosen.contains(at)
        })
    };
    let reached_chosen = |reading_only: bool| {
        mine.iter().any(|(at, reads)| {
            (*reads || !reading_only)
                && (c.flow.chosen.contains(at) || c.other.reachable.contains(at))
        })
    };
    Ok(match &d.target {
        Target::Field { .. } | Target::Type { .. } | Target::EnumValue { .. } => {
            // What fails is a relocation's instruction (of any hop of a chained access).
            let poisoned = |at: &Loc| c.failing.contains(at);
            let failing_reached = mine.iter().any(|(at, reads)| {
                *reads
                    && poisoned(at)
                    && c.flow.reachable.contains(at)
                    && !c.flow.chosen.contains(at)
            });
            let failing_chosen = mine.iter().any(|(at, reads)| {
                *reads
                    && poisoned(at)
                    && (c.flow.chosen.contains(at) || c.other.reachable.contains(at))
            });
            match base.consequence {
                Some(Consequence::Error) if failing_reached => base.clone(),
                Some(Consequence::Error) if failing_chosen => loader_chooses(base),
                Some(Consequence::Error) if !reached(true) && reached_chosen(true) => {
                    loader_chooses(base)
                }
                Some(Consequence::Error) => {
                    base.guarded("only in code that this kernel's answers rule out")
                }
                Some(Consequence::StrayRead) if !reached(true) => Cell::ok_with(format!(
                    "{}, but the program does not read it on this kernel",
                    base.detail
                )),
                _ => base.clone(),
            }
        }
        Target::Helper { id: helper } => {
            if !reached(false) && reached_chosen(false) && base.consequence.is_some() {
                return Ok(loader_chooses(base));
            }
            if !reached(false) {
                if base.consequence.is_some() {
                    return Ok(base.guarded("only in code this kernel's answers rule out"));
                }
                return Ok(base.clone());
            }
            if base.consequence.is_some() || base.status == Status::Unknown {
                return Ok(base.clone());
            }
            let Some(t) = c.p.prog_type else {
                return Ok(base.clone());
            };
            let unknown = |why: &str| {
                Cell::unknown(format!(
                    "{}whether BPF_PROG_TYPE_{t} programs may call it is unknown ({why})",
                    if base.detail.is_empty() {
                        String::new()
                    } else {
                        format!("{}; ", base.detail)
                    }
                ))
            };
            match c.helpers.answer(t, *helper) {
                HelperAnswer::Refused => Cell::bad(
                    Status::Issue,
                    Consequence::Error,
                    format!(
                        "not allowed for BPF_PROG_TYPE_{t} programs on this kernel (probed on the \
                         booted kernel): the verifier rejects the call"
                    ),
                ),
                HelperAnswer::Allowed | HelperAnswer::AllowedAsRawTracepoint => base.clone(),
                HelperAnswer::TypeNotProbed => {
                    unknown("this program type was not probed on this image")
                }
                HelperAnswer::NoTable => unknown("this image's helpers were not probed"),
            }
        }
        Target::Kprobe { func } | Target::Trampoline { func } => {
            attach_reads(ds, refs, reference, &c, base, Kind::Func, func, false)?
        }
        Target::Lsm { hook } => {
            attach_reads(ds, refs, reference, &c, base, Kind::Lsm, hook, false)?
        }
        Target::Tracepoint { event, .. } => {
            let record = matches!(reads::shape(c.p), Some(reads::Shape::Record));
            attach_reads(
                ds,
                refs,
                reference,
                &c,
                base,
                Kind::Tracepoint,
                event,
                record,
            )?
        }
        _ => base.clone(),
    })
}

/// A failure the program meets only with other values of its `const volatile` globals than
/// those compiled in: a loader that sets them so for this kernel meets it; as compiled, the
/// verifier never walks there. A note, not a verdict.
fn loader_chooses(base: &Cell) -> Cell {
    Cell::ok_with(format!(
        "as compiled, fine; with other values the loader may set at run time: {}",
        base.detail
    ))
}

/// What a walk with any values of `const volatile` globals adds to one with the compiled
/// values: the places and context reads only such values reach (paths that went one way
/// of a branch on such a value).
fn other_values(any: &Flow) -> Flow {
    Flow {
        reachable: any.chosen.clone(),
        ctx_reads: any.chosen_ctx_reads.clone(),
        chosen: Default::default(),
        chosen_ctx_reads: Default::default(),
        work: any.work,
        exact: any.exact,
    }
}

/// An attach point's cell, with what the program reads of it judged against the reference
/// definition.
#[allow(clippy::too_many_arguments)]
fn attach_reads(
    ds: &Dataset,
    refs: &mut RefDefs,
    reference: &Reference,
    c: &ProgramCtx<'_>,
    base: &Cell,
    kind: Kind,
    name: &str,
    record: bool,
) -> Result<Cell, StoreError> {
    if matches!(base.consequence, Some(Consequence::Error)) || base.status == Status::Unknown {
        return Ok(base.clone());
    }
    let Some((ref_id, refd)) = refs.get(ds, reference, kind, name)? else {
        return Ok(base.clone());
    };
    if ref_id == c.id {
        return Ok(base.clone());
    }
    let Some(img) = Lookup::new(ds, kind, name).get(c.id)? else {
        return Ok(base.clone());
    };
    let (Some(rs), Some(is)) = (shown(&refd, record), shown(&img, record)) else {
        return Ok(base.clone());
    };
    let from = ref_id.clone();
    let wr = word_of(ds, &ref_id);
    let judged = reads::judge(c.p, c.reads, &rs, wr, &is, c.word, &from).or_else(|| {
        reads::judge(c.p, c.chosen_reads, &rs, wr, &is, c.word, &from)
            .filter(|j| j.consequence.is_some())
            .map(|j| loader_chooses(&j))
    });
    Ok(match judged {
        None => base.clone(),
        Some(j) => {
            let detail = if base.detail.is_empty() {
                j.detail.clone()
            } else {
                format!("{}; {}", j.detail, base.detail)
            };
            // The worse of the two (an error or stray read before missed calls).
            if j.rank() <= base.rank() {
                Cell { detail, ..j }
            } else {
                Cell {
                    detail,
                    ..base.clone()
                }
            }
        }
    })
}

/// The verdict of one program in one image from its dependencies' cells.
fn verdict(id: &str, names: &Names, cells: &[(&Dependency, &Cell)]) -> Verdict {
    let (mut e, mut s, mut m, mut u) = (0, 0, 0, 0);
    let mut because = Vec::new();
    let line = |d: &Dependency, c: &Cell| format!("{} {}: {}", d.kind(), names.label(d), c.detail);
    for (d, c) in cells {
        match c.consequence {
            Some(Consequence::Error) => {
                e += 1;
                because.push(line(d, c));
            }
            Some(Consequence::StrayRead) => s += 1,
            Some(Consequence::MissingInvocation) => m += 1,
            _ if c.status == Status::Unknown => u += 1,
            _ => {}
        }
    }
    if e == 0 {
        for (d, c) in cells {
            if c.consequence.is_some() {
                because.push(line(d, c));
            }
        }
    }
    because.truncate(3);
    Verdict {
        image: id.to_string(),
        verdict: verdict_text(e, s, m).to_string(),
        errors: e,
        stray_reads: s,
        missing_invocations: m,
        unknown: u,
        because,
        turn_off: Vec::new(),
    }
}

fn verdict_text(e: usize, s: usize, m: usize) -> &'static str {
    if e > 0 {
        "fails"
    } else if s > 0 && m > 0 {
        "loads with stray reads and missed calls"
    } else if s > 0 {
        "loads with stray reads"
    } else if m > 0 {
        "loads, misses calls"
    } else {
        "loads"
    }
}

/// The object's verdict in one image: it loads when every program the loader loads does
/// (those chosen with `--program`, else those libbpf loads by default: not `?` sections);
/// else, when nothing object-wide fails and each failing program has an alternative that
/// loads, it loads with alternatives (the failing ones turned off).
fn object_verdict(
    ii: usize,
    id: &str,
    programs: &[ProgramCheck],
    groups: &[Vec<usize>],
    rows: &[Row],
    chosen: bool,
) -> Verdict {
    let checked: Vec<usize> = (0..programs.len())
        .filter(|&p| programs[p].checked && (chosen || programs[p].program.autoload))
        .collect();
    let any_checked: Vec<usize> = (0..programs.len())
        .filter(|&p| programs[p].checked)
        .collect();
    let pv = |p: usize| &programs[p].verdicts[ii];
    let failing: Vec<usize> = checked
        .iter()
        .copied()
        .filter(|&p| pv(p).errors > 0)
        .collect();
    let count = |f: fn(&Verdict) -> usize, ps: &[usize]| ps.iter().map(|&p| f(pv(p))).sum();
    let unknown = rows
        .iter()
        .filter(|r| r.cells.get(id).is_some_and(|c| c.status == Status::Unknown))
        .count();
    let object_error = rows.iter().any(|r| {
        r.object_wide
            && r.cells
                .get(id)
                .is_some_and(|c| c.consequence == Some(Consequence::Error))
    });
    let loading: Vec<usize> = any_checked
        .iter()
        .copied()
        .filter(|&p| pv(p).errors == 0)
        .collect();
    let mut because: Vec<String> = Vec::new();
    let (verdict, turn_off) = if failing.is_empty() {
        let s = count(|v| v.stray_reads, &checked);
        let m = count(|v| v.missing_invocations, &checked);
        (verdict_text(0, s, m).to_string(), Vec::new())
    } else {
        let covered = !object_error
            && checked.iter().all(|&p| {
                !failing.contains(&p)
                    || groups
                        .iter()
                        .find(|g| g.contains(&p))
                        .is_some_and(|g| g.iter().any(|q| loading.contains(q)))
            });
        if covered {
            (
                "loads with alternatives".to_string(),
                failing
                    .iter()
                    .map(|&p| programs[p].program.name.clone())
                    .collect(),
            )
        } else {
            ("fails".to_string(), Vec::new())
        }
    };
    for &p in failing.iter().chain(&loading) {
        for b in &pv(p).because {
            let line = format!("{}: {b}", programs[p].program.name);
            if !because.contains(&line) {
                because.push(line);
            }
        }
    }
    because.truncate(3);
    Verdict {
        image: id.to_string(),
        verdict,
        errors: count(|v| v.errors, &checked),
        stray_reads: count(|v| v.stray_reads, &checked),
        missing_invocations: count(|v| v.missing_invocations, &checked),
        unknown,
        because,
        turn_off,
    }
}

/// The instructions of the object's CO-RE relocations (other than existence checks) that
/// fail on one image, each judged alone as libbpf does.
fn failing_relocations(
    ds: &Dataset,
    obj: &BpfObject,
    id: &str,
    live: Option<&Live>,
) -> Result<HashSet<Loc>, StoreError> {
    let mut out = HashSet::new();
    for r in obj.core_relos.iter().filter(|r| !r.guard) {
        let Some(sec) = obj.code.section(&r.section) else {
            continue;
        };
        let dep = Dependency {
            target: r.target.clone(),
            guard: false,
            relos: vec![r.kind.to_string()],
            origins: Vec::new(),
        };
        if facts::resolve(ds, &dep, id, live)?.consequence == Some(Consequence::Error) {
            out.insert(Loc {
                sec,
                insn: r.insn as usize,
            });
        }
    }
    Ok(out)
}

/// What each extern and existence check is worth on one image, for the walk.
fn env(
    ds: &Dataset,
    obj: &BpfObject,
    id: &str,
    deps: &[Dependency],
    base: &[Cell],
) -> Result<Env, StoreError> {
    let mut env = Env {
        lazy_globals: version_of(ds, id).is_some_and(|v| v >= (6, 8)),
        rodata_as_compiled: true,
        ..Env::default()
    };
    for r in &obj.core_relos {
        let Some(sec) = obj.code.section(&r.section) else {
            continue;
        };
        if !matches!(
            r.kind,
            "field_exists" | "type_exists" | "enumval_exists" | "type_matches"
        ) {
            env.relocated.insert(Loc {
                sec,
                insn: r.insn as usize,
            });
            continue;
        }
        let dep = Dependency {
            target: r.target.clone(),
            guard: true,
            relos: Vec::new(),
            origins: Vec::new(),
        };
        let c = facts::resolve(ds, &dep, id, None)?;
        let value = match c.status {
            Status::GuardFalse | Status::Absent => 0,
            Status::Unknown => continue,
            _ => 1,
        };
        env.patched.insert(
            Loc {
                sec,
                insn: r.insn as usize,
            },
            value,
        );
    }
    for e in &obj.externs {
        let value = match e.kind {
            ExternKind::Kfunc | ExternKind::Ksym => deps
                .iter()
                .zip(base)
                .find(|(d, _)| {
                    matches!(&d.target, Target::Kfunc { name, .. } | Target::Ksym { name, .. }
                        if *name == e.name)
                })
                .and_then(|(_, c)| match c.status {
                    Status::Unknown => None,
                    Status::Absent | Status::GuardFalse => Some(Ext::Address { present: false }),
                    _ => Some(Ext::Address { present: true }),
                }),
            ExternKind::Kconfig => {
                let name = e.name.trim_start_matches("CONFIG_");
                if !ds.has_kind(id, Kind::Config) {
                    None
                } else {
                    Some(Ext::Value(
                        match Lookup::new(ds, Kind::Config, name).get(id)? {
                            Some(Def::Config(v)) => config_value(&v),
                            _ => 0,
                        },
                    ))
                }
            }
            ExternKind::Libbpf => libbpf_value(ds, id, &e.name).map(Ext::Value),
        };
        if let Some(v) = value {
            env.externs.insert(e.name.clone(), v);
        }
    }
    Ok(env)
}

/// A `__kconfig` value as libbpf gives it: `y` 1, `m` 2, `n` 0, numbers as numbers.
fn config_value(v: &str) -> i64 {
    match v {
        "y" => 1,
        "m" => 2,
        "n" => 0,
        _ => {
            let t = v.trim_matches('"');
            match t.strip_prefix("0x") {
                Some(h) => i64::from_str_radix(h, 16).unwrap_or(0),
                None => t.parse().unwrap_or(0),
            }
        }
    }
}

/// The values libbpf computes itself for the externs it knows.
fn libbpf_value(ds: &Dataset, id: &str, name: &str) -> Option<i64> {
    let m = ds.images().iter().find(|m| m.id == id)?;
    let v = m.version.as_deref().or(m.release.as_deref())?;
    let mut it = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let major: i64 = it.next()?.parse().ok()?;
    let minor: i64 = it.next()?.parse().ok()?;
    let patch: i64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    Some(match name {
        "LINUX_KERNEL_VERSION" => (major << 16) | (minor << 8) | patch.min(255),
        // bpf_get_attach_cookie() arrived in 5.15.
        "LINUX_HAS_BPF_COOKIE" => i64::from((major, minor) >= (5, 15)),
        // libbpf looks for the architecture's wrapper of a syscall (`__x64_sys_bpf`).
        "LINUX_HAS_SYSCALL_WRAPPER" => {
            if !ds.has_kind(id, Kind::Func) {
                return None;
            }
            let slot = ds.slot(id)?;
            let wrapped = [
                "__x64_sys_bpf",
                "__ia32_sys_bpf",
                "__arm64_sys_bpf",
                "__s390x_sys_bpf",
                "__riscv_sys_bpf",
                "__powerpc_sys_bpf",
            ]
            .iter()
            .any(|n| {
                ds.store()
                    .def_id(slot, Kind::Func, n)
                    .ok()
                    .flatten()
                    .is_some()
            });
            i64::from(wrapped)
        }
        _ => return None,
    })
}

/// A key that is equal for two images exactly when their walks are equal.
fn fingerprint(env: &Env) -> String {
    let mut p: Vec<_> = env
        .patched
        .iter()
        .map(|(l, v)| (l.sec, l.insn, *v))
        .collect();
    p.sort_unstable();
    let mut e: Vec<_> = env
        .externs
        .iter()
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    e.sort_unstable();
    format!("{:?}|{}|{}", p, e.join(","), env.lazy_globals)
}

/// The image whose definitions of functions, tracepoints and LSM hooks stand for what the
/// object was built for: the dataset's default image.
struct Reference {
    image: Option<String>,
}

impl Reference {
    fn new(ds: &Dataset) -> Reference {
        let d = &ds.manifest.default;
        let image = if ds.images().iter().any(|m| &m.id == d) {
            Some(d.clone())
        } else {
            ds.images().first().map(|m| m.id.clone())
        };
        Reference { image }
    }

    fn describe(&self) -> String {
        match &self.image {
            Some(i) => format!(
                "{i} (the dataset's default image, taken as the kernel the object was built \
                 for, where its own BTF does not describe the item)"
            ),
            None => "none".into(),
        }
    }
}

/// Reference definitions, cached by (kind, name).
#[derive(Default)]
struct RefDefs {
    cache: HashMap<(Kind, String), Option<(String, Def)>>,
}

impl RefDefs {
    /// The reference definition of an item and the image it comes from: the reference
    /// image's, else (an item it lacks) that of the image nearest to it in version (the
    /// older of two as near) that has it.
    fn get(
        &mut self,
        ds: &Dataset,
        reference: &Reference,
        kind: Kind,
        name: &str,
    ) -> Result<Option<(String, Def)>, StoreError> {
        let key = (kind, name.to_string());
        if let Some(v) = self.cache.get(&key) {
            return Ok(v.clone());
        }
        let mut look = Lookup::new(ds, kind, name);
        let mut found = None;
        if let Some(r) = &reference.image
            && let Some(d) = look.get(r)?
        {
            found = Some((r.clone(), d));
        }
        if found.is_none() {
            let at =
                |v: Option<(u32, u32)>| v.map_or(0, |(a, b)| i64::from(a) * 1000 + i64::from(b));
            let origin = at(reference.image.as_deref().and_then(|r| version_of(ds, r)));
            let mut ids: Vec<(i64, i64, String)> = ds
                .images()
                .iter()
                .map(|m| {
                    let v = at(version_of(ds, &m.id));
                    ((v - origin).abs(), v, m.id.clone())
                })
                .collect();
            ids.sort();
            for (_, _, id) in &ids {
                if let Some(d) = look.get(id)? {
                    found = Some((id.clone(), d));
                    break;
                }
            }
        }
        self.cache.insert(key, found.clone());
        Ok(found)
    }
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
                for (n, v) in facts::enum_values(ds, &m.id, e)?.unwrap_or_default() {
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

/// The part of a definition a program reads: a prototype, or a tracepoint's record.
fn shown<'a>(d: &'a Def, record: bool) -> Option<Shown<'a>> {
    Some(match d {
        Def::Func(p) => Shown::Proto(p),
        Def::Tracepoint { event, func, .. } => {
            if record {
                Shown::Record(event.as_ref()?)
            } else {
                Shown::Proto(func.as_ref()?)
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(types: &[(&str, &[u32])]) -> HelperTable {
        HelperTable {
            allowed: types
                .iter()
                .map(|(t, ids)| (t.to_string(), ids.iter().copied().collect()))
                .collect(),
        }
    }

    #[test]
    fn helper_answers_follow_the_probed_table() {
        // 14 bpf_get_current_pid_tgid, 46 bpf_get_socket_cookie, 35 bpf_get_current_task.
        let t = table(&[("KPROBE", &[14, 35]), ("RAW_TRACEPOINT", &[14, 35])]);
        let h = Helpers {
            given: Some(&t),
            recorded: None,
        };
        assert_eq!(h.answer("KPROBE", 14), HelperAnswer::Allowed);
        assert_eq!(h.answer("RAW_TRACEPOINT", 46), HelperAnswer::Refused);
        // Tracing and LSM programs were not probed: what raw tracepoints allow, they allow;
        // anything else is unknown, not refused.
        assert_eq!(
            h.answer("TRACING", 35),
            HelperAnswer::AllowedAsRawTracepoint
        );
        assert_eq!(h.answer("LSM", 14), HelperAnswer::AllowedAsRawTracepoint);
        assert_eq!(h.answer("TRACING", 46), HelperAnswer::TypeNotProbed);
        assert_eq!(h.answer("XDP", 14), HelperAnswer::TypeNotProbed);
        let none = Helpers {
            given: None,
            recorded: None,
        };
        assert_eq!(none.answer("KPROBE", 14), HelperAnswer::NoTable);
    }
}
