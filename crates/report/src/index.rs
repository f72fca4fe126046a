//! Index pages (SPEC §6): every dependency of a kind, one column per image of each group,
//! with symbols: ∅ Absent, Δ Changed (and every later image of a group once the group has
//! seen a change), blank when present and unchanged; `?` for an image without types yet.

use std::fmt::Write as _;

use depsurf_surface::manifest::Pairing;
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
            let mut changed = false;
            let mut prev: Option<&str> = g.reference.as_ref().map(|r| r.image.as_str());
            for l in &g.images {
                let status = look.func_status(&l.image)?;
                let present = status.is_some() || look.get(&l.image)?.is_some();
                let cell = if !present && !ds.has_kind(&l.image, kind) {
                    UNKNOWN.to_string()
                } else if !present {
                    ABSENT.to_string()
                } else {
                    let now_changed = match prev {
                        Some(p) => look.changes(p, &l.image)?.is_some_and(|c| !c.is_empty()),
                        None => false,
                    };
                    match g.pairs {
                        Pairing::Consecutive => changed |= now_changed,
                        Pairing::Reference => changed = now_changed,
                    }
                    let mut symbols: Vec<&str> = Vec::new();
                    if changed {
                        symbols.push(CHANGED);
                    }
                    if let Some(f) = &status {
                        symbols.extend(f.issues().into_iter().map(issue_symbol));
                    }
                    symbols.join(" ")
                };
                cells.push(cell);
                if g.pairs == Pairing::Consecutive {
                    prev = Some(&l.image);
                }
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

/// The index as a Markdown page.
pub fn markdown(ix: &Index) -> String {
    let kind = Kind::parse(ix.kind).unwrap_or(Kind::Struct);
    let mut o = format!("# {} index\n\n", kind.title());
    o.push_str(
        "∅ Absent, Δ Changed, S Selective Inline, F Full Inline, D Duplicate, C Collision, \
         T Transformation, ? no types for this image\n\n| name |",
    );
    for c in &ix.columns {
        let _ = write!(o, " {} {} |", c.group, c.label);
    }
    o.push_str("\n|---|");
    for _ in &ix.columns {
        o.push_str(":-:|");
    }
    o.push('\n');
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
