//! Differences between two definitions of a dependency, with the change names of SPEC §4.
//!
//! Within one pair, changes come in the order reports list them: added items (in the new
//! order), removed items (in the old order), then type changes (in the old order); for
//! functions the reorder line comes after added and removed parameters and before type
//! changes, the return type last. `Layout changed` is depsurf's addition: an offset or size
//! moved with no named change to explain it.

pub mod images;

use std::collections::HashMap;

use depsurf_surface::{Composite, ctext};
use depsurf_surface::{Enum, Item, Member, Param, Proto, Tracepoint, TypeRef};
use serde::Serialize;

/// One named change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change")]
pub enum Change {
    #[serde(rename = "Field added")]
    FieldAdded { field: Member },
    #[serde(rename = "Field removed")]
    FieldRemoved { field: Member },
    #[serde(rename = "Field type changed")]
    FieldTypeChanged { old: Member, new: Member },
    #[serde(rename = "Param added")]
    ParamAdded { param: Param },
    #[serde(rename = "Param removed")]
    ParamRemoved { param: Param },
    #[serde(rename = "Param reordered")]
    ParamReordered { old: Vec<String>, new: Vec<String> },
    #[serde(rename = "Param type changed")]
    ParamTypeChanged { old: Param, new: Param },
    #[serde(rename = "Return type changed")]
    ReturnTypeChanged { old: TypeRef, new: TypeRef },
    #[serde(rename = "Value added")]
    ValueAdded { name: String, value: i64 },
    #[serde(rename = "Value removed")]
    ValueRemoved { name: String, value: i64 },
    #[serde(rename = "Value changed")]
    ValueChanged { name: String, old: i64, new: i64 },
    #[serde(rename = "Config changed")]
    ConfigChanged { old: String, new: String },
    #[serde(rename = "Layout changed")]
    LayoutChanged { what: String },
    /// A tracepoint's struct `trace_event_raw_<class>` changed: the struct's changes.
    #[serde(rename = "Event changed")]
    EventChanged {
        #[serde(rename = "struct")]
        name: String,
        changes: Vec<Change>,
    },
    /// A tracepoint's function `trace_event_raw_event_<class>` changed: the function's
    /// changes.
    #[serde(rename = "Func changed")]
    FuncChanged { func: String, changes: Vec<Change> },
    /// A tracepoint's `print_fmt` changed (detail: the text shown by tracefs, not what a
    /// program reads).
    #[serde(rename = "Format changed")]
    FormatChanged { old: String, new: String },
}

/// What a change means for an eBPF program that depends on the item (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Consequence {
    /// Fails to load or attach.
    Error,
    /// Loads, reads the wrong data.
    StrayRead,
    /// Attaches, misses calls.
    MissingInvocation,
    /// No consequence by itself (CO-RE relocates offsets; values are data).
    None,
}

