//! A check as a terminal matrix (one page per group of the dataset, at most 100 columns),
//! Markdown, or JSON.

use std::fmt::Write as _;

use depsurf_diff::Consequence;
use depsurf_surface::Dataset;

use crate::{Cell, ObjectCheck, Status};

/// The one-character symbol of a cell.
pub fn symbol(c: &Cell) -> &'static str {
    match (c.status, c.consequence) {
        (_, Some(Consequence::Error)) => "E",
        (_, Some(Consequence::StrayRead)) => "S",
        (_, Some(Consequence::MissingInvocation)) => "M",
        (Status::GuardFalse, _) => "g",
        (Status::Unknown, _) => "?",
        _ => "·",
    }
}

pub const LEGEND: &str = "· ok  E error (fails to load or attach)  S stray read  \
M missing invocation  g absent, guarded or not reached  ? unknown";

/// The one-character symbol of a verdict: `·` loads, `E` fails, `S` stray reads, `M`
/// missed calls, `A` loads with alternatives.
pub fn verdict_symbol(v: &crate::Verdict) -> &'static str {
    match v.verdict.as_str() {
        "fails" => "E",
        "loads with alternatives" => "A",
        "loads" => "·",
        x if x.contains("stray") => "S",
        _ => "M",
    }
}

/// The verdicts a matrix shows after the dependencies: the object's, then each checked
/// program's, as (label, verdict per image).
pub fn verdict_rows(chk: &ObjectCheck) -> Vec<(String, &[crate::Verdict])> {
    let mut out: Vec<(String, &[crate::Verdict])> = vec![("object".into(), &chk.verdicts)];
    if chk.programs.iter().filter(|p| p.checked).count() > 1 {
        for p in chk.programs.iter().filter(|p| p.checked) {
            out.push((p.program.name.clone(), &p.verdicts));
        }
    }
    out
}

