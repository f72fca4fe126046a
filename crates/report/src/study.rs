//! The study's program tables (`depsurf check --format study`), rendered: per kind
//! (Function, Struct, Field, Tracepoint, Syscall) how many programs and unique dependencies
//! there are and how many of them are Absent, Changed, Full Inline, Selective Inline,
//! Transformation or Duplicate in at least one image of the Regular and Arch groups; the
//! same per program; the dependencies that have an issue, image by image; and a figure of
//! chosen programs' dependencies × images coloured by issue. As Markdown, CSV and SVG.
//!
//! The tables are computed from a dataset and the programs' dependencies by
//! `depsurf_check::study`; this module only renders them. What each column means is
//! written out in docs/study.md.

use std::fmt::Write as _;

use depsurf_surface::Kind;
use serde::Serialize;

use crate::index::{ABSENT, CHANGED, Column, State, UNKNOWN, issue_symbol};

/// A column of the tables within a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Measure {
    /// How many dependencies of the kind.
    Count,
    Absent,
    Changed,
    FullInline,
    SelectiveInline,
    Transformation,
    Duplicate,
}

impl Measure {
    /// The symbol of the column (the study's table heads).
    pub fn symbol(self) -> &'static str {
        match self {
            Measure::Count => "Σ",
            Measure::Absent => ABSENT,
            Measure::Changed => CHANGED,
            Measure::FullInline => "F",
            Measure::SelectiveInline => "S",
            Measure::Transformation => "T",
            Measure::Duplicate => "D",
        }
    }

    /// The column's name in words.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Count => "dependencies",
            Measure::Absent => "Absent",
            Measure::Changed => "Changed",
            Measure::FullInline => "Full Inline",
            Measure::SelectiveInline => "Selective Inline",
            Measure::Transformation => "Transformation",
            Measure::Duplicate => "Duplicate",
        }
    }

    /// The column's name in a CSV header (after the kind: `func_full_inline`).
    fn key(self) -> &'static str {
        match self {
            Measure::Count => "",
            Measure::Absent => "_absent",
            Measure::Changed => "_changed",
            Measure::FullInline => "_full_inline",
            Measure::SelectiveInline => "_selective_inline",
            Measure::Transformation => "_transformation",
            Measure::Duplicate => "_duplicate",
        }
    }

    /// Whether a dependency is so in one image (`Count`: whatever the image says).
    pub fn holds(self, s: &State) -> bool {
        match (self, s) {
            (Measure::Count, _) => true,
            (Measure::Absent, State::Absent) => true,
            (Measure::Changed, State::Present { changed, .. }) => *changed,
            (m, State::Present { issues, .. }) => issues.contains(&m.name()),
            _ => false,
        }
    }
}

use Measure::*;

/// The kinds of the tables and each kind's columns, in the study's order: a struct's
/// changes are counted as its fields' and a system call has only a number, so neither has a
/// Changed column; function status belongs to functions.
pub const TABLE: [(Kind, &[Measure]); 5] = [
    (
        Kind::Func,
        &[
            Count,
            Absent,
            Changed,
            FullInline,
            SelectiveInline,
            Transformation,
            Duplicate,
        ],
    ),
    (Kind::Struct, &[Count, Absent]),
    (Kind::Field, &[Count, Absent, Changed]),
    (Kind::Tracepoint, &[Count, Absent, Changed]),
    (Kind::Syscall, &[Count, Absent]),
];

/// Every (kind, column) of the tables, in order.
pub fn columns() -> Vec<(Kind, Measure)> {
    TABLE
        .iter()
        .flat_map(|(k, ms)| ms.iter().map(move |m| (*k, *m)))
        .collect()
}

/// One dependency, with its state in each image of the tables.
#[derive(Clone, Debug, Serialize)]
pub struct Dep {
    pub kind: Kind,
    /// As the dataset names it (`task_struct::pid` for a field).
    pub name: String,
    /// One per image of [`Study::images`].
    #[serde(skip)]
    pub states: Vec<State>,
    /// The programs that depend on it.
    pub programs: Vec<String>,
}

impl Dep {
    /// Whether the dependency is so in at least one image.
    pub fn has(&self, m: Measure) -> bool {
        m == Count || self.states.iter().any(|s| m.holds(s))
    }

