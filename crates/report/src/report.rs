//! The per-dependency report (SPEC §6): status in every image of every group, and the
//! differences within each group's pairs. [`build`] computes it; [`markdown`] renders the
//! seed's format byte for byte; the [`Report`] itself serialises to the JSON form
//! (docs/report-schema.md).

use std::fmt::Write as _;

use depsurf_diff::Change;
use depsurf_surface::FuncTrace;
use depsurf_surface::manifest::Labelled;
use depsurf_surface::model::{Callers, FuncStatus};
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};
use serde::Serialize;

use crate::history::Lookup;

/// JSON schema version of [`Report`].
pub const REPORT_SCHEMA: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    /// `struct`, `union`, `field`, `enum`, `func`, `lsm`, `kfunc`, `config`.
    pub kind: &'static str,
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

#[derive(Clone, Debug, Serialize)]
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
    /// The same as the research pages print it (the Markdown report): bitfield members
    /// without their widths.
    #[serde(skip)]
    pub research_definition: Option<String>,
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
    /// `unchanged`, `changed`, or `absent` (missing on either side: nothing to compare).
    pub state: &'static str,
    pub changes: Vec<ChangeReport>,
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
                research_definition: def.as_ref().map(|d| d.research_text(kind, look.name())),
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
                None => ("absent", Vec::new()),
                Some(c) if c.is_empty() => ("unchanged", Vec::new()),
                Some(c) => ("changed", c.into_iter().map(change_report).collect()),
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
        kind: kind.as_str(),
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

/// How many instances and callers a function's details list before summarising.
const LIST_MAX: usize = 10;

fn names_list(c: &Callers) -> String {
    let mut s = c
        .names
        .iter()
        .take(LIST_MAX)
        .map(|n| format!("<code>{n}</code>"))
        .collect::<Vec<_>>()
        .join(", ");
    let shown = c.names.len().min(LIST_MAX) as u32;
    if c.count > shown && shown > 0 {
        s.push_str(&format!(" and {} more", c.count - shown));
    }
    s
}

/// The function-status details under a function's prototype.
fn function_details(o: &mut String, f: &FuncStatus) {
    let _ = writeln!(
        o,
        "<ul>\n<li>Collision: {}; inline: {}; transformation: {}</li>",
        f.collision.as_str(),
        f.inline.as_str(),
        if f.transformed() { "yes" } else { "none" }
    );
    for e in f.entries.iter().take(LIST_MAX) {
        let addr = if e.addr == 0 {
            "no out-of-line copy".to_string()
        } else {
            format!("at <code>{:#x}</code>", e.addr)
        };
        let _ = write!(
            o,
            "<li>{} definition at <code>{}</code> in <code>{}</code>, {addr}, {}; inlined into {}",
            if e.external { "Global" } else { "Static" },
            if e.loc.is_empty() { "?" } else { &e.loc },
            e.file,
            e.inline.as_str(),
            e.caller_inline.count,
        );
        let inl = names_list(&e.caller_inline);
        if !inl.is_empty() {
            let _ = write!(o, ": {inl}");
        }
        let _ = write!(o, "; called from {}", e.caller_func.count);
        let calls = names_list(&e.caller_func);
        if !calls.is_empty() {
            let _ = write!(o, ": {calls}");
        }
        o.push_str("</li>\n");
    }
    if f.entries.len() > LIST_MAX {
        let _ = writeln!(
            o,
            "<li>and {} more definitions</li>",
            f.entries.len() - LIST_MAX
        );
    }
    for y in &f.symbols {
        let _ = writeln!(
            o,
            "<li>Symbol <code>{}</code> at <code>{:#x}</code>–<code>{:#x}</code> ({}, {}, {} bytes)</li>",
            y.name,
            y.addr,
            y.addr.saturating_add(y.size),
            y.section,
            y.bind,
            y.size
        );
    }
    if f.symbols.is_empty() {
        o.push_str("<li>No symbol: the function exists only inlined</li>\n");
    }
    o.push_str("</ul>\n");
}

/// One change as a list item, with its nested changes as a list inside it.
fn change_item(o: &mut String, c: &ChangeReport) {
    let _ = write!(o, "<li>\n<b>{}. </b>\n<code>{}</code>", c.name, c.code);
    if let Some(n) = &c.new {
        let _ = write!(o, " ➡️ <code>{n}</code>");
    }
    if !c.nested.is_empty() {
        o.push_str("\n<ul>\n");
        for n in &c.nested {
            change_item(o, n);
        }
        o.push_str("</ul>");
    }
    o.push_str("\n</li>\n");
}

/// The report in the seed's Markdown format.
pub fn markdown(r: &Report) -> String {
    let kind = Kind::parse(r.kind).unwrap_or(Kind::Struct);
    let shown_name = match kind {
        Kind::Config => format!("CONFIG_{}", r.name),
        _ => r.name.clone(),
    };
    let lang = if matches!(kind, Kind::Config | Kind::Syscall) {
        "text"
    } else {
        "c"
    };
    let mut o = String::new();
    let _ = writeln!(o, "# {}: <code>{}</code>", kind.title(), shown_name);
    o.push_str("\n## Status\n");
    for g in &r.groups {
        let _ = writeln!(o, "<b>{}</b>\n<ul>", g.name);
        for s in &g.status {
            o.push_str("<li>\n");
            match (&s.presence, &s.research_definition) {
                (Presence::Present, def) if def.is_some() || s.function.is_some() => {
                    let verdict = if s.issues.is_empty() {
                        "✅".to_string()
                    } else {
                        format!("{} ⚠️", s.issues.join(", "))
                    };
                    let _ = writeln!(
                        o,
                        "<details>\n<summary>In <code>{}</code>: {verdict}</summary>\n",
                        s.label
                    );
                    if let Some(def) = def {
                        let _ = writeln!(o, "```{lang}\n{def}\n```");
                    }
                    if let Some(f) = &s.function {
                        function_details(&mut o, f);
                    }
                    o.push_str("</details>\n");
                }
                (Presence::Unknown, _) => {
                    let _ = writeln!(
                        o,
                        "In <code>{}</code>: Unknown (no types extracted for this image) ❔",
                        s.label
                    );
                }
                _ => {
                    let _ = writeln!(o, "In <code>{}</code>: Absent ⚠️", s.label);
                }
            }
            o.push_str("</li>\n");
        }
        o.push_str("</ul>\n");
    }
    o.push_str("\n## Differences\n");
    for g in &r.groups {
        let Some(pairs) = &g.differences else {
            continue;
        };
        let _ = writeln!(o, "<b>{}</b>\n<ul>", g.name);
        for p in pairs {
            match p.state {
                "unchanged" => {
                    let _ = writeln!(
                        o,
                        "<li>\nNo changes between <code>{}</code> and <code>{}</code> ✅\n</li>",
                        p.old.label, p.new.label
                    );
                }
                "changed" => {
                    let _ = writeln!(
                        o,
                        "<li>\n<details>\n<summary>Changed between <code>{}</code> and <code>{}</code> ⚠️</summary>\n<ul>",
                        p.old.label, p.new.label
                    );
                    for c in &p.changes {
                        change_item(&mut o, c);
                    }
                    o.push_str("</ul>\n</details>\n</li>\n");
                }
                _ => {}
            }
        }
        o.push_str("</ul>\n");
    }
    o
}
