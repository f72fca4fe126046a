//! Differences between two whole images of a dataset, kind by kind: what was added,
//! removed and changed, and how many items have each change name. Computed from the stored
//! surfaces only: equal definition ids are equal definitions, so only the names whose ids
//! differ are decoded and compared. Kinds are compared in parallel. Functions are counted
//! by prototype, as the study counts them ([`FuncCount`]); the function status statistics
//! count every function name DWARF knows.

use std::collections::BTreeMap;

use depsurf_surface::store::StoreError;
use depsurf_surface::{Composite, Dataset, Item, Kind, Proto};
use rayon::prelude::*;
use serde::Serialize;

use crate::Change;

/// One kind's differences between two images.
#[derive(Clone, Debug, Serialize)]
pub struct KindDiff {
    #[serde(skip)]
    pub kind: Kind,
    /// Items in the old image and in the new one.
    pub old: usize,
    pub new: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// Change name → number of changed items that have it.
    pub changes: BTreeMap<&'static str, usize>,
    /// For functions, which functions the counts and lists cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted: Option<FuncCount>,
    #[serde(skip)]
    pub added_names: Vec<String>,
    #[serde(skip)]
    pub removed_names: Vec<String>,
    #[serde(skip)]
    pub changed_items: Vec<(String, Vec<Change>)>,
}

/// Which functions a whole-image diff compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FuncCount {
    /// Functions by prototype, as the study counts them: those with a definition in DWARF
    /// and a function symbol of exactly their name, which is what pahole encodes as BTF
    /// `FUNC` from DWARF (the study encodes every image's BTF from its DWARF). Functions
    /// inlined everywhere, or compiled only as clones (`foo.isra.0`), are left out.
    Prototypes,
    /// Every function the image's types list: an image without function status (no DWARF),
    /// whose functions are its BTF `FUNC`s when its types came from BTF.
    Listed,
}

impl FuncCount {
    /// What the count covers, in a sentence for readers.
    pub fn describe(self) -> &'static str {
        match self {
            FuncCount::Prototypes => {
                "functions are counted by prototype, as the study does: those with a definition \
                 in DWARF and a function symbol of their name (what pahole encodes as BTF \
                 `FUNC`); fully inlined functions are left out"
            }
            FuncCount::Listed => {
                "an image has no function status (no DWARF) to tell which functions have a \
                 symbol: its functions are every one its types list (its BTF `FUNC`s when its \
                 types came from BTF), the other image's are counted by prototype when known"
            }
        }
    }
}

/// Two images compared.
#[derive(Clone, Debug, Serialize)]
pub struct ImageDiff {
    pub old: String,
    pub new: String,
    #[serde(skip)]
    pub kinds: Vec<KindDiff>,
}

/// Kinds a whole-image diff covers (fields are inside their structs).
pub const KINDS: [Kind; 10] = Kind::ITEMS;

/// Compares images `old` and `new` for `kinds` (all of [`KINDS`] when empty).
pub fn diff_images(
    ds: &Dataset,
    old: &str,
    new: &str,
    kinds: &[Kind],
) -> Result<ImageDiff, StoreError> {
    let kinds: Vec<Kind> = if kinds.is_empty() {
        KINDS.to_vec()
    } else {
        kinds.to_vec()
    };
    let (Some(a), Some(b)) = (ds.slot(old), ds.slot(new)) else {
        return Err(StoreError::Corrupt(format!(
            "no image {} in the dataset",
            if ds.slot(old).is_none() { old } else { new }
        )));
    };
    let kinds = kinds
        .par_iter()
        .filter(|k| ds.has_kind(old, **k) && ds.has_kind(new, **k))
        .map(|&k| diff_kind(ds, (old, a), (new, b), k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ImageDiff {
        old: old.to_string(),
        new: new.to_string(),
        kinds,
    })
}

/// A definition decoded from the store, owned.
enum Def {
    Composite(Composite),
    Enum(depsurf_surface::Enum),
    Proto(Proto),
    Tracepoint {
        tp: depsurf_surface::Tracepoint,
        event: Option<Composite>,
        func: Option<Proto>,
    },
    Config(String),
    Presence,
}

impl Def {
    fn item(&self) -> Option<Item<'_>> {
        Some(match self {
            Def::Composite(c) => Item::Composite(c),
            Def::Enum(e) => Item::Enum(e),
            Def::Proto(p) => Item::Func(p),
            Def::Tracepoint { tp, event, func } => Item::Tracepoint {
                tp,
                event: event.as_ref(),
                func: func.as_ref(),
            },
            Def::Config(v) => Item::Config(v),
            Def::Presence => return None,
        })
    }
}