impl Change {
    /// The exact change name of SPEC §4.
    pub fn name(&self) -> &'static str {
        match self {
            Change::FieldAdded { .. } => "Field added",
            Change::FieldRemoved { .. } => "Field removed",
            Change::FieldTypeChanged { .. } => "Field type changed",
            Change::ParamAdded { .. } => "Param added",
            Change::ParamRemoved { .. } => "Param removed",
            Change::ParamReordered { .. } => "Param reordered",
            Change::ParamTypeChanged { .. } => "Param type changed",
            Change::ReturnTypeChanged { .. } => "Return type changed",
            Change::ValueAdded { .. } => "Value added",
            Change::ValueRemoved { .. } => "Value removed",
            Change::ValueChanged { .. } => "Value changed",
            Change::ConfigChanged { .. } => "Config changed",
            Change::LayoutChanged { .. } => "Layout changed",
            Change::EventChanged { .. } => "Event changed",
            Change::FuncChanged { .. } => "Func changed",
            Change::FormatChanged { .. } => "Format changed",
        }
    }

    /// The changes nested in this one (a tracepoint's struct or function changes).
    pub fn nested(&self) -> &[Change] {
        match self {
            Change::EventChanged { changes, .. } | Change::FuncChanged { changes, .. } => changes,
            _ => &[],
        }
    }

    pub fn consequence(&self) -> Consequence {
        match self {
            Change::ParamAdded { .. }
            | Change::ParamRemoved { .. }
            | Change::ParamReordered { .. }
            | Change::ParamTypeChanged { .. }
            | Change::ReturnTypeChanged { .. }
            | Change::FieldTypeChanged { .. } => Consequence::StrayRead,
            Change::EventChanged { changes, .. } | Change::FuncChanged { changes, .. } => changes
                .iter()
                .map(Change::consequence)
                .min()
                .unwrap_or(Consequence::None),
            _ => Consequence::None,
        }
    }

    /// What changed, as code: the item, or `old ➡️ new` for changes of a type or value.
    /// Each part is returned separately so renderers can wrap them.
    pub fn parts(&self) -> (String, Option<String>) {
        let member = ctext::member_decl;
        let param = |p: &Param| ctext::decl(&p.ty, &p.name);
        match self {
            Change::FieldAdded { field } | Change::FieldRemoved { field } => (member(field), None),
            Change::FieldTypeChanged { old, new } => (member(old), Some(member(new))),
            Change::ParamAdded { param: p } | Change::ParamRemoved { param: p } => (param(p), None),
            Change::ParamReordered { old, new } => (old.join(", "), Some(new.join(", "))),
            Change::ParamTypeChanged { old, new } => (param(old), Some(param(new))),
            Change::ReturnTypeChanged { old, new } => {
                (ctext::type_text(old), Some(ctext::type_text(new)))
            }
            Change::ValueAdded { name, value } | Change::ValueRemoved { name, value } => {
                (format!("{name} = {value}"), None)
            }
            Change::ValueChanged { name, old, new } => {
                (format!("{name} = {old}"), Some(format!("{name} = {new}")))
            }
            Change::ConfigChanged { old, new } => (old.clone(), Some(new.clone())),
            Change::LayoutChanged { what } => (what.clone(), None),
            Change::EventChanged { name, .. } => (format!("struct {name}"), None),
            Change::FuncChanged { func, .. } => (func.clone(), None),
            Change::FormatChanged { old, new } => {
                (old.replace('\n', "\\n"), Some(new.replace('\n', "\\n")))
            }
        }
    }
}

/// Changes between two tracepoints: their structs (`Event changed`), their functions
/// (`Func changed`), then their format strings (`Format changed`).
pub fn tracepoints(
    old: (&Tracepoint, Option<&Composite>, Option<&Proto>),
    new: (&Tracepoint, Option<&Composite>, Option<&Proto>),
) -> Vec<Change> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (old.1, new.1) {
        let changes = composites(a, b);
        if !changes.is_empty() {
            out.push(Change::EventChanged {
                name: new.0.struct_name(),
                changes,
            });
        }
    }
    if let (Some(a), Some(b)) = (old.2, new.2) {
        let changes = protos(a, b);
        if !changes.is_empty() {
            out.push(Change::FuncChanged {
                func: new.0.func_name(),
                changes,
            });
        }
    }
    if old.0.fmt != new.0.fmt {
        out.push(Change::FormatChanged {
            old: old.0.fmt.clone(),
            new: new.0.fmt.clone(),
        });
    }
    out
}

/// Changes between two struct or union definitions.
pub fn composites(old: &Composite, new: &Composite) -> Vec<Change> {
    let new_by: HashMap<&str, &Member> = new.members.iter().map(|m| (m.name.as_str(), m)).collect();
    let old_by: HashMap<&str, &Member> = old.members.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut out = Vec::new();
    for m in &new.members {
        if !old_by.contains_key(m.name.as_str()) {
            out.push(Change::FieldAdded { field: m.clone() });
        }
    }
    for m in &old.members {
        if !new_by.contains_key(m.name.as_str()) {
            out.push(Change::FieldRemoved { field: m.clone() });
        }
    }
    for m in &old.members {
        if let Some(n) = new_by.get(m.name.as_str())
            && (m.ty != n.ty || m.bitfield != n.bitfield)
        {
            out.push(Change::FieldTypeChanged {
                old: m.clone(),
                new: (*n).clone(),
            });
        }
    }
    if out.is_empty() && old != new {
        let mut what = Vec::new();
        if old.size != new.size {
            what.push(format!("size {} ➡️ {}", old.size, new.size));
        }
        for m in &old.members {
            if let Some(n) = new_by.get(m.name.as_str())
                && m.bit_offset != n.bit_offset
            {
                what.push(format!(
                    "{} at bit {} ➡️ {}",
                    m.name, m.bit_offset, n.bit_offset
                ));
            }
        }
        let old_order: Vec<&str> = old.members.iter().map(|m| m.name.as_str()).collect();
        let new_order: Vec<&str> = new.members.iter().map(|m| m.name.as_str()).collect();
        if what.is_empty() && old_order != new_order {
            what.push("members reordered".into());
        }
        if !what.is_empty() {
            out.push(Change::LayoutChanged {
                what: what.join(", "),
            });
        }
    }
    out
}

