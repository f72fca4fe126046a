//! Reports, index pages, and moving datasets in and out of the research layout.

mod common;
use common::*;
use std::path::Path;

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let mut c = depsurf();
    c.args(args);
    let o = run_with_timeout(c, 120);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn seed_dataset(dir: &Path) -> std::path::PathBuf {
    let ds = dir.join("seed");
    run_ok(&[
        os("import"),
        fixture("seed-dataset").as_os_str(),
        os("--dataset"),
        ds.as_os_str(),
    ]);
    ds
}

#[test]
fn the_seed_report_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let ds = seed_dataset(dir.path());
    let out = run_ok(&[
        os("report"),
        os("struct"),
        os("kvm_arch_memory_slot"),
        os("-d"),
        ds.as_os_str(),
    ]);
    let golden =
        std::fs::read_to_string(fixture("../golden/struct-kvm_arch_memory_slot.md")).unwrap();
    assert_eq!(out, golden);
}

#[test]
fn json_report_has_the_same_information() {
    let dir = tempfile::tempdir().unwrap();
    let ds = seed_dataset(dir.path());
    let out = run_ok(&[
        os("report"),
        os("struct"),
        os("kvm_arch_memory_slot"),
        os("-d"),
        ds.as_os_str(),
        os("--format"),
        os("json"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["kind"], "struct");
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    let regular = &groups[0];
    assert_eq!(regular["status"].as_array().unwrap().len(), 17);
    assert_eq!(regular["status"][0]["presence"], "absent");
    assert_eq!(regular["status"][16]["label"], "6.8");
    let diffs = regular["differences"].as_array().unwrap();
    let changed: Vec<&serde_json::Value> =
        diffs.iter().filter(|d| d["state"] == "changed").collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["old"]["label"], "6.5");
    let names: Vec<&str> = changed[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Field added", "Field removed"]);
    assert_eq!(
        changed[0]["changes"][0]["code"],
        "short unsigned int *gfn_write_track"
    );
    // Arch: pairs exist but each lacks the item on a side; Flavor: left out entirely.
    assert_eq!(
        groups[1]["differences"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["state"] != "absent")
            .count(),
        0
    );
    assert!(groups[2]["differences"].is_null());
}

#[test]
fn unknown_names_get_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let ds = seed_dataset(dir.path());
    let mut c = depsurf();
    c.args(["report", "struct", "kvm_arch_memory_slots", "-d"])
        .arg(&ds);
    let o = run_with_timeout(c, 60);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean kvm_arch_memory_slot?"),
        "{}",
        stderr(&o)
    );
    let mut c = depsurf();
    c.args(["report", "structs2", "x"]);
    let o = run_with_timeout(c, 60);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown kind"), "{}", stderr(&o));
}

#[test]
fn list_and_index_page() {
    let dir = tempfile::tempdir().unwrap();
    let ds = seed_dataset(dir.path());
    let names = run_ok(&[
        os("list"),
        os("struct"),
        os("kvm_*"),
        os("-d"),
        ds.as_os_str(),
    ]);
    assert_eq!(names, "kvm_arch_memory_slot\n");
    let md = run_ok(&[
        os("list"),
        os("struct"),
        os("-d"),
        ds.as_os_str(),
        os("--format"),
        os("md"),
    ]);
    let row = md
        .lines()
        .find(|l| l.starts_with("| `kvm_arch_memory_slot`"))
        .unwrap();
    let parts: Vec<&str> = row.split('|').map(str::trim).collect();
    // "| `name` | c1 | ... | cN |" splits into "", name, cells..., "".
    let cells = &parts[2..parts.len() - 1];
    assert_eq!(cells.len(), 17 + 4 + 4);
    // Regular: ten absent, six present unchanged, then changed in 6.8.
    assert_eq!(cells[..10], ["∅"; 10]);
    assert_eq!(cells[10..16], [""; 6]);
    assert_eq!(cells[16], "Δ");
    // Arch: arm64 and ppc64el have it, the reference (5.4) does not: nothing to compare.
    assert_eq!(cells[17..21], ["", "∅", "", "∅"]);
    assert_eq!(cells[21..], ["∅"; 4]);
}

