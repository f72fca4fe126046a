//! The terminal view of a report (`depsurf report` on a terminal, or `--format term`): one
//! screen a person can read — per group a row of images with their status, the pairs that
//! changed with their change lines, then the definition in the default image (every image's
//! with `full`). Unlike the Markdown page it keeps what depsurf knows beyond the research
//! system: bitfield widths, format strings, layout changes, traceability.

use std::fmt::Write as _;

use depsurf_surface::model::FuncStatus;

use crate::index::{ABSENT, CHANGED, issue_symbol};
use crate::report::{ChangeReport, PairState, Presence, Report, Status};

/// How to render the view.
#[derive(Clone, Debug)]
pub struct TermOptions {
    /// ANSI colours.
    pub color: bool,
    /// Lines are cut (rows of images wrapped) to this many characters.
    pub width: usize,
    /// Every image's definition, not only the default image's.
    pub full: bool,
    /// The dataset's default image, whose definition is shown.
    pub default: String,
}

const PRESENT: &str = "✓";
const UNKNOWN: &str = "?";
const LEGEND: [&str; 10] = [
    "✓ present",
    "∅ absent",
    "? unknown",
    "Δ changed in its pair",
    "S selective inline",
    "F full inline",
    "D duplicate",
    "C collision",
    "T transformation",
    "→ old to new",
];

struct Paint {
    color: bool,
}

