//! Index pages (SPEC §6): every dependency of a kind, one column per image of each group,
//! with symbols: ∅ Absent, Δ Changed (and every later image of a group once the group has
//! seen a change), blank when present and unchanged; `?` for an image without types yet.
//! [`group_states`] gives the same per image of one group for any item; the study's program
//! tables (`depsurf check --format study`) count from it too.

use std::fmt::Write as _;

use depsurf_diff::Change;
use depsurf_surface::manifest::{Group, Pairing};
use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};
use serde::Serialize;

use crate::history::Lookup;

#[derive(Clone, Debug, Serialize)]
pub struct Column {
    pub group: String,
    pub image: String,
    pub label: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    /// One symbol per column.
    pub cells: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Index {
    pub kind: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

pub const ABSENT: &str = "∅";
pub const CHANGED: &str = "Δ";
pub const UNKNOWN: &str = "?";

/// The index symbol of a function-status issue (SPEC §6).
pub fn issue_symbol(issue: &str) -> &'static str {
    match issue {
        "Selective Inline" => "S",
        "Full Inline" => "F",
        "Duplicate" => "D",
        "Collision" => "C",
        "Transformation" => "T",
        _ => "?",
    }
}

/// Matches `name` against a glob (`*`, `?`), or as a substring when `pattern` has neither.
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return name.contains(pattern);
    }
    fn go(p: &[u8], n: &[u8]) -> bool {
        let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
        while ni < n.len() {
            if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
                pi += 1;
                ni += 1;
            } else if pi < p.len() && p[pi] == b'*' {
                star = Some(pi);
                mark = ni;
                pi += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ni = mark;
            } else {
                return false;
            }
        }
        while pi < p.len() && p[pi] == b'*' {
            pi += 1;
        }
        pi == p.len()
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// What one image of a group says of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// The image's inputs could not list items of this kind.
    Unknown,
    Absent,
    Present {
        /// Changed within the group: against the group's reference (Arch, Flavor), or, in a
        /// group of consecutive pairs, since the group's first image that has it (once a
        /// change is seen, every later image that has the item is changed too).
        changed: bool,
        /// The function status issues of the item in this image (functions only, where the
        /// image has function status), in [`FuncStatus::issues`](depsurf_surface::model::FuncStatus::issues)'s order.
        issues: Vec<&'static str>,
    },
}

