//! The study's program tables (`depsurf check --format study`), computed: each object is a
//! program; its dependencies are the ones `check` reads from it (after `--map`, for the
//! programs `--program` chooses), in the study's kinds: the functions its kprobes and
//! trampolines attach to, the structs and fields its CO-RE relocations name, its tracepoints
//! and its system calls. Each dependency's state in each image of the dataset's Regular and
//! Arch groups comes from [`index::group_states`], the same as the index pages': absent,
//! changed within the group, and the function status issues. A dependency counts in a
//! column when it is so in at least one image. `depsurf_report::study` renders the result;
//! docs/study.md defines every column.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use depsurf_bpf::{BpfObject, Dependency, Target};
use depsurf_diff::Change;
use depsurf_report::history::Lookup;
use depsurf_report::index::{self, Column};
use depsurf_report::study::{Dep, LeftOut, Program, Study, TABLE, columns};
use depsurf_surface::model::Facet;
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};

use crate::{Options, Users, choose};

/// The structs a kprobe's context is read through on some architecture (what libbpf's
/// `PT_REGS_*` macros cast it to): the registers of the calling convention, not an interface
/// of the kernel, so the tables leave them and their fields out.
pub const REGISTER_STRUCTS: [&str; 3] = ["pt_regs", "user_pt_regs", "user_regs_struct"];

/// The groups whose images the tables cover.
pub const GROUPS: [&str; 2] = ["Regular", "Arch"];

#[derive(Debug)]
pub enum StudyError {
    Store(StoreError),
    /// The dataset has neither a Regular nor an Arch group.
    NoGroups(Vec<String>),
    /// A program asked for in the figure is not among the programs (or has no dependency of
    /// the tables' kinds).
    Figure {
        wanted: String,
        programs: Vec<String>,
    },
}

impl fmt::Display for StudyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StudyError::Store(e) => write!(f, "{e}"),
            StudyError::NoGroups(have) => write!(
                f,
                "the dataset has no Regular or Arch group, which the study's tables cover \
                 (its groups: {})",
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            ),
            StudyError::Figure { wanted, programs } => write!(
                f,
                "--figure {wanted}: no program of that name has a dependency of the tables' \
                 kinds; programs: {}",
                programs.join(", ")
            ),
        }
    }
}

impl std::error::Error for StudyError {}

impl From<StoreError> for StudyError {
    fn from(e: StoreError) -> Self {
        StudyError::Store(e)
    }
}

/// Whether a change counts as the study's Changed: a change of names or types. A field or
/// an event's struct that only moved (`Layout changed`: CO-RE relocates offsets) and a
/// tracepoint's format text (`Format changed`: what tracefs prints, not what a program
/// reads) do not.
pub fn counts_as_change(c: &Change) -> bool {
    match c {
        Change::LayoutChanged { .. } | Change::FormatChanged { .. } => false,
        Change::EventChanged { changes, .. } => changes.iter().any(counts_as_change),
        _ => true,
    }
}

/// A short name for an object: its file name without `.bpf.o` (or `.o`), or
/// `binary@offset` for one embedded in a binary, without the directories or the package
/// that hold it.
pub fn short_name(object: &str) -> String {
    let name = object.split(" [").next().unwrap_or(object);
    let name = name.rsplit(':').next().unwrap_or(name);
    let name = name.rsplit('/').next().unwrap_or(name);
    if name.contains('@') {
        return name.to_string();
    }
    name.strip_suffix(".bpf.o")
        .or_else(|| name.strip_suffix(".o"))
        .unwrap_or(name)
        .to_string()
}