impl Paint {
    fn code(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.code("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.code("2", s)
    }
    fn green(&self, s: &str) -> String {
        self.code("32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.code("33", s)
    }
    fn red(&self, s: &str) -> String {
        self.code("31", s)
    }
}

/// The characters `s` takes on a terminal (every character one column).
fn cols(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `w` columns, `…` marking the cut.
fn cut(s: &str, w: usize) -> String {
    if cols(s) <= w {
        return s.to_string();
    }
    let mut o: String = s.chars().take(w.saturating_sub(1)).collect();
    o.push('…');
    o
}

/// An image's status as symbols: `✓`, `∅`, `?`, or its function-status issues (`ST`), then
/// `Δ` when its pair in the group changed.
fn cell(s: &Status, changed: bool, p: &Paint) -> (String, usize) {
    let (text, painted) = match s.presence {
        Presence::Unknown => (UNKNOWN.to_string(), p.dim(UNKNOWN)),
        Presence::Absent => (ABSENT.to_string(), p.red(ABSENT)),
        Presence::Present if s.issues.is_empty() => (PRESENT.to_string(), p.green(PRESENT)),
        Presence::Present => {
            let t: String = s.issues.iter().map(|i| issue_symbol(i)).collect();
            let painted = p.yellow(&t);
            (t, painted)
        }
    };
    let (mut text, mut painted) = (
        format!("{} {text}", s.label),
        format!("{} {painted}", s.label),
    );
    if changed {
        text.push_str(CHANGED);
        painted.push_str(&p.yellow(CHANGED));
    }
    let w = cols(&text);
    (painted, w)
}

/// `old` and `new` from a few characters before their first difference, `…` marking what
/// was left out; whole when they differ early.
fn from_difference(old: &str, new: &str) -> (String, String) {
    const CONTEXT: usize = 12;
    let same = old
        .chars()
        .zip(new.chars())
        .take_while(|(a, b)| a == b)
        .count();
    if same <= CONTEXT + 1 {
        return (old.to_string(), new.to_string());
    }
    let skip = same - CONTEXT;
    let tail = |s: &str| format!("…{}", s.chars().skip(skip).collect::<String>());
    (tail(old), tail(new))
}

/// One change (and those inside it) as indented lines.
fn change_lines(o: &mut String, c: &ChangeReport, depth: usize, opts: &TermOptions, p: &Paint) {
    let pad = "  ".repeat(depth);
    let (old, new) = (
        c.code.replace('\n', "\\n"),
        c.new.as_ref().map(|n| n.replace('\n', "\\n")),
    );
    let mut line = format!("{pad}{}: ", c.name);
    match new {
        Some(new) => {
            // Long texts (format strings) from a little before where they first differ, each
            // in half of what is left.
            let (old, new) = from_difference(&old, &new);
            let room = opts.width.saturating_sub(cols(&line) + 3) / 2;
            let _ = write!(
                line,
                "{} → {}",
                cut(&old, room.max(8)),
                cut(&new, room.max(8))
            );
        }
        None => line.push_str(&old),
    }
    let line = cut(&line, opts.width);
    let shown = match c.consequence {
        Some(_) => p.yellow(&line),
        None => line,
    };
    let _ = writeln!(o, "{shown}");
    for n in &c.nested {
        change_lines(o, n, depth + 1, opts, p);
    }
}

/// The function status of one image on one line: collision, inlining, transformation,
/// definitions and symbols.
fn function_line(f: &FuncStatus) -> String {
    let syms: Vec<String> = f
        .symbols
        .iter()
        .map(|y| format!("{} ({})", y.name, y.bind))
        .collect();
    format!(
        "{}; inline: {}; transformation: {}; {} definition{}; symbols: {}",
        f.collision.as_str(),
        f.inline.as_str(),
        if f.transformed() { "yes" } else { "no" },
        f.entries.len(),
        if f.entries.len() == 1 { "" } else { "s" },
        if syms.is_empty() {
            "none (only inlined)".to_string()
        } else {
            syms.join(", ")
        }
    )
}

/// How many lines of a pair's changes or of a definition the compact view shows.
const COMPACT_LINES: usize = 12;

/// `lines`, the first [`COMPACT_LINES`] of them unless the view is full.
fn limited(o: &mut String, lines: &str, opts: &TermOptions, what: &str, p: &Paint) {
    let n = lines.lines().count();
    if opts.full || n <= COMPACT_LINES + 1 {
        o.push_str(lines);
        return;
    }
    for l in lines.lines().take(COMPACT_LINES) {
        let _ = writeln!(o, "{l}");
    }
    let _ = writeln!(
        o,
        "    {}",
        p.dim(&format!(
            "… {} more lines of {what} (--full shows them)",
            n - COMPACT_LINES
        ))
    );
}

/// Images `ids` of `all` in few words: `every image`, `every image but a, b`, or `a, b`.
fn which(ids: &[&str], all: &[&str]) -> String {
    if ids.len() == all.len() {
        return "every image".into();
    }
    if ids.len() * 2 > all.len() {
        let rest: Vec<&str> = all.iter().copied().filter(|a| !ids.contains(a)).collect();
        return format!("every image but {}", rest.join(", "));
    }
    ids.join(", ")
}

/// An image's function status and traceability, as lines.
fn facts_of(s: &Status) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(f) = &s.function {
        v.push(function_line(f));
    }
    if let Some(t) = crate::report::trace_line(s.traceability.as_ref()) {
        v.push(t);
    }
    v
}

/// An image's definition, function status and traceability, indented.
fn definition(o: &mut String, s: &Status, opts: &TermOptions, p: &Paint) {
    if let Some(d) = &s.definition {
        let mut lines = String::new();
        for l in d.lines() {
            let _ = writeln!(lines, "  {}", cut(l, opts.width.saturating_sub(2)));
        }
        limited(o, &lines, opts, "the definition", p);
    }
    for l in facts_of(s) {
        let _ = writeln!(o, "  {}", cut(&l, opts.width.saturating_sub(2)));
    }
}

/// The terminal view of `r`.
pub fn render(r: &Report, opts: &TermOptions) -> String {
    let p = Paint { color: opts.color };
    let mut o = String::new();
    let _ = writeln!(o, "{} {}", r.kind.title(), p.bold(&r.name));
    let name_w = r.groups.iter().map(|g| cols(&g.name)).max().unwrap_or(0);
    let mut shown_pairs: Vec<(&str, &str)> = Vec::new();
    for g in &r.groups {
        // Which images' pairs changed: the newer side of a consecutive pair, the other side
        // of a reference pair.
        let changed = |image: &str| {
            g.differences.as_ref().is_some_and(|ps| {
                ps.iter()
                    .any(|q| q.state == PairState::Changed && q.new.image == image)
            })
        };
        let mut line = format!("{:<name_w$}", g.name);
        let mut w = name_w;
        let indent = name_w + 1;
        for s in &g.status {
            let (c, cw) = cell(s, changed(&s.image), &p);
            if w + 2 + cw > opts.width && w > indent {
                let _ = writeln!(o, "{line}");
                line = " ".repeat(indent.saturating_sub(2));
                w = indent.saturating_sub(2);
            }
            line.push_str("  ");
            line.push_str(&c);
            w += 2 + cw;
        }
        let _ = writeln!(o, "{line}");
        for q in g.differences.iter().flatten() {
            if q.state != PairState::Changed {
                continue;
            }
            // A pair an earlier group already showed (LTS repeats Regular) is named only.
            let key = (q.old.image.as_str(), q.new.image.as_str());
            if shown_pairs.contains(&key) {
                let _ = writeln!(
                    o,
                    "  {} → {} {}",
                    q.old.label,
                    q.new.label,
                    p.dim("(as above)")
                );
                continue;
            }
            shown_pairs.push(key);
            let _ = writeln!(o, "  {} → {}", q.old.label, q.new.label);
            let mut lines = String::new();
            for c in &q.changes {
                change_lines(&mut lines, c, 2, opts, &p);
            }
            limited(&mut o, &lines, opts, "changes", &p);
        }
    }
    let all: Vec<&Status> = r.groups.iter().flat_map(|g| &g.status).collect();
    if opts.full {
        // Every image once: those with the same definition together, and under it those
        // with the same function status and traceability together.
        let mut seen: Vec<&str> = Vec::new();
        let mut defs: Vec<(Option<&String>, Vec<&Status>)> = Vec::new();
        for s in all.iter().filter(|s| s.presence == Presence::Present) {
            if seen.contains(&s.image.as_str()) {
                continue;
            }
            seen.push(&s.image);
            match defs.iter_mut().find(|(d, _)| *d == s.definition.as_ref()) {
                Some((_, v)) => v.push(s),
                None => defs.push((s.definition.as_ref(), vec![s])),
            }
        }
        for (def, images) in defs {
            let ids: Vec<&str> = images.iter().map(|s| s.image.as_str()).collect();
            let _ = writeln!(
                o,
                "\n{}:",
                p.bold(&cut(&which(&ids, &seen), opts.width - 1))
            );
            if let Some(d) = def {
                for l in d.lines() {
                    let _ = writeln!(o, "  {}", cut(l, opts.width.saturating_sub(2)));
                }
            }
            let mut facts: Vec<(Vec<String>, Vec<&str>)> = Vec::new();
            for s in &images {
                let lines = facts_of(s);
                match facts.iter_mut().find(|(l, _)| *l == lines) {
                    Some((_, v)) => v.push(&s.image),
                    None => facts.push((lines, vec![&s.image])),
                }
            }
            let single = facts.len() == 1;
            for (lines, ids) in facts.iter().filter(|(l, _)| !l.is_empty()) {
                let pad = if single {
                    "  "
                } else {
                    let _ = writeln!(o, "  {}:", cut(&which(ids, &seen), opts.width - 3));
                    "    "
                };
                for l in lines {
                    let _ = writeln!(o, "{pad}{}", cut(l, opts.width.saturating_sub(pad.len())));
                }
            }
        }
    } else {
        let at_default = all
            .iter()
            .find(|s| s.image == opts.default && s.presence == Presence::Present);
        match at_default.or_else(|| all.iter().rev().find(|s| s.presence == Presence::Present)) {
            Some(s) => {
                let note = if s.image == opts.default {
                    "the default image"
                } else {
                    "absent from the default image; the last image that has it"
                };
                let _ = writeln!(o, "\n{} ({note}):", p.bold(&s.image));
                definition(&mut o, s, opts, &p);
            }
            None => {
                let _ = writeln!(o, "\nNo image of the groups has it.");
            }
        }
    }
    o.push('\n');
    let mut line = String::new();
    for entry in LEGEND {
        if !line.is_empty() && cols(&line) + 2 + cols(entry) > opts.width {
            let _ = writeln!(o, "{}", p.dim(&line));
            line.clear();
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(entry);
    }
    let _ = writeln!(o, "{}", p.dim(&line));
    o
}