fn decode(ds: &Dataset, slot: usize, kind: Kind, id: u32) -> Result<Def, StoreError> {
    let store = ds.store();
    Ok(match kind {
        Kind::Struct | Kind::Union => Def::Composite(store.composite(id)?),
        Kind::Enum => Def::Enum(store.enumeration(id)?),
        Kind::Func | Kind::Lsm | Kind::Kfunc => Def::Proto(store.proto(id)?),
        Kind::Tracepoint => {
            let tp = store.tracepoint(id)?;
            let event = match store.def_id(slot, Kind::Struct, &tp.struct_name())? {
                Some(d) => Some(store.composite(d)?),
                None => None,
            };
            let func = match store.def_id(slot, Kind::Func, &tp.func_name())? {
                Some(d) => Some(store.proto(d)?),
                None => None,
            };
            Def::Tracepoint { tp, event, func }
        }
        Kind::Config => Def::Config(store.string(id)?),
        Kind::Syscall | Kind::Var | Kind::Field => Def::Presence,
    })
}

/// What moved in a composite whose members are otherwise unchanged.
fn layout(a: &Composite, b: &Composite) -> Option<Change> {
    if a.size != b.size {
        return Some(Change::LayoutChanged {
            what: format!("size {} ➡️ {}", a.size, b.size),
        });
    }
    a.members
        .iter()
        .find_map(|m| {
            let n = b.member(&m.name)?;
            (n.bit_offset != m.bit_offset)
                .then(|| format!("{} at bit {} ➡️ {}", m.name, m.bit_offset, n.bit_offset))
        })
        .map(|what| Change::LayoutChanged { what })
}

/// Keeps the functions of `entries` (sorted by name) that are in `keep` (sorted), when given.
fn only<'a>(entries: Vec<(&'a str, u32)>, keep: Option<&[&str]>) -> Vec<(&'a str, u32)> {
    match keep {
        None => entries,
        Some(keep) => entries
            .into_iter()
            .filter(|(n, _)| keep.binary_search(n).is_ok())
            .collect(),
    }
}

fn diff_kind(
    ds: &Dataset,
    (old_id, a): (&str, usize),
    (new_id, b): (&str, usize),
    kind: Kind,
) -> Result<KindDiff, StoreError> {
    let store = ds.store();
    let mut old = store.entries(a, kind)?;
    let mut new = store.entries(b, kind)?;
    let mut counted = None;
    if kind == Kind::Func {
        // By prototype on each side whose function status is known; an image without it
        // lists only what its types give (its BTF FUNCs when from BTF).
        let (pa, pb) = (ds.prototype_funcs(old_id)?, ds.prototype_funcs(new_id)?);
        counted = Some(if pa.is_some() && pb.is_some() {
            FuncCount::Prototypes
        } else {
            FuncCount::Listed
        });
        old = only(old, pa.as_deref());
        new = only(new, pb.as_deref());
    }
    let mut d = KindDiff {
        kind,
        old: old.len(),
        new: new.len(),
        added: 0,
        removed: 0,
        changed: 0,
        changes: BTreeMap::new(),
        counted,
        added_names: Vec::new(),
        removed_names: Vec::new(),
        changed_items: Vec::new(),
    };
    // Both lists are sorted by name: walk them together.
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                d.removed_names.push(old[i].0.to_string());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                d.added_names.push(new[j].0.to_string());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (name, x) = old[i];
                let y = new[j].1;
                i += 1;
                j += 1;
                // A tracepoint's id is its class, system and format: its struct and function
                // can change under an equal id.
                if x == y && kind != Kind::Tracepoint {
                    continue;
                }
                let (da, db) = (decode(ds, a, kind, x)?, decode(ds, b, kind, y)?);
                let mut changes = match (da.item(), db.item()) {
                    (Some(p), Some(q)) => crate::items(p, q),
                    _ => Vec::new(),
                };
                if changes.is_empty()
                    && let (Def::Composite(p), Def::Composite(q)) = (&da, &db)
                {
                    changes.extend(layout(p, q));
                }
                if changes.is_empty() {
                    continue;
                }
                let mut names: Vec<&'static str> = changes.iter().map(Change::name).collect();
                names.sort_unstable();
                names.dedup();
                for n in names {
                    *d.changes.entry(n).or_default() += 1;
                }
                d.changed_items.push((name.to_string(), changes));
            }
        }
    }
    d.added = d.added_names.len();
    d.removed = d.removed_names.len();
    d.changed = d.changed_items.len();
    Ok(d)
}