    /// Whether it has any issue in some image: a column of its kind other than the count, or
    /// a collision of names.
    pub fn has_issue(&self) -> bool {
        TABLE
            .iter()
            .filter(|(k, _)| *k == self.kind)
            .flat_map(|(_, ms)| ms.iter())
            .any(|m| *m != Count && self.has(*m))
            || self.states.iter().any(
                |s| matches!(s, State::Present { issues, .. } if issues.contains(&"Collision")),
            )
    }
}

/// One program (an eBPF object) and its counts.
#[derive(Clone, Debug, Serialize)]
pub struct Program {
    /// A short name: the object's file name without `.bpf.o`, or `binary@offset` for an
    /// object embedded in a binary.
    pub name: String,
    /// The object as `check` names it (its file, or `holder@offset [programs]`).
    pub object: String,
    /// Indices of its dependencies in [`Study::deps`].
    pub deps: Vec<usize>,
    /// One count per column of [`columns`].
    pub counts: Vec<usize>,
}

impl Program {
    /// Whether some column other than the counts is not zero.
    pub fn has_issue(&self) -> bool {
        columns()
            .iter()
            .zip(&self.counts)
            .any(|((_, m), n)| *m != Count && *n > 0)
    }
}

/// Dependencies of the programs that the tables leave out, and why.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LeftOut {
    /// What (`LSM hook`, `helper`, `register struct pt_regs`, ...) → unique dependencies.
    pub kinds: Vec<(String, usize)>,
    /// Attach targets given as no kernel item (`--map NAME=`).
    pub placeholders: Vec<String>,
}

/// The study's tables for a set of programs against a dataset.
#[derive(Clone, Debug, Serialize)]
pub struct Study {
    pub dataset: String,
    /// The images of the tables: the Regular group's, then the Arch group's.
    pub images: Vec<Column>,
    /// The Arch group's reference image's label (its images are compared with it).
    pub arch_reference: Option<String>,
    /// Labels of images without function status (their function issues are unknown).
    pub no_func_status: Vec<String>,
    /// Every dependency of the programs in the tables' kinds, once, by kind then name.
    pub deps: Vec<Dep>,
    /// The programs with at least one such dependency, in the study's order: by their
    /// counts, column after column, largest first.
    pub programs: Vec<Program>,
    /// Programs without any dependency of the tables' kinds.
    pub without: Vec<String>,
    /// Per column: how many unique dependencies.
    pub unique: Vec<usize>,
    /// Per column: how many programs have at least one.
    pub with: Vec<usize>,
    pub left_out: LeftOut,
    /// The programs of the figure (indices in [`Study::programs`]).
    pub figure: Vec<usize>,
}

/// A count as the tables print it: a dash for none.
fn cell(n: usize) -> String {
    if n == 0 { "-".into() } else { n.to_string() }
}

/// The symbols of a dependency in one image: `∅`, `?`, or the issues (`Δ`, `S`, ...), blank
/// when present without any.
pub fn symbols(s: &State) -> String {
    match s {
        State::Unknown => UNKNOWN.to_string(),
        State::Absent => ABSENT.to_string(),
        State::Present { changed, issues } => {
            let mut v: Vec<&str> = Vec::new();
            if *changed {
                v.push(CHANGED);
            }
            v.extend(issues.iter().map(|i| issue_symbol(i)));
            v.join(" ")
        }
    }
}

/// The images as one phrase: `Regular (5.10, 6.1) and Arch (arm64 against amd64)`.
fn images_phrase(s: &Study) -> String {
    let mut parts: Vec<String> = Vec::new();
    for group in ["Regular", "Arch"] {
        let labels: Vec<&str> = s
            .images
            .iter()
            .filter(|c| c.group == group)
            .map(|c| c.label.as_str())
            .collect();
        if labels.is_empty() {
            continue;
        }
        let against = match (&s.arch_reference, group) {
            (Some(r), "Arch") => format!(", each against {r}"),
            _ => String::new(),
        };
        parts.push(format!("{group} ({}{against})", labels.join(", ")));
    }
    parts.join(" and ")
}