/// What the tables make of one dependency: items of their kinds, or what is left out.
fn study_items(d: &Dependency, items: &mut Vec<(Kind, String)>, left: &mut Vec<String>) {
    match &d.target {
        Target::Kprobe { func } | Target::Trampoline { func } => {
            items.push((Kind::Func, func.clone()))
        }
        Target::KprobeMulti { glob } if !glob.contains(['*', '?']) => {
            items.push((Kind::Func, glob.clone()))
        }
        Target::KprobeMulti { .. } => left.push("kprobe.multi pattern".into()),
        Target::Tracepoint { event, .. } => items.push((Kind::Tracepoint, event.clone())),
        Target::Syscall { name } => items.push((Kind::Syscall, name.clone())),
        Target::Field { hops, .. } => {
            for h in hops {
                if h.owner.contains('.') || h.owner.starts_with('(') {
                    // A member of an anonymous struct or union type (`sock_common.skc_net`
                    // for the `possible_net_t` member `skc_net`): no item of its own in a
                    // dataset, as for check.
                    left.push("member of an anonymous struct or union type".into());
                } else if REGISTER_STRUCTS.contains(&h.owner.as_str()) {
                    left.push(format!("field of the register struct {}", h.owner));
                } else if h.owner_is_union {
                    left.push("union member".into());
                } else {
                    items.push((Kind::Struct, h.owner.clone()));
                    items.push((Kind::Field, format!("{}::{}", h.owner, h.field)));
                }
            }
        }
        Target::Type { name, btf_kind, .. } if btf_kind == "struct" => {
            if REGISTER_STRUCTS.contains(&name.as_str()) {
                left.push(format!("register struct {name}"));
            } else {
                items.push((Kind::Struct, name.clone()));
            }
        }
        Target::Type { btf_kind, .. } => left.push(format!("CO-RE {btf_kind} type")),
        Target::StructOps { name } => items.push((Kind::Struct, name.clone())),
        Target::Lsm { .. } => left.push("LSM hook".into()),
        Target::Iter { .. } => left.push("iterator".into()),
        _ => left.push(d.kind().to_string()),
    }
}

/// The target a `--map NAME=` entry took away.
fn placeholder(d: &Dependency) -> Option<&str> {
    match &d.target {
        Target::Kprobe { func } | Target::Trampoline { func } => Some(func),
        Target::KprobeMulti { glob } => Some(glob),
        Target::Tracepoint { event, .. } => Some(event),
        Target::Syscall { name } | Target::Iter { name } => Some(name),
        Target::Lsm { hook } => Some(hook),
        _ => None,
    }
}