#[test]
fn export_and_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    run_ok(&[
        os("extract"),
        fixture("btf/6.1.0-47-amd64.btf.xz").as_os_str(),
        fixture("btf/7.2.13+deb14-amd64.btf.xz").as_os_str(),
        os("--dataset"),
        ds.as_os_str(),
    ]);
    let out = dir.path().join("research");
    run_ok(&[os("export"), os("-d"), ds.as_os_str(), out.as_os_str()]);
    for f in [
        "types_struct",
        "types_union",
        "types_enum",
        "types_func",
        "config",
    ] {
        assert!(out.join(f).is_dir(), "{f}");
    }
    let line = std::fs::read_to_string(out.join("types_struct/6.1.0-47-amd64.jsonl")).unwrap();
    let list_head = line
        .lines()
        .find(|l| l.starts_with(r#"{"kind":"STRUCT","name":"list_head","#))
        .unwrap();
    assert_eq!(
        list_head,
        r#"{"kind":"STRUCT","name":"list_head","size":16,"members":[{"name":"next","bits_offset":0,"type":{"kind":"PTR","type":{"kind":"STRUCT","name":"list_head"}}},{"name":"prev","bits_offset":64,"type":{"kind":"PTR","type":{"kind":"STRUCT","name":"list_head"}}}]}"#
    );
    // Unnamed parameters of function pointers are named as the research system names them.
    let fops = line
        .lines()
        .find(|l| l.starts_with(r#"{"kind":"STRUCT","name":"file_operations","#))
        .unwrap();
    assert!(
        fops.contains(r#""params":[{"name":"(anon)","type""#)
            && fops.contains(r#"{"name":"(anon-1)","type""#)
            && !fops.contains(r#""name":"","#),
        "{fops}"
    );
    let back = dir.path().join("back");
    run_ok(&[
        os("import"),
        out.as_os_str(),
        os("--dataset"),
        back.as_os_str(),
    ]);
    for (kind, name) in [
        ("struct", "task_struct"),
        ("func", "vfs_read"),
        ("enum", "bpf_prog_type"),
        ("lsm", "file_open"),
        ("union", "bpf_attr"),
    ] {
        let a = run_ok(&[os("report"), os(kind), os(name), os("-d"), ds.as_os_str()]);
        let b = run_ok(&[os("report"), os(kind), os(name), os("-d"), back.as_os_str()]);
        assert_eq!(a, b, "{kind} {name}");
    }
    let a = run_ok(&[os("list"), os("func"), os("-d"), ds.as_os_str()]);
    let b = run_ok(&[os("list"), os("func"), os("-d"), back.as_os_str()]);
    assert_eq!(a, b);
    assert!(a.lines().count() > 50_000);
    // Exporting over an existing directory is refused.
    let mut c = depsurf();
    c.args(["export", "-d"]).arg(&ds).arg(&out);
    let o = run_with_timeout(c, 60);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"));
}

#[test]
fn edited_groups_survive_extract() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    run_ok(&[
        os("extract"),
        fixture("btf/6.1.0-47-amd64.btf.xz").as_os_str(),
        os("-d"),
        ds.as_os_str(),
    ]);
    let m = ds.join("manifest.toml");
    let text = std::fs::read_to_string(&m).unwrap();
    assert!(text.contains("infer_groups = true"));
    let edited = text
        .replace("infer_groups = true", "infer_groups = false")
        .replace("label = \"6.1\"", "label = \"bookworm\"");
    std::fs::write(&m, edited).unwrap();
    run_ok(&[
        os("extract"),
        fixture("btf/7.2.13+deb14-amd64.btf.xz").as_os_str(),
        os("-d"),
        ds.as_os_str(),
    ]);
    let after = std::fs::read_to_string(&m).unwrap();
    assert!(after.contains("label = \"bookworm\""), "{after}");
    assert!(after.contains("id = \"7.2.13+deb14-amd64\""));
    let report = run_ok(&[
        os("report"),
        os("struct"),
        os("task_struct"),
        os("-d"),
        ds.as_os_str(),
    ]);
    assert!(report.contains("In <code>bookworm</code>: ✅"));
    // With inference back on, the new image joins Regular.
    std::fs::write(
        &m,
        after.replace("infer_groups = false", "infer_groups = true"),
    )
    .unwrap();
    run_ok(&[
        os("extract"),
        fixture("btf/7.2.13+deb14-amd64.btf.xz").as_os_str(),
        os("-d"),
        ds.as_os_str(),
    ]);
    let report = run_ok(&[
        os("report"),
        os("struct"),
        os("task_struct"),
        os("-d"),
        ds.as_os_str(),
    ]);
    assert!(report.contains("Changed between <code>6.1</code> and <code>7.2</code>"));
}

/// The research pages print a bitfield member like any other (`bool mmapped;`); the width
/// stays in the JSON (and on the website).
#[test]
fn markdown_prints_bitfields_as_the_research_pages_do() {
    let md = run_ok(&[os("report"), os("struct"), os("kernfs_open_file")]);
    assert!(md.contains("\n    bool mmapped;\n"), "{md}");
    assert!(!md.contains("mmapped:1"), "{md}");
    let md = run_ok(&[os("report"), os("field"), os("kernfs_open_file::mmapped")]);
    assert!(
        md.contains("</summary>\n\nbool mmapped\n</details>"),
        "{md}"
    );
    let json = run_ok(&[
        os("report"),
        os("struct"),
        os("kernfs_open_file"),
        os("--format"),
        os("json"),
    ]);
    assert!(json.contains("bool mmapped:1;"), "{json}");
}