/// The item of `look` in each image of group `g`, in the group's order. A change counts
/// when `counts` says so of one of the changes between two definitions. In a group of
/// consecutive pairs, an image is compared with the group's last earlier image that has a
/// definition of the item, so a change across images that lack it is still seen.
pub fn group_states(
    ds: &Dataset,
    look: &mut Lookup<'_>,
    kind: Kind,
    g: &Group,
    counts: &dyn Fn(&Change) -> bool,
) -> Result<Vec<State>, StoreError> {
    let mut out = Vec::with_capacity(g.images.len());
    let mut changed = false;
    let mut prev: Option<&str> = g.reference.as_ref().map(|r| r.image.as_str());
    for l in &g.images {
        let status = look.func_status(&l.image)?;
        let defined = look.get(&l.image)?.is_some();
        if status.is_none() && !defined {
            out.push(if ds.has_kind(&l.image, kind) {
                State::Absent
            } else {
                State::Unknown
            });
            continue;
        }
        let now = match prev {
            Some(p) => look
                .changes(p, &l.image)?
                .is_some_and(|c| c.iter().any(counts)),
            None => false,
        };
        match g.pairs {
            Pairing::Consecutive => {
                changed |= now;
                if defined {
                    prev = Some(&l.image);
                }
            }
            Pairing::Reference => changed = now,
        }
        out.push(State::Present {
            changed,
            issues: status.map(|f| f.issues()).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The index of `kind`, restricted to names matching `pattern`.
pub fn build(ds: &Dataset, kind: Kind, pattern: Option<&str>) -> Result<Index, StoreError> {
    let mut columns = Vec::new();
    for g in ds.manifest.report_groups() {
        for l in &g.images {
            columns.push(Column {
                group: g.name.clone(),
                image: l.image.clone(),
                label: l.label.clone(),
            });
        }
    }
    let names: Vec<String> = crate::suggest::all_names(ds, kind)?
        .into_iter()
        .filter(|n| pattern.is_none_or(|p| matches(p, n)))
        .collect();
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let mut look = Lookup::new(ds, kind, &name);
        let mut cells = Vec::with_capacity(columns.len());
        for g in ds.manifest.report_groups() {
            for state in group_states(ds, &mut look, kind, g, &|_| true)? {
                cells.push(match state {
                    State::Unknown => UNKNOWN.to_string(),
                    State::Absent => ABSENT.to_string(),
                    State::Present { changed, issues } => {
                        let mut symbols: Vec<&str> = Vec::new();
                        if changed {
                            symbols.push(CHANGED);
                        }
                        symbols.extend(issues.into_iter().map(issue_symbol));
                        symbols.join(" ")
                    }
                });
            }
        }
        rows.push(Row { name, cells });
    }
    Ok(Index {
        kind: kind.as_str(),
        columns,
        rows,
    })
}

/// The head of a Markdown table with the columns `lead`, then one centred column per image
/// (`Group label`).
pub(crate) fn column_head(o: &mut String, lead: &[&str], columns: &[Column]) {
    o.push('|');
    for l in lead {
        let _ = write!(o, " {l} |");
    }
    for c in columns {
        let _ = write!(o, " {} {} |", c.group, c.label);
    }
    o.push_str("\n|");
    for _ in lead {
        o.push_str("---|");
    }
    for _ in columns {
        o.push_str(":-:|");
    }
    o.push('\n');
}

/// The index as a Markdown page.
pub fn markdown(ix: &Index) -> String {
    let kind = Kind::parse(ix.kind).unwrap_or(Kind::Struct);
    let mut o = format!("# {} index\n\n", kind.title());
    o.push_str(
        "∅ Absent, Δ Changed, S Selective Inline, F Full Inline, D Duplicate, C Collision, \
         T Transformation, ? no types for this image\n\n",
    );
    column_head(&mut o, &["name"], &ix.columns);
    for r in &ix.rows {
        let _ = write!(o, "| `{}` |", r.name);
        for c in &r.cells {
            let _ = write!(o, " {c} |");
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use depsurf_surface::ImageMeta;
    use depsurf_surface::manifest::{Labelled, Manifest};
    use depsurf_surface::model::{Composite, Member, Surface, TypeRef};
    use depsurf_surface::store::StoreBuilder;

    fn composite(members: &[(&str, u32, &str)]) -> Composite {
        Composite {
            size: 16,
            members: members
                .iter()
                .map(|(n, off, ty)| Member {
                    name: n.to_string(),
                    bit_offset: *off,
                    bitfield: 0,
                    ty: TypeRef::Int(ty.to_string()),
                })
                .collect(),
        }
    }

    /// Images a, b, c (a group of consecutive pairs) and d (against a): struct `gap` is
    /// absent from b and of another field type in c; `moved` only moves a field in c;
    /// `same` never changes; d changes `same`.
    fn dataset() -> Dataset {
        let mut sb = StoreBuilder::default();
        let ids = ["a", "b", "c", "d"];
        for id in ids {
            let mut s = Surface::default();
            let ty = if id == "c" { "long" } else { "int" };
            if id != "b" {
                s.structs.insert("gap".into(), composite(&[("x", 0, ty)]));
            }
            let off = if id == "c" { 64 } else { 0 };
            s.structs
                .insert("moved".into(), composite(&[("y", off, "int")]));
            let same = if id == "d" { "char" } else { "int" };
            s.structs
                .insert("same".into(), composite(&[("z", 0, same)]));
            sb.add(id, &s);
        }
        let label = |id: &str| Labelled {
            image: id.into(),
            label: id.into(),
        };
        let m = Manifest {
            format: 1,
            name: "t".into(),
            store: "t.dsf".into(),
            default: "a".into(),
            infer_groups: false,
            images: ids
                .iter()
                .map(|id| ImageMeta {
                    id: id.to_string(),
                    ..Default::default()
                })
                .collect(),
            groups: vec![
                Group {
                    name: "Regular".into(),
                    pairs: Pairing::Consecutive,
                    reference: None,
                    report: true,
                    images: vec![label("a"), label("b"), label("c")],
                },
                Group {
                    name: "Arch".into(),
                    pairs: Pairing::Reference,
                    reference: Some(label("a")),
                    report: true,
                    images: vec![label("c"), label("d")],
                },
            ],
        };
        Dataset::from_parts(
            &m.to_toml(),
            depsurf_image::Bytes::from_vec(sb.finish()),
            "test",
        )
        .unwrap()
    }

    fn states(ds: &Dataset, name: &str, g: usize, counts: &dyn Fn(&Change) -> bool) -> Vec<State> {
        let mut look = Lookup::new(ds, Kind::Struct, name);
        group_states(ds, &mut look, Kind::Struct, &ds.manifest.groups[g], counts).unwrap()
    }

    fn present(changed: bool) -> State {
        State::Present {
            changed,
            issues: Vec::new(),
        }
    }

    #[test]
    fn a_change_across_an_image_without_the_item_is_seen() {
        let ds = dataset();
        let all = |_: &Change| true;
        assert_eq!(
            states(&ds, "gap", 0, &all),
            [present(false), State::Absent, present(true)]
        );
        assert_eq!(
            states(&ds, "same", 0, &all),
            [present(false), present(false), present(false)]
        );
        // Against the reference: c and d each on their own.
        assert_eq!(
            states(&ds, "same", 1, &all),
            [present(false), present(true)]
        );
        assert_eq!(states(&ds, "gap", 1, &all), [present(true), present(false)]);
    }

    #[test]
    fn which_changes_count_is_the_callers_choice() {
        let ds = dataset();
        let all = |_: &Change| true;
        let no_layout = |c: &Change| !matches!(c, Change::LayoutChanged { .. });
        assert_eq!(states(&ds, "moved", 0, &all)[2], present(true));
        assert_eq!(states(&ds, "moved", 0, &no_layout)[2], present(false));
    }

    #[test]
    fn globs() {
        use super::matches;
        assert!(matches("task_*", "task_struct"));
        assert!(matches("*_struct", "task_struct"));
        assert!(matches("t?sk*", "task_struct"));
        assert!(!matches("task_?", "task_struct"));
        assert!(matches("sock", "inet_sock"));
        assert!(!matches("x*", "task"));
    }
}