/// The study's tables for `objs` against `ds`: the dependencies of the programs `opts`
/// chooses (`--program`), after `--map`; `figure` names the programs of the figure (every
/// program with an issue when empty).
pub fn study(
    ds: &Dataset,
    objs: &[BpfObject],
    opts: &Options,
    figure: &[String],
) -> Result<Study, StudyError> {
    let groups: Vec<_> = GROUPS
        .iter()
        .filter_map(|n| ds.manifest.groups.iter().find(|g| g.name == *n))
        .collect();
    if groups.is_empty() {
        return Err(StudyError::NoGroups(
            ds.manifest.groups.iter().map(|g| g.name.clone()).collect(),
        ));
    }
    let images: Vec<Column> = groups
        .iter()
        .flat_map(|g| {
            g.images.iter().map(|l| Column {
                group: g.name.clone(),
                image: l.image.clone(),
                label: l.label.clone(),
            })
        })
        .collect();
    let arch_reference = groups
        .iter()
        .find(|g| g.name == "Arch")
        .and_then(|g| g.reference.as_ref())
        .map(|r| r.label.clone());
    let mut no_func_status = Vec::new();
    for c in &images {
        if !ds.has_facet(&c.image, Facet::FuncStatus)? {
            no_func_status.push(c.label.clone());
        }
    }

    // Each object's items, and who uses each item.
    let mut names: Vec<String> = objs.iter().map(|o| short_name(&o.name)).collect();
    for i in 0..names.len() {
        if names.iter().filter(|n| **n == names[i]).count() > 1 {
            names[i] = objs[i].name.clone();
        }
    }
    let mut users: BTreeMap<(usize, String), BTreeSet<usize>> = BTreeMap::new();
    let mut left: BTreeMap<String, BTreeSet<(String, Target)>> = BTreeMap::new();
    let mut placeholders: BTreeSet<String> = BTreeSet::new();
    let order = |k: Kind| {
        TABLE
            .iter()
            .position(|(t, _)| *t == k)
            .unwrap_or(usize::MAX)
    };
    for (oi, obj) in objs.iter().enumerate() {
        for d in &obj.deps {
            if crate::rename(d, &opts.map).is_none()
                && let Some(p) = placeholder(d)
            {
                placeholders.insert(p.to_string());
            }
        }
        let chosen = choose(obj, opts);
        for (d, u) in chosen.deps.iter().zip(&chosen.users) {
            let used = match u {
                Users::Object => chosen.checked.iter().any(|c| *c),
                Users::Programs(ps) => ps.iter().any(|&p| chosen.checked[p]),
            };
            if !used {
                continue;
            }
            let (mut items, mut why) = (Vec::new(), Vec::new());
            study_items(d, &mut items, &mut why);
            for (k, n) in items {
                users.entry((order(k), n)).or_default().insert(oi);
            }
            for w in why {
                left.entry(w)
                    .or_default()
                    .insert((names[oi].clone(), d.target.clone()));
            }
        }
    }

    // Each unique dependency's states, image by image.
    let mut deps = Vec::with_capacity(users.len());
    let mut index_of: BTreeMap<(usize, String), usize> = BTreeMap::new();
    for ((ki, name), objs_using) in &users {
        let kind = TABLE[*ki].0;
        let mut look = Lookup::new(ds, kind, name);
        let mut states = Vec::with_capacity(images.len());
        for g in &groups {
            states.extend(index::group_states(
                ds,
                &mut look,
                kind,
                g,
                &counts_as_change,
            )?);
        }
        index_of.insert((*ki, name.clone()), deps.len());
        deps.push(Dep {
            kind,
            name: name.clone(),
            states,
            programs: objs_using.iter().map(|&o| names[o].clone()).collect(),
        });
    }

    let cols = columns();
    let count = |ds_of: &mut dyn Iterator<Item = &Dep>| -> Vec<usize> {
        let ds_of: Vec<&Dep> = ds_of.collect();
        cols.iter()
            .map(|(k, m)| ds_of.iter().filter(|d| d.kind == *k && d.has(*m)).count())
            .collect()
    };
    let mut programs = Vec::new();
    let mut without = Vec::new();
    for (oi, obj) in objs.iter().enumerate() {
        let mine: Vec<usize> = users
            .iter()
            .filter(|(_, os)| os.contains(&oi))
            .map(|(key, _)| index_of[key])
            .collect();
        if mine.is_empty() {
            without.push(names[oi].clone());
            continue;
        }
        let counts = count(&mut mine.iter().map(|&i| &deps[i]));
        programs.push(Program {
            name: names[oi].clone(),
            object: obj.name.clone(),
            deps: mine,
            counts,
        });
    }
    // The study's order: by the counts, column after column, largest first.
    programs.sort_by(|a, b| b.counts.cmp(&a.counts).then_with(|| a.name.cmp(&b.name)));
    let unique = count(&mut deps.iter());
    let with = (0..cols.len())
        .map(|c| programs.iter().filter(|p| p.counts[c] > 0).count())
        .collect();

    let figure = if figure.is_empty() {
        (0..programs.len())
            .filter(|&i| programs[i].deps.iter().any(|&d| deps[d].has_issue()))
            .collect()
    } else {
        let mut chosen: Vec<usize> = Vec::new();
        for w in figure {
            // A program by its name, its object's, or its binary's (every object it embeds).
            let found: Vec<usize> = (0..programs.len())
                .filter(|&i| {
                    let p = &programs[i];
                    p.name == *w || p.object == *w || p.name.split('@').next() == Some(w)
                })
                .collect();
            if found.is_empty() {
                return Err(StudyError::Figure {
                    wanted: w.clone(),
                    programs: programs.iter().map(|p| p.name.clone()).collect(),
                });
            }
            for i in found {
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
        }
        chosen
    };

    Ok(Study {
        dataset: ds.manifest.name.clone(),
        images,
        arch_reference,
        no_func_status,
        deps,
        programs,
        without,
        unique,
        with,
        left_out: LeftOut {
            kinds: left.into_iter().map(|(w, s)| (w, s.len())).collect(),
            placeholders: placeholders.into_iter().collect(),
        },
        figure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_name("/tmp/x/attach_kinds.bpf.o"), "attach_kinds");
        assert_eq!(short_name("prog.o"), "prog");
        assert_eq!(
            short_name("/d/xdp-tools_1.5.4-1_amd64.deb:usr/sbin/xdp-bench@0x1a2b [a, b]"),
            "xdp-bench@0x1a2b"
        );
        assert_eq!(
            short_name("pkg.deb:usr/lib/bpf/foo.bpf.o"),
            "foo",
            "an object file inside a package"
        );
    }

    fn dep(target: Target) -> Dependency {
        Dependency {
            target,
            guard: false,
            relos: Vec::new(),
            origins: Vec::new(),
        }
    }

    fn hop(owner: &str, field: &str, union: bool) -> depsurf_bpf::Hop {
        depsurf_bpf::Hop {
            owner: owner.into(),
            owner_is_union: union,
            field: field.into(),
            local: depsurf_surface::model::TypeRef::Void,
        }
    }

    #[test]
    fn what_the_tables_count_of_a_dependency() {
        let items_of = |t: Target| {
            let (mut items, mut left) = (Vec::new(), Vec::new());
            study_items(&dep(t), &mut items, &mut left);
            (items, left)
        };
        let (items, left) = items_of(Target::Field {
            hops: vec![
                hop("task_struct", "mm", false),
                hop("mm_struct", "exe_file", false),
                hop("pt_regs", "di", false),
                hop("sock_common.skc_net", "net", false),
                hop("bpf_attr", "map_type", true),
            ],
        });
        assert_eq!(
            items,
            [
                (Kind::Struct, "task_struct".to_string()),
                (Kind::Field, "task_struct::mm".to_string()),
                (Kind::Struct, "mm_struct".to_string()),
                (Kind::Field, "mm_struct::exe_file".to_string()),
            ]
        );
        assert_eq!(
            left,
            [
                "field of the register struct pt_regs",
                "member of an anonymous struct or union type",
                "union member",
            ]
        );
        let (items, _) = items_of(Target::KprobeMulti {
            glob: "vfs_read".into(),
        });
        assert_eq!(items, [(Kind::Func, "vfs_read".to_string())]);
        let (items, left) = items_of(Target::KprobeMulti {
            glob: "vfs_*".into(),
        });
        assert!(items.is_empty());
        assert_eq!(left, ["kprobe.multi pattern"]);
        let (items, _) = items_of(Target::Tracepoint {
            system: "sched".into(),
            event: "sched_switch".into(),
        });
        assert_eq!(items, [(Kind::Tracepoint, "sched_switch".to_string())]);
        let (items, left) = items_of(Target::Lsm {
            hook: "file_open".into(),
        });
        assert!(items.is_empty());
        assert_eq!(left, ["LSM hook"]);
    }

    #[test]
    fn layout_and_format_are_not_changes() {
        let layout = Change::LayoutChanged { what: "x".into() };
        let fmt = Change::FormatChanged {
            old: "a".into(),
            new: "b".into(),
        };
        assert!(!counts_as_change(&layout));
        assert!(!counts_as_change(&fmt));
        let event_moved = Change::EventChanged {
            name: "trace_event_raw_x".into(),
            changes: vec![layout.clone()],
        };
        assert!(!counts_as_change(&event_moved));
        let other = Change::ConfigChanged {
            old: "y".into(),
            new: "m".into(),
        };
        assert!(counts_as_change(&other));
        let event_typed = Change::EventChanged {
            name: "trace_event_raw_x".into(),
            changes: vec![layout, other],
        };
        assert!(counts_as_change(&event_typed));
    }
}
