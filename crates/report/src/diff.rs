//! Whole-image differences (`depsurf diff`) as Markdown, JSON and CSV.

use std::fmt::Write as _;

use depsurf_diff::images::{ImageDiff, KindDiff};
use serde_json::{Value, json};

use crate::report::change_report;

/// Every change name, in the order tables list them: SPEC §4's, then `Layout changed`.
pub const CHANGE_NAMES: [&str; 16] = [
    "Field added",
    "Field removed",
    "Field type changed",
    "Param added",
    "Param removed",
    "Param reordered",
    "Param type changed",
    "Return type changed",
    "Value added",
    "Value removed",
    "Value changed",
    "Event changed",
    "Func changed",
    "Format changed",
    "Config changed",
    "Layout changed",
];

fn kind_json(k: &KindDiff) -> Value {
    let mut v = json!({
        "old": k.old,
        "new": k.new,
        "added": k.added,
        "removed": k.removed,
        "changed": k.changed,
        "changes": k.changes,
        "details": {
            "added": k.added_names,
            "removed": k.removed_names,
            "changed": k.changed_items.iter().map(|(n, c)| json!({
                "name": n,
                "changes": c.iter().cloned().map(change_report).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
    });
    if let Some(c) = k.counted {
        v["counted"] = json!(c);
    }
    v
}

/// `{"schema": 1, "old": id, "new": id, "kinds": {"Struct": {...}, "Function": {...}}}`.
pub fn json(d: &ImageDiff) -> Value {
    let mut kinds = serde_json::Map::new();
    for k in &d.kinds {
        kinds.insert(k.kind.title().to_string(), kind_json(k));
    }
    json!({"schema": 1, "old": d.old, "new": d.new, "kinds": kinds})
}

/// The header of a CSV of kind counts: `prefix` columns, the counts, the change names.
pub(crate) fn csv_header(prefix: &str) -> String {
    let mut o = format!("{prefix},kind,old_count,new_count,added,removed,changed");
    for n in CHANGE_NAMES {
        let _ = write!(o, ",{n}");
    }
    o.push('\n');
    o
}

/// One CSV row of `k`'s counts after the `prefix` columns.
pub(crate) fn csv_row(o: &mut String, prefix: &[&str], k: &KindDiff) {
    for p in prefix {
        let _ = write!(o, "{p},");
    }
    let _ = write!(
        o,
        "{},{},{},{},{},{}",
        k.kind.title(),
        k.old,
        k.new,
        k.added,
        k.removed,
        k.changed
    );
    for n in CHANGE_NAMES {
        let _ = write!(o, ",{}", k.changes.get(n).copied().unwrap_or(0));
    }
    o.push('\n');
}

/// One row per kind: the counts, then one column per change name.
pub fn csv(d: &ImageDiff) -> String {
    let mut o = csv_header("old,new");
    for k in &d.kinds {
        csv_row(&mut o, &[&d.old, &d.new], k);
    }
    o
}

/// A summary table, the change names per kind, then every added, removed and changed item.
pub fn markdown(d: &ImageDiff) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Differences between `{}` and `{}`\n", d.old, d.new);
    let _ = writeln!(o, "| kind | old | new | added | removed | changed |");
    let _ = writeln!(o, "|---|--:|--:|--:|--:|--:|");
    for k in &d.kinds {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            k.kind.title(),
            k.old,
            k.new,
            k.added,
            k.removed,
            k.changed
        );
    }
    if let Some(c) = d.kinds.iter().find_map(|k| k.counted) {
        let _ = writeln!(o, "\nFunction: {}.", c.describe());
    }
    let used: Vec<&str> = CHANGE_NAMES
        .iter()
        .copied()
        .filter(|n| d.kinds.iter().any(|k| k.changes.contains_key(n)))
        .collect();
    if !used.is_empty() {
        let _ = writeln!(o, "\n## Changes by name\n");
        let _ = write!(o, "| kind |");
        for n in &used {
            let _ = write!(o, " {n} |");
        }
        let _ = write!(o, "\n|---|");
        for _ in &used {
            let _ = write!(o, "--:|");
        }
        o.push('\n');
        for k in d.kinds.iter().filter(|k| k.changed > 0) {
            let _ = write!(o, "| {} |", k.kind.title());
            for n in &used {
                let _ = write!(o, " {} |", k.changes.get(n).copied().unwrap_or(0));
            }
            o.push('\n');
        }
        let _ = writeln!(
            o,
            "\n`Layout changed`: an offset or size moved with no named change to explain it \
             (CO-RE relocates it; shown apart from the changes of SPEC §4)."
        );
    }
    for k in &d.kinds {
        if k.added + k.removed + k.changed == 0 {
            continue;
        }
        let _ = writeln!(o, "\n## {}\n", k.kind.title());
        for (what, names) in [("Added", &k.added_names), ("Removed", &k.removed_names)] {
            if !names.is_empty() {
                let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                let _ = writeln!(o, "**{what}** ({}): {}\n", names.len(), list.join(", "));
            }
        }
        if !k.changed_items.is_empty() {
            let _ = writeln!(o, "**Changed** ({}):\n", k.changed_items.len());
            for (n, changes) in &k.changed_items {
                let _ = writeln!(o, "- `{n}`");
                for c in changes {
                    write_change(&mut o, c, 1);
                }
            }
        }
    }
    o
}

fn write_change(o: &mut String, c: &depsurf_diff::Change, depth: usize) {
    let (code, new) = c.parts();
    let pad = "  ".repeat(depth);
    let shown = match new {
        Some(n) => format!("`{code}` ➡️ `{n}`"),
        None => format!("`{code}`"),
    };
    let _ = writeln!(o, "{pad}- {}: {shown}", c.name());
    for n in c.nested() {
        write_change(o, n, depth + 1);
    }
}
