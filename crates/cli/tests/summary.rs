//! `depsurf summary` of the bundled dataset: every group's pairs, the change names, the
//! function statistics (checked against the classification of issue 4), CSV and SVG.

mod common;
use common::*;

#[test]
fn the_bundled_dataset_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .args(["summary", "--out"])
        .arg(dir.path());
    let o = run_with_timeout(c, 300);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    for g in [
        "## Regular",
        "## LTS",
        "## Revision",
        "## Arch",
        "## Flavor",
    ] {
        assert!(md.contains(g), "{g}");
    }
    // 5.10 -> 6.1: lookup of syscalls added is part of the pair row; the Arch group compares
    // with amd64.
    assert!(md.contains("| 5.10 → 6.1 |"), "{md}");
    assert!(md.contains("| amd64 → s390x |"), "{md}");
    // Issue 4's classification of 6.1.0-47-amd64: 29,727 Full Inline, 5,221 Selective,
    // 3,806 transformed, 6,018 static duplicates, 23 + 305 collisions.
    assert!(
        md.contains("| 6.1.0-47-amd64 | 74656 | 74656 | 29727 (39.8%) | 5221 (7.0%) | 3806 (5.1%) | 6018 (8.1%) | 328 (0.4%) |"),
        "{md}"
    );
    let csv = std::fs::read_to_string(dir.path().join("summary-pairs.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("group,old,new,kind,") && header.ends_with("Layout changed"));
    // One row per pair and kind; Regular has 3 pairs of 10 kinds.
    let regular = csv.lines().filter(|l| l.starts_with("Regular,")).count();
    assert_eq!(regular, 30);
    let svg = std::fs::read_to_string(dir.path().join("summary-functions.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Function status per image"));
    assert!(svg.matches("<rect").count() >= 13 * 5);
    let funcs = std::fs::read_to_string(dir.path().join("summary-functions.csv")).unwrap();
    assert_eq!(funcs.lines().count(), 14);
}