/// Parameters keyed by name; unnamed ones by position.
fn param_key(i: usize, p: &Param) -> String {
    if p.name.is_empty() {
        format!("#{i}")
    } else {
        p.name.clone()
    }
}

/// Changes between two prototypes (functions, LSM hooks, kfuncs).
pub fn protos(old: &Proto, new: &Proto) -> Vec<Change> {
    let ok: Vec<String> = old
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| param_key(i, p))
        .collect();
    let nk: Vec<String> = new
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| param_key(i, p))
        .collect();
    let mut out = Vec::new();
    for (k, p) in nk.iter().zip(&new.params) {
        if !ok.contains(k) {
            out.push(Change::ParamAdded { param: p.clone() });
        }
    }
    for (k, p) in ok.iter().zip(&old.params) {
        if !nk.contains(k) {
            out.push(Change::ParamRemoved { param: p.clone() });
        }
    }
    let common_old: Vec<&String> = ok.iter().filter(|k| nk.contains(k)).collect();
    let common_new: Vec<&String> = nk.iter().filter(|k| ok.contains(k)).collect();
    if common_old != common_new {
        out.push(Change::ParamReordered {
            old: common_old.iter().map(|s| s.to_string()).collect(),
            new: common_new.iter().map(|s| s.to_string()).collect(),
        });
    }
    for (k, p) in ok.iter().zip(&old.params) {
        if let Some(j) = nk.iter().position(|x| x == k)
            && new.params[j].ty != p.ty
        {
            out.push(Change::ParamTypeChanged {
                old: p.clone(),
                new: new.params[j].clone(),
            });
        }
    }
    if old.ret != new.ret {
        out.push(Change::ReturnTypeChanged {
            old: old.ret.clone(),
            new: new.ret.clone(),
        });
    }
    out
}

/// Changes between two enums.
pub fn enums(old: &Enum, new: &Enum) -> Vec<Change> {
    let ov: HashMap<&str, i64> = old.values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let nv: HashMap<&str, i64> = new.values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut out = Vec::new();
    for (n, v) in &new.values {
        if !ov.contains_key(n.as_str()) {
            out.push(Change::ValueAdded {
                name: n.clone(),
                value: *v,
            });
        }
    }
    for (n, v) in &old.values {
        if !nv.contains_key(n.as_str()) {
            out.push(Change::ValueRemoved {
                name: n.clone(),
                value: *v,
            });
        }
    }
    for (n, v) in &old.values {
        if let Some(&w) = nv.get(n.as_str())
            && w != *v
        {
            out.push(Change::ValueChanged {
                name: n.clone(),
                old: *v,
                new: w,
            });
        }
    }
    if out.is_empty() && old.size != new.size {
        out.push(Change::LayoutChanged {
            what: format!("size {} ➡️ {}", old.size, new.size),
        });
    }
    out
}

/// Changes between two definitions of the same item; empty when they are equal.
pub fn items(old: Item<'_>, new: Item<'_>) -> Vec<Change> {
    match (old, new) {
        (Item::Composite(a), Item::Composite(b)) => composites(a, b),
        (Item::Func(a), Item::Func(b)) => protos(a, b),
        (Item::Enum(a), Item::Enum(b)) => enums(a, b),
        (
            Item::Tracepoint {
                tp: a,
                event: ea,
                func: fa,
            },
            Item::Tracepoint {
                tp: b,
                event: eb,
                func: fb,
            },
        ) => tracepoints((a, ea, fa), (b, eb, fb)),
        (Item::Config(a), Item::Config(b)) if a != b => vec![Change::ConfigChanged {
            old: a.to_string(),
            new: b.to_string(),
        }],
        (Item::Field { member: a, .. }, Item::Field { member: b, .. }) => {
            if a.ty != b.ty || a.bitfield != b.bitfield {
                vec![Change::FieldTypeChanged {
                    old: a.clone(),
                    new: b.clone(),
                }]
            } else if a.bit_offset != b.bit_offset {
                vec![Change::LayoutChanged {
                    what: format!("{} at bit {} ➡️ {}", a.name, a.bit_offset, b.bit_offset),
                }]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