/// The tables as one Markdown page; `figure` names the figure's file, when there is one.
pub fn markdown(s: &Study, figure: Option<&str>) -> String {
    let cols = columns();
    let mut o = String::new();
    let _ = writeln!(o, "# Program dependencies across kernels\n");
    let n = s.programs.len() + s.without.len();
    let _ = writeln!(
        o,
        "{n} program{} against the dataset `{}`, in the images of the groups {}. A dependency \
         counts in a column when it is so in at least one of those images (∅ Absent, Δ \
         Changed, F Full Inline, S Selective Inline, T Transformation, D Duplicate; Σ all of \
         the kind). Generated by `depsurf check --format study`; docs/study.md says what each \
         column means.\n",
        if n == 1 { "" } else { "s" },
        s.dataset,
        images_phrase(s),
    );
    if !s.no_func_status.is_empty() {
        let _ = writeln!(
            o,
            "No function status for {} (its inputs had no DWARF): function issues there are \
             unknown and not counted.\n",
            s.no_func_status.join(", ")
        );
    }

    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| kind | column | programs | unique dependencies |");
    let _ = writeln!(o, "|---|---|--:|--:|");
    for (i, (k, m)) in cols.iter().enumerate() {
        let col = if *m == Count {
            "Σ".to_string()
        } else {
            format!("{} {}", m.symbol(), m.name())
        };
        let _ = writeln!(
            o,
            "| {} | {col} | {} | {} |",
            k.title(),
            s.with[i],
            s.unique[i]
        );
    }

    let _ = writeln!(o, "\n## Per program\n");
    o.push_str("| program |");
    for (k, m) in &cols {
        if *m == Count {
            let _ = write!(o, " {} Σ |", k.title());
        } else {
            let _ = write!(o, " {} |", m.symbol());
        }
    }
    o.push_str("\n|---|");
    for _ in &cols {
        o.push_str("--:|");
    }
    o.push('\n');
    for p in &s.programs {
        let _ = write!(o, "| {} |", p.name);
        for n in &p.counts {
            let _ = write!(o, " {} |", cell(*n));
        }
        o.push('\n');
    }
    o.push_str("| **unique** |");
    for n in &s.unique {
        let _ = write!(o, " {} |", cell(*n));
    }
    o.push('\n');
    if !s.without.is_empty() {
        let _ = writeln!(
            o,
            "\nWithout a dependency of these kinds: {}.",
            s.without.join(", ")
        );
    }

    let issues: Vec<&Dep> = s.deps.iter().filter(|d| d.has_issue()).collect();
    let _ = writeln!(
        o,
        "\n## Dependencies with an issue\n\n{} of {} dependencies; S, F, T, D as above, C \
         Collision, ? unknown, blank when present without an issue.\n",
        issues.len(),
        s.deps.len()
    );
    if !issues.is_empty() {
        crate::index::column_head(&mut o, &["kind", "dependency", "programs"], &s.images);
        for d in issues {
            let _ = write!(
                o,
                "| {} | `{}` | {} |",
                d.kind.title(),
                d.name,
                d.programs.join(", ")
            );
            for st in &d.states {
                let _ = write!(o, " {} |", symbols(st));
            }
            o.push('\n');
        }
    }

    if !s.left_out.kinds.is_empty() || !s.left_out.placeholders.is_empty() {
        let _ = writeln!(o, "\n## Left out\n");
        for (what, n) in &s.left_out.kinds {
            let _ = writeln!(o, "- {what}: {n}");
        }
        if !s.left_out.placeholders.is_empty() {
            let _ = writeln!(
                o,
                "- attach targets set at run time (`--map NAME=`): {}",
                s.left_out.placeholders.join(", ")
            );
        }
    }
    if let Some(f) = figure {
        let names: Vec<&str> = s
            .figure
            .iter()
            .map(|&i| s.programs[i].name.as_str())
            .collect();
        let _ = writeln!(
            o,
            "\n## Figure\n\nThe dependencies with an issue of {}, image by image: \
             ![dependencies × images]({f})",
            if names.is_empty() {
                "no program".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    o
}

/// CSV: the summary, one row per kind and column (`kind,column,programs,unique_dependencies`).
pub fn summary_csv(s: &Study) -> String {
    let mut o = String::from("kind,column,programs,unique_dependencies\n");
    for (i, (k, m)) in columns().iter().enumerate() {
        let _ = writeln!(
            o,
            "{},{},{},{}",
            k.as_str(),
            m.name(),
            s.with[i],
            s.unique[i]
        );
    }
    o
}

/// A CSV field, quoted when it needs to be.
fn field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// CSV: one row per program (`program,object,func,func_absent,...`), then one of the unique
/// dependencies.
pub fn programs_csv(s: &Study) -> String {
    let cols = columns();
    let mut o = String::from("program,object");
    for (k, m) in &cols {
        let _ = write!(o, ",{}{}", k.as_str(), m.key());
    }
    o.push('\n');
    for p in &s.programs {
        let _ = write!(o, "{},{}", field(&p.name), field(&p.object));
        for n in &p.counts {
            let _ = write!(o, ",{n}");
        }
        o.push('\n');
    }
    o.push_str("(unique),");
    for n in &s.unique {
        let _ = write!(o, ",{n}");
    }
    o.push('\n');
    o
}

/// CSV: one row per dependency and image (`kind,name,group,image,label,state,programs`);
/// the state is `absent`, `unknown`, `present`, or the issues (`Changed; Full Inline`).
pub fn deps_csv(s: &Study) -> String {
    let mut o = String::from("kind,name,group,image,label,state,programs\n");
    for d in &s.deps {
        for (c, st) in s.images.iter().zip(&d.states) {
            let state = match st {
                State::Unknown => "unknown".to_string(),
                State::Absent => "absent".to_string(),
                State::Present { changed, issues } => {
                    let mut v: Vec<&str> = Vec::new();
                    if *changed {
                        v.push("Changed");
                    }
                    v.extend(issues.iter().copied());
                    if v.is_empty() {
                        "present".to_string()
                    } else {
                        v.join("; ")
                    }
                }
            };
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{}",
                d.kind.as_str(),
                field(&d.name),
                field(&c.group),
                field(&c.image),
                field(&c.label),
                field(&state),
                field(&d.programs.join(" "))
            );
        }
    }
    o
}

/// The figure's colour of a state: green without an issue, grey when absent, white when
/// unknown, red for any other issue.
fn colour(st: &State) -> plotters::style::RGBColor {
    use plotters::style::RGBColor;
    match st {
        State::Unknown => RGBColor(0xff, 0xff, 0xff),
        State::Absent => RGBColor(0xd3, 0xd3, 0xd3),
        State::Present { changed, issues } if !*changed && issues.is_empty() => {
            RGBColor(0x2c, 0xa0, 0x2c)
        }
        State::Present { .. } => RGBColor(0xd6, 0x27, 0x28),
    }
}

/// The figure: for each program of [`Study::figure`], its dependencies with an issue (one
/// column each, grouped by program, then by kind) against the images (one row each, the
/// Regular group's then the Arch group's), each cell coloured by [`colour`] and marked with
/// its symbols.
pub fn figure_svg(s: &Study) -> Result<String, String> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    // Columns: (program, dependency index), grouped by program then kind.
    let mut cols: Vec<(usize, usize)> = Vec::new();
    for &pi in &s.figure {
        let p = &s.programs[pi];
        for (k, _) in TABLE {
            for &di in &p.deps {
                let d = &s.deps[di];
                if d.kind == k && d.has_issue() {
                    cols.push((pi, di));
                }
            }
        }
    }
    const CELL: i32 = 22;
    let longest = cols
        .iter()
        .map(|&(_, di)| s.deps[di].name.chars().count())
        .max()
        .unwrap_or(0) as i32;
    let program_chars = s
        .figure
        .iter()
        .map(|&i| s.programs[i].name.chars().count())
        .max()
        .unwrap_or(0) as i32;
    let left = 150;
    let top = 40 + 7 * longest.min(60);
    let bottom = top + CELL * s.images.len() as i32;
    let legend = 150;
    let width = left + CELL * cols.len().max(1) as i32 + legend + 20;
    let height = (bottom + 20 + 7 * program_chars.min(60)).max(300);
    let mut out = String::new();
    {
        let root =
            SVGBackend::with_string(&mut out, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let e = |r: Result<(), DrawingAreaErrorKind<_>>| r.map_err(|e| e.to_string());
        let small = ("sans-serif", 11).into_font();
        let mono = ("monospace", 11).into_font();
        e(root.draw_text(
            "Dependencies × images",
            &("sans-serif", 15).into_font().color(&BLACK),
            (8, 8),
        ))?;
        // Image labels, with their group.
        for (r, c) in s.images.iter().enumerate() {
            let y = top + CELL * r as i32 + CELL / 2;
            e(root.draw_text(
                &format!("{} {}", c.group, c.label),
                &small.color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center)),
                (left - 6, y),
            ))?;
        }
        // Dependency labels above (rotated), program names below (rotated), and a line
        // between programs.
        let mut last: Option<usize> = None;
        for (i, &(pi, di)) in cols.iter().enumerate() {
            let x = left + CELL * i as i32;
            if last != Some(pi) {
                e(root.draw_text(
                    &s.programs[pi].name,
                    &("sans-serif", 12)
                        .into_font()
                        .style(FontStyle::Bold)
                        .transform(FontTransform::Rotate90)
                        .color(&BLACK),
                    (x + CELL / 2 + 6, bottom + 8),
                ))?;
                if last.is_some() {
                    e(root.draw(&PathElement::new(
                        vec![(x, 30), (x, bottom + 8 + 7 * program_chars.min(60))],
                        BLACK.stroke_width(1),
                    )))?;
                }
                last = Some(pi);
            }
            let d = &s.deps[di];
            e(root.draw_text(
                &format!("{} {}", d.kind.as_str(), d.name),
                &mono
                    .clone()
                    .transform(FontTransform::Rotate270)
                    .color(&BLACK),
                (x + CELL / 2 - 5, top - 6),
            ))?;
            for (r, st) in d.states.iter().enumerate() {
                let y = top + CELL * r as i32;
                e(root.draw(&Rectangle::new(
                    [(x + 1, y + 1), (x + CELL - 1, y + CELL - 1)],
                    colour(st).filled(),
                )))?;
                let text = match st {
                    State::Unknown => UNKNOWN.to_string(),
                    State::Absent => String::new(),
                    _ => symbols(st).replace(' ', ""),
                };
                if !text.is_empty() {
                    let fg = if matches!(st, State::Unknown) {
                        BLACK
                    } else {
                        WHITE
                    };
                    e(root.draw_text(
                        &text,
                        &small.color(&fg).pos(Pos::new(HPos::Center, VPos::Center)),
                        (x + CELL / 2, y + CELL / 2),
                    ))?;
                }
            }
        }
        // Legend.
        let lx = left + CELL * cols.len().max(1) as i32 + 20;
        let items: [(&str, State); 4] = [
            (
                "no issue",
                State::Present {
                    changed: false,
                    issues: Vec::new(),
                },
            ),
            ("Absent", State::Absent),
            (
                "an issue: Δ S F T D C",
                State::Present {
                    changed: true,
                    issues: Vec::new(),
                },
            ),
            ("unknown (?)", State::Unknown),
        ];
        for (i, (label, st)) in items.iter().enumerate() {
            let y = top + 20 * i as i32;
            e(root.draw(&Rectangle::new(
                [(lx, y), (lx + 14, y + 14)],
                colour(st).filled(),
            )))?;
            e(root.draw(&Rectangle::new([(lx, y), (lx + 14, y + 14)], BLACK)))?;
            e(root.draw_text(label, &small.color(&BLACK), (lx + 20, y + 2)))?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(changed: bool, issues: &[&'static str]) -> State {
        State::Present {
            changed,
            issues: issues.to_vec(),
        }
    }

    #[test]
    fn a_column_holds_in_at_least_one_image() {
        let d = Dep {
            kind: Kind::Func,
            name: "f".into(),
            states: vec![
                State::Absent,
                present(false, &["Selective Inline"]),
                present(true, &[]),
                State::Unknown,
            ],
            programs: vec!["p".into()],
        };
        assert!(d.has(Count));
        assert!(d.has(Absent));
        assert!(d.has(Changed));
        assert!(d.has(SelectiveInline));
        assert!(!d.has(FullInline));
        assert!(!d.has(Duplicate));
        assert!(d.has_issue());
        let fine = Dep {
            states: vec![present(false, &[]), State::Unknown],
            ..d.clone()
        };
        assert!(!fine.has(Absent) && !fine.has(Changed) && !fine.has_issue());
        // A collision is an issue of the figure, not a column.
        let collision = Dep {
            states: vec![present(false, &["Collision"])],
            ..d
        };
        assert!(collision.has_issue());
    }

    #[test]
    fn the_studys_columns() {
        let c = columns();
        assert_eq!(c.len(), 17);
        assert_eq!(c[0], (Kind::Func, Count));
        assert_eq!(c[6], (Kind::Func, Duplicate));
        assert_eq!(c[7], (Kind::Struct, Count));
        assert_eq!(c[16], (Kind::Syscall, Absent));
    }
}
