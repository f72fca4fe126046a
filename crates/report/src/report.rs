//! The per-dependency report (SPEC §6): status in every image of every group, and the
//! differences within each group's pairs. [`build`] computes it; `markdown` renders the
//! research system's page byte for byte, `term` the terminal view; the [`Report`] itself
//! serialises to the JSON form (docs/report-schema.md).

use depsurf_diff::Change;
use depsurf_surface::FuncTrace;
use depsurf_surface::manifest::Labelled;
use depsurf_surface::model::FuncStatus;
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};
use serde::Serialize;

use crate::history::{Lookup, Snippet};

/// JSON schema version of [`Report`].
pub const REPORT_SCHEMA: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    /// `struct`, `union`, `field`, `enum`, `func`, `lsm`, `kfunc`, `config`.
    pub kind: Kind,
    pub name: String,
    pub groups: Vec<GroupReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupReport {
    pub name: String,
    pub status: Vec<Status>,
    /// `None` when no pair of the group has the item on either side (the group is left out
    /// of the Differences section).
    pub differences: Option<Vec<PairReport>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Present,
    Absent,
    /// The image's inputs could not tell (no BTF: its types are not extracted yet).
    Unknown,
}

#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub image: String,
    pub label: String,
    pub presence: Presence,
    /// Issues shown on the status line (function status: inlining, duplicates, ...).
    pub issues: Vec<String>,
    /// The definition as C text, when present.
    pub definition: Option<String>,
    /// The definition as the research pages print it (the Markdown report).
    #[serde(skip)]
    pub research: Vec<Snippet>,
    /// Function status (functions of images with DWARF): collision, inlining, instances,
    /// symbols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FuncStatus>,
    /// Functions only: whether ftrace can patch the function and whether kprobes refuse it
    /// (and why), `null` when the image's inputs could not tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceability: Option<Option<FuncTrace>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PairReport {
    pub old: Labelled,
    pub new: Labelled,
    pub state: PairState,
    pub changes: Vec<ChangeReport>,
}

/// What a pair of images shows of the item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PairState {
    Unchanged,
    Changed,
    /// Missing on either side: nothing to compare.
    Absent,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChangeReport {
    /// The change name of SPEC §4 (`Field added`, `Param reordered`, ...).
    pub name: &'static str,
    /// The item, or the old form for changes of a type or value.
    pub code: String,
    /// The new form, for changes of a type or value.
    pub new: Option<String>,
    /// `error`, `stray read`, `missing invocation`, or none.
    pub consequence: Option<&'static str>,
    /// The changes inside this one (a tracepoint's struct or function changes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<ChangeReport>,
    /// The structured change.
    pub detail: Change,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no {kind} named {name:?} in any image of the dataset{}", suggest_text(.suggestions))]
    NotFound {
        kind: &'static str,
        name: String,
        suggestions: Vec<String>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn suggest_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", s.join(", "))
    }
}

pub fn change_report(c: Change) -> ChangeReport {
    let (code, new) = c.parts();
    let nested = c.nested().iter().cloned().map(change_report).collect();
    ChangeReport {
        nested,
        name: c.name(),
        code,
        new,
        consequence: match c.consequence() {
            depsurf_diff::Consequence::Error => Some("error"),
            depsurf_diff::Consequence::StrayRead => Some("stray read"),
            depsurf_diff::Consequence::MissingInvocation => Some("missing invocation"),
            depsurf_diff::Consequence::None => None,
        },
        detail: c,
    }
}

/// Builds the report of `kind` `name` over every group of the dataset.
pub fn build(ds: &Dataset, kind: Kind, name: &str) -> Result<Report, ReportError> {
    let mut look = Lookup::new(ds, kind, name);
    let mut found = false;
    let mut groups = Vec::new();
    for g in ds.manifest.report_groups() {
        let mut status = Vec::new();
        for l in &g.images {
            let def = look.get(&l.image)?;
            let function = look.func_status(&l.image)?;
            // What an image has is present even where its inputs could not list all of the
            // kind (variables BTF types, without the symbols that list the rest).
            let presence = if def.is_some() || function.is_some() {
                Presence::Present
            } else if !ds.has_kind(&l.image, kind) {
                Presence::Unknown
            } else {
                Presence::Absent
            };
            let traceability = (kind == Kind::Func && ds.has_kind(&l.image, kind))
                .then(|| ds.traceability(&l.image, look.name()))
                .transpose()?;
            found |= def.is_some() || function.is_some();
            status.push(Status {
                image: l.image.clone(),
                label: l.label.clone(),
                presence,
                issues: function
                    .as_ref()
                    .map(|f| f.issues().into_iter().map(str::to_string).collect())
                    .unwrap_or_default(),
                definition: def.as_ref().map(|d| d.text(kind, look.name())),
                research: def
                    .as_ref()
                    .map(|d| d.research_snippets(kind, look.name()))
                    .unwrap_or_default(),
                function,
                traceability,
            });
        }
        let mut any = false;
        let mut pairs = Vec::new();
        for (a, b) in g.pairs() {
            let (ha, hb) = (look.get(&a.image)?.is_some(), look.get(&b.image)?.is_some());
            any |= ha || hb;
            found |= ha || hb;
            let (state, changes) = match look.changes(&a.image, &b.image)? {
                None => (PairState::Absent, Vec::new()),
                Some(c) if c.is_empty() => (PairState::Unchanged, Vec::new()),
                Some(c) => (
                    PairState::Changed,
                    c.into_iter().map(change_report).collect(),
                ),
            };
            pairs.push(PairReport {
                old: a.clone(),
                new: b.clone(),
                state,
                changes,
            });
        }
        groups.push(GroupReport {
            name: g.name.clone(),
            status,
            differences: any.then_some(pairs),
        });
    }
    // Not found where the kind is known, and known everywhere: no such item. Where some
    // image cannot tell, the report says unknown there.
    if !found && !present_anywhere(ds, kind, look.name())? && ds.unknown_in(kind).is_empty() {
        return Err(ReportError::NotFound {
            kind: kind.as_str(),
            name: name.to_string(),
            suggestions: crate::suggest::suggest(ds, kind, name)?,
        });
    }
    Ok(Report {
        schema: REPORT_SCHEMA,
        kind,
        name: look.name().to_string(),
        groups,
    })
}

/// Whether any image (in a group or not) has the item.
fn present_anywhere(ds: &Dataset, kind: Kind, name: &str) -> Result<bool, StoreError> {
    let mut look = Lookup::new(ds, kind, name);
    for img in ds.images() {
        if look.get(&img.id)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A function's traceability in one image, for its status line: what ftrace and kprobes
/// allow, `unknown` when the image's inputs could not tell; nothing for other kinds.
pub fn trace_line(t: Option<&Option<FuncTrace>>) -> Option<String> {
    Some(match t? {
        Some(t) if t.symbol => {
            let mut line = t.summary();
            if let Some(b) = &t.base {
                line.push_str(&format!("; kprobes judge it by {b} too"));
            }
            line
        }
        Some(_) => "no function symbol: nothing attaches".to_string(),
        None => "traceability unknown".to_string(),
    })
}