/// The columns of one page: a group's images with their labels.
/// The pages of a check: per group of the dataset, its checked images as (id, label).
pub fn pages(ds: &Dataset, chk: &ObjectCheck) -> Vec<(String, Vec<(String, String)>)> {
    let checked: Vec<&String> = chk.verdicts.iter().map(|v| &v.image).collect();
    let mut out = Vec::new();
    for g in &ds.manifest.groups {
        let cols: Vec<(String, String)> = g
            .reference
            .iter()
            .chain(&g.images)
            .filter(|l| checked.contains(&&l.image))
            .map(|l| (l.image.clone(), l.label.clone()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let cols: Vec<_> = cols
            .into_iter()
            .filter(|c| seen.insert(c.0.clone()))
            .collect();
        if !cols.is_empty() {
            out.push((g.name.clone(), cols));
        }
    }
    // Images that no group lists.
    let grouped: std::collections::HashSet<String> = out
        .iter()
        .flat_map(|(_, c)| c.iter().map(|x| x.0.clone()))
        .collect();
    let rest: Vec<(String, String)> = checked
        .iter()
        .filter(|i| !grouped.contains(**i))
        .map(|i| ((*i).clone(), (*i).clone()))
        .collect();
    if !rest.is_empty() {
        out.push(("Images".into(), rest));
    }
    out
}

/// `s` in lines of at most `width` characters, breaking after `, ` or `/` where it can;
/// continuation lines start with `indent`.
fn wrap(s: &str, width: usize, indent: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    let mut first = true;
    while !rest.is_empty() {
        let room = if first { width } else { width - indent.len() };
        if rest.len() <= room {
            out.push(format!(
                "{}{}",
                if first { "" } else { indent },
                rest.iter().collect::<String>()
            ));
            break;
        }
        let cut = (1..=room)
            .rev()
            .find(|&i| matches!(rest[i - 1], ' ' | '/' | ','))
            .unwrap_or(room);
        let line: String = rest[..cut].iter().collect();
        out.push(format!(
            "{}{}",
            if first { "" } else { indent },
            line.trim_end()
        ));
        rest.drain(..cut);
        while rest.first() == Some(&' ') {
            rest.remove(0);
        }
        first = false;
    }
    out
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        format!("{s:<w$}")
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The terminal form: per group, a matrix of dependencies × images that fits `width`
/// columns (labels vertical above the cells when they do not fit), then one verdict line
/// per image.
pub fn terminal(ds: &Dataset, chk: &ObjectCheck, color: bool, width: usize) -> String {
    let paint = |s: &str, code: &str| {
        if color && !code.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut o = String::new();
    let progs: Vec<String> = chk
        .programs
        .iter()
        .map(|p| {
            format!(
                "{} ({}){}",
                p.program.name,
                p.program.section,
                if p.checked { "" } else { " not checked" }
            )
        })
        .collect();
    for line in wrap(&chk.object, width, "") {
        let _ = writeln!(o, "{}", paint(&line, "1"));
    }
    for line in wrap(&format!("programs: {}", progs.join(", ")), width, "  ") {
        let _ = writeln!(o, "{line}");
    }
    for g in &chk.alternatives {
        for line in wrap(&format!("alternatives: {}", g.join(" | ")), width, "  ") {
            let _ = writeln!(o, "{line}");
        }
    }
    for (group, cols) in pages(ds, chk) {
        let cell_w = cols
            .iter()
            .map(|c| c.1.chars().count())
            .max()
            .unwrap_or(1)
            .clamp(1, 10)
            + 1;
        let kind_w = 11;
        let max_cols = (width.saturating_sub(kind_w + 20)) / cell_w;
        for chunk in cols.chunks(max_cols.max(1)) {
            let label_w = width
                .saturating_sub(kind_w + 1 + chunk.len() * cell_w)
                .clamp(10, 70);
            let _ = writeln!(o);
            let mut head = format!("{:<kind_w$} {}", group, truncate("", label_w));
            for (_, l) in chunk {
                head.push_str(&format!("{:>cell_w$}", truncate(l, cell_w - 1)));
            }
            let _ = writeln!(o, "{}", paint(head.trim_end(), "1"));
            for r in &chk.rows {
                let mut line = format!(
                    "{:<kind_w$} {}",
                    truncate(r.kind, kind_w),
                    truncate(&r.label, label_w)
                );
                for (id, _) in chunk {
                    let c = r.cells.get(id);
                    let sym = c.map(symbol).unwrap_or(" ");
                    let code = match sym {
                        "E" => "31;1",
                        "S" => "33;1",
                        "M" => "35;1",
                        "g" | "?" => "2",
                        _ => "32",
                    };
                    line.push_str(&" ".repeat(cell_w - 1));
                    line.push_str(&paint(sym, code));
                }
                let _ = writeln!(o, "{line}");
            }
            for (name, vs) in verdict_rows(chk) {
                let mut line = format!(
                    "{:<kind_w$} {}",
                    if name == "object" {
                        "verdict"
                    } else {
                        "program"
                    },
                    truncate(if name == "object" { "(object)" } else { &name }, label_w)
                );
                for (id, _) in chunk {
                    let sym = vs
                        .iter()
                        .find(|v| &v.image == id)
                        .map(verdict_symbol)
                        .unwrap_or(" ");
                    let code = match sym {
                        "E" => "31;1",
                        "S" | "A" => "33;1",
                        "M" => "35;1",
                        _ => "32",
                    };
                    line.push_str(&" ".repeat(cell_w - 1));
                    line.push_str(&paint(sym, code));
                }
                let _ = writeln!(o, "{line}");
            }
        }
    }
    let _ = writeln!(o);
    for line in wrap(LEGEND, width, "") {
        let _ = writeln!(o, "{}", paint(&line, "2"));
    }
    let _ = writeln!(o);
    for v in &chk.verdicts {
        let code = match v.verdict.as_str() {
            "fails" => "31;1",
            "loads" => "32",
            _ => "33",
        };
        let why = if v.turn_off.is_empty() {
            v.because
                .first()
                .map(|b| format!(" — {b}"))
                .unwrap_or_default()
        } else {
            format!(" — turn off {}", v.turn_off.join(", "))
        };
        let counts: Vec<String> = [
            (v.errors, "error"),
            (v.stray_reads, "stray read"),
            (v.missing_invocations, "missed call"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}{}", if *n == 1 { "" } else { "s" }))
        .chain((v.unknown > 0).then(|| format!("{} unknown", v.unknown)))
        .collect();
        let more = if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        };
        let line = truncate(
            &format!("{}{more}{why}", v.verdict),
            width.saturating_sub(26),
        );
        let _ = writeln!(o, "{:<25} {}", v.image, paint(line.trim_end(), code));
    }
    o
}

/// Markdown: per group a table, then the verdicts and every problem in full.
pub fn markdown(ds: &Dataset, chk: &ObjectCheck) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Check: `{}`\n", chk.object);
    let _ = writeln!(
        o,
        "| program | section | type | alternatives |\n|---|---|---|---|"
    );
    for p in &chk.programs {
        let _ = writeln!(
            o,
            "| `{}`{} | `{}` | {} | {} |",
            p.program.name,
            if p.checked { "" } else { " (not checked)" },
            p.program.section,
            p.program.prog_type.unwrap_or("(set by the loader)"),
            p.alternatives
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(o, "\nStray reads are judged against {}.", chk.reference);
    for (group, cols) in pages(ds, chk) {
        let _ = writeln!(o, "\n## {group}\n");
        let _ = write!(o, "| kind | dependency |");
        for (_, l) in &cols {
            let _ = write!(o, " {l} |");
        }
        let _ = write!(o, "\n|---|---|");
        for _ in &cols {
            let _ = write!(o, ":-:|");
        }
        let _ = writeln!(o);
        for r in &chk.rows {
            let _ = write!(o, "| {} | `{}` |", r.kind, r.label.replace('|', "\\|"));
            for (id, _) in &cols {
                let _ = write!(o, " {} |", r.cells.get(id).map(symbol).unwrap_or(""));
            }
            let _ = writeln!(o);
        }
        for (name, vs) in verdict_rows(chk) {
            let _ = write!(
                o,
                "| {} | `{}` |",
                if name == "object" {
                    "**verdict**"
                } else {
                    "program"
                },
                if name == "object" { "(object)" } else { &name }
            );
            for (id, _) in &cols {
                let sym = vs
                    .iter()
                    .find(|v| &v.image == id)
                    .map(verdict_symbol)
                    .unwrap_or("");
                let _ = write!(o, " {sym} |");
            }
            let _ = writeln!(o);
        }
    }
    let _ = writeln!(
        o,
        "\n{LEGEND}; verdicts: · loads, E fails, S stray reads, M missed calls, A loads with \
         alternatives\n\n## Verdicts\n"
    );
    for v in &chk.verdicts {
        let _ = writeln!(o, "- `{}`: **{}**", v.image, v.verdict);
        if !v.turn_off.is_empty() {
            let _ = writeln!(
                o,
                "  - the loader turns off: {}",
                v.turn_off
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for p in chk.programs.iter().filter(|p| p.checked) {
            let Some(pv) = p.verdicts.iter().find(|x| x.image == v.image) else {
                continue;
            };
            if pv.verdict == "loads" && pv.unknown == 0 {
                continue;
            }
            let _ = writeln!(o, "  - program `{}`: {}", p.program.name, pv.verdict);
        }
        for r in &chk.rows {
            if let Some(c) = r.cells.get(&v.image)
                && let Some(k) = c.consequence
            {
                let _ = writeln!(
                    o,
                    "  - {}: {} `{}` ({}) — {}",
                    crate::consequence_name(k),
                    r.kind,
                    r.label,
                    if r.object_wide {
                        "the whole object".to_string()
                    } else {
                        r.programs.join(", ")
                    },
                    c.detail
                );
            }
        }
    }
    o
}

/// SARIF 2.1.0: a rule per consequence, a result per dependency and image that has one,
/// located at the object file (and the program's section).
pub fn sarif(checks: &[ObjectCheck]) -> serde_json::Value {
    use serde_json::json;
    let mut results = Vec::new();
    for chk in checks {
        let file = chk
            .object
            .split('@')
            .next()
            .unwrap_or(&chk.object)
            .to_string();
        for r in &chk.rows {
            for (image, c) in &r.cells {
                let Some(k) = c.consequence else { continue };
                let (rule, level) = match k {
                    Consequence::Error => ("depsurf/error", "error"),
                    Consequence::StrayRead => ("depsurf/stray-read", "warning"),
                    _ => ("depsurf/missing-invocation", "note"),
                };
                let program = r
                    .dep
                    .origins
                    .first()
                    .map(|o| format!(" (program {} in {})", o.program, o.section))
                    .unwrap_or_default();
                results.push(json!({
                    "ruleId": rule,
                    "level": level,
                    "message": {"text": format!(
                        "{} on {image}: {} {}{program}: {}",
                        crate::consequence_name(k), r.kind, r.label, c.detail
                    )},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}}}],
                    "properties": {"image": image, "object": chk.object, "kind": r.kind,
                                   "dependency": r.label},
                }));
            }
        }
    }
    json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "depsurf",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [
                    {"id": "depsurf/error", "shortDescription": {"text": "fails to load or attach"}},
                    {"id": "depsurf/stray-read", "shortDescription": {"text": "loads, reads the wrong data"}},
                    {"id": "depsurf/missing-invocation", "shortDescription": {"text": "attaches, misses calls"}},
                ],
            }},
            "results": results,
        }],
    })
}
