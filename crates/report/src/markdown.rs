//! The research system's page for one dependency (`depsurf report --format md`), byte for
//! byte: the rules are in docs/report-markdown.md. depsurf's richer facts (bitfield widths,
//! format strings, layout changes, traceability, caller counts) are left to the JSON form,
//! the website and the terminal view.

use std::fmt::Write as _;

use depsurf_diff::Change;
use depsurf_surface::ctext::{decl, member_decl_plain};
use depsurf_surface::model::{Callers, FuncEntry, FuncStatus, InlineAttr};
use depsurf_surface::{Kind, Param};

use crate::history::Snippet;
use crate::report::{PairState, Presence, Report, Status};

/// The page's title for a kind (`# LSM: <code>bpf</code>`).
fn title(kind: Kind) -> &'static str {
    match kind {
        Kind::Lsm => "LSM",
        k => k.title(),
    }
}

/// The report as the research system's page.
pub fn markdown(r: &Report) -> String {
    let shown_name = match r.kind {
        Kind::Config => format!("CONFIG_{}", r.name),
        _ => r.name.clone(),
    };
    let mut o = String::new();
    let _ = writeln!(o, "# {}: <code>{}</code>", title(r.kind), shown_name);
    o.push_str("\n## Status\n");
    for g in &r.groups {
        let _ = writeln!(o, "<b>{}</b>\n<ul>", g.name);
        for s in &g.status {
            o.push_str("<li>\n");
            status(&mut o, s);
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
            if p.state == PairState::Absent {
                continue;
            }
            let mut items = Vec::new();
            for c in &p.changes {
                research_changes(&c.detail, &mut items);
            }
            if items.is_empty() {
                let _ = writeln!(
                    o,
                    "<li>\nNo changes between <code>{}</code> and <code>{}</code> ✅\n</li>",
                    p.old.label, p.new.label
                );
                continue;
            }
            let _ = writeln!(
                o,
                "<li>\n<details>\n<summary>Changed between <code>{}</code> and <code>{}</code> ⚠️</summary>\n<ul>",
                p.old.label, p.new.label
            );
            for (name, code) in items {
                let _ = write!(o, "<li>\n<b>{name}. </b>\n");
                if let Some(code) = code {
                    let _ = writeln!(o, "{code}");
                }
                o.push_str("</li>\n");
            }
            o.push_str("</ul>\n</details>\n</li>\n");
        }
        o.push_str("</ul>\n");
    }
    o
}

/// One image's status line, and its definition and function status when it has them.
fn status(o: &mut String, s: &Status) {
    match s.presence {
        Presence::Unknown => {
            let _ = writeln!(
                o,
                "In <code>{}</code>: Unknown (not extracted for this image) ❔",
                s.label
            );
            return;
        }
        Presence::Absent => {
            let _ = writeln!(o, "In <code>{}</code>: Absent ⚠️", s.label);
            return;
        }
        Presence::Present => {}
    }
    let verdict = if s.issues.is_empty() {
        "✅".to_string()
    } else {
        format!("{} ⚠️", s.issues.join(", "))
    };
    // The definition's code blocks follow each other; the function status comes after a
    // blank line.
    let code: String = s.research.iter().map(snippet).collect();
    let mut parts = Vec::new();
    if !code.is_empty() {
        parts.push(code);
    }
    if let Some(f) = &s.function {
        parts.push(function_status(f));
    }
    // A syscall's has nothing under its status line: the block is empty.
    let _ = writeln!(
        o,
        "<details>\n<summary>In <code>{}</code>: {verdict}</summary>\n",
        s.label
    );
    o.push_str(&parts.join("\n"));
    o.push_str("</details>\n");
}

fn snippet(s: &Snippet) -> String {
    let mut o = String::new();
    if let Some(l) = s.label {
        let _ = writeln!(o, "{l}\n");
    }
    match s.lang {
        Some(lang) => {
            let _ = writeln!(o, "```{lang}\n{}\n```", s.code);
        }
        None => {
            let _ = writeln!(o, "{}", s.code);
        }
    }
    o
}

/// The function status blocks: collision, inlining, transformation, each definition, and the
/// symbols of the name.
fn function_status(f: &FuncStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "**Collision:** {}\n", f.collision.as_str());
    let _ = writeln!(o, "**Inline:** {}\n", f.inline.as_str());
    let _ = writeln!(
        o,
        "**Transformation:** {}\n",
        if f.transformed() { "True" } else { "False" }
    );
    o.push_str("**Instances:**\n\n");
    for e in &f.entries {
        instance(&mut o, e);
    }
    if !f.symbols.is_empty() {
        o.push_str("**Symbols:**\n\n```\n");
        for y in &f.symbols {
            let _ = writeln!(
                o,
                "{:x}-{:x}: {} (STB_{})",
                y.addr,
                y.addr.saturating_add(y.size),
                y.name,
                y.bind
            );
        }
        o.push_str("```\n");
    }
    o
}

fn instance(o: &mut String, e: &FuncEntry) {
    let inlined = matches!(
        e.inline,
        InlineAttr::NotDeclaredInlined | InlineAttr::DeclaredInlined
    );
    let _ = writeln!(o, "```\nIn {} ({:x})", e.file, e.addr);
    let _ = writeln!(o, "Location: {}", e.loc);
    let _ = writeln!(o, "Inline: {}", if inlined { "True" } else { "False" });
    callers(o, "Inline callers", &e.caller_inline);
    callers(o, "Direct callers", &e.caller_func);
    o.push_str("```\n");
}

/// A list of callers, or how many there are when the dataset kept only the count
/// (`extract --callers count`).
fn callers(o: &mut String, what: &str, c: &Callers) {
    if c.count == 0 {
        return;
    }
    if c.names.is_empty() {
        let _ = writeln!(o, "{what}: {} (names not kept in this dataset)", c.count);
        return;
    }
    let _ = writeln!(o, "{what}:");
    for n in &c.names {
        let _ = writeln!(o, "  - {n}");
    }
}

/// The change lines the research pages list for `c`: its name and code line, a tracepoint's
/// struct and function changes as items of their own after `Event changed` and
/// `Func changed`. Format-string and layout changes are not listed.
fn research_changes(c: &Change, out: &mut Vec<(&'static str, Option<String>)>) {
    let member = |m| format!("<code>{}</code>", member_decl_plain(m));
    let param = |p: &Param| format!("<code>{}</code>", decl(&p.ty, &p.name));
    let arrow = |a: String, b: String| format!("<code>{a}</code> ➡️ <code>{b}</code>");
    let code = match c {
        Change::FormatChanged { .. } | Change::LayoutChanged { .. } => return,
        Change::EventChanged { changes, .. } | Change::FuncChanged { changes, .. } => {
            // Listed only when some of the changes inside are (not a layout change alone).
            let mut inner = Vec::new();
            for n in changes {
                research_changes(n, &mut inner);
            }
            if !inner.is_empty() {
                out.push((c.name(), None));
                out.append(&mut inner);
            }
            return;
        }
        Change::FieldAdded { field } | Change::FieldRemoved { field } => member(field),
        Change::FieldTypeChanged { old, new } => {
            arrow(member_decl_plain(old), member_decl_plain(new))
        }
        Change::ParamAdded { param: p } | Change::ParamRemoved { param: p } => param(p),
        Change::ValueChanged { name, old, new } => {
            format!("<code>{name} = {old} -> {new}</code>")
        }
        _ => {
            let (old, new) = c.parts();
            match new {
                Some(new) => arrow(old, new),
                None => format!("<code>{old}</code>"),
            }
        }
    };
    out.push((c.name(), Some(code)));
}
