//! `depsurf check --format study`: the study's program tables for the test programs of
//! tests/bpf against the bundled dataset, as a golden (tests/golden/bundled/study-tests-bpf.md,
//! checked by hand against the reports of the dependencies it lists when written); the CSVs
//! and the figure agree with the page; every dependency the tables call absent in an image
//! is absent there for `check` too; `--map NAME=` and `--program` shape what is counted.
//!
//! `DEPSURF_BLESS=1 cargo test --test study` rewrites the golden (then check it again).

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn objects(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    v
}

fn study(objs: &[PathBuf], extra: &[&str], out: Option<&Path>) -> String {
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .arg("check")
        .args(objs)
        .args(["--format", "study"])
        .args(extra);
    if let Some(o) = out {
        c.arg("--out").arg(o);
    }
    let o = run_with_timeout(c, 120);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// The per-program rows of the page: name → the 17 cells.
fn page_rows(md: &str) -> BTreeMap<String, Vec<String>> {
    let section = md.split("## Per program").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| program"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

#[test]
fn the_test_programs_tables() {
    let Some(out) = shared_test_objects() else {
        return;
    };
    let objs = objects(&out);
    assert_eq!(objs.len(), 17);
    let dir = tempfile::tempdir().unwrap();
    let printed = study(&objs, &[], None);
    study(&objs, &[], Some(dir.path()));
    let md = std::fs::read_to_string(dir.path().join("study.md")).unwrap();
    // The page printed is the page written, but for the figure's link.
    assert_eq!(printed, md.split("\n## Figure").next().unwrap());

    let golden = fixture("../golden/bundled/study-tests-bpf.md");
    if std::env::var("DEPSURF_BLESS").as_deref() == Ok("1") {
        std::fs::write(&golden, &md).unwrap();
    } else {
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (DEPSURF_BLESS=1 writes it)", golden.display()));
        assert_eq!(md, want);
    }

    // The programs' CSV holds the page's numbers.
    let rows = page_rows(&md);
    assert_eq!(rows.len(), 18, "17 programs and the unique row: {rows:?}");
    let csv = std::fs::read_to_string(dir.path().join("study-programs.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("program,object,func,func_absent,func_changed,"));
    assert!(header.ends_with(",syscall,syscall_absent"));
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        let name = if cells[0] == "(unique)" {
            "**unique**"
        } else {
            cells[0]
        };
        let page: Vec<String> = rows[name]
            .iter()
            .map(|c| if c == "-" { "0".into() } else { c.clone() })
            .collect();
        assert_eq!(cells[2..], page[..], "{name}");
    }
    let summary = std::fs::read_to_string(dir.path().join("study-summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 17);

    // One row per dependency and image; what the tables call absent is absent for check.
    let deps = std::fs::read_to_string(dir.path().join("study-dependencies.csv")).unwrap();
    let images = 9; // Regular 5.10, 6.1, 6.12, 7.2; Arch arm64, armhf, i386, ppc64el, s390x
    // Σ of each kind: Function, Struct, Field, Tracepoint, Syscall.
    let unique: usize = [0, 7, 9, 12, 15]
        .iter()
        .map(|&i| rows["**unique**"][i].parse::<usize>().unwrap_or(0))
        .sum();
    assert_eq!(deps.lines().count(), 1 + unique * images);
    let mut absent: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for l in deps.lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        if c[5] == "absent" {
            absent.push((
                c[0].into(),
                c[1].into(),
                c[3].into(),
                c[6].split(' ').map(str::to_string).collect(),
            ));
        }
    }
    assert!(absent.len() >= 20, "{absent:?}");
    let mut checks: BTreeMap<String, Value> = BTreeMap::new();
    let mut confirmed = 0;
    for (kind, name, image, programs) in &absent {
        for p in programs {
            let v = checks.entry(p.clone()).or_insert_with(|| {
                let mut c = depsurf();
                c.env_remove("DEPSURF_DATASET")
                    .arg("check")
                    .arg(out.join(format!("{p}.bpf.o")))
                    .args(["--format", "json"]);
                serde_json::from_str(&stdout(&run_with_timeout(c, 60))).unwrap()
            });
            let rows = v["objects"][0]["rows"].as_array().unwrap();
            let names_it = |r: &Value| -> bool {
                let t = &r["target"];
                match kind.as_str() {
                    "func" => t["func"] == name.as_str(),
                    "tracepoint" => t["event"] == name.as_str(),
                    "syscall" => t["kind"] == "syscall" && t["name"] == name.as_str(),
                    "struct" => t["hops"]
                        .as_array()
                        .is_some_and(|h| h.iter().any(|h| h["owner"] == name.as_str())),
                    "field" => t["hops"].as_array().is_some_and(|h| {
                        h.iter().any(|h| {
                            format!(
                                "{}::{}",
                                h["owner"].as_str().unwrap(),
                                h["field"].as_str().unwrap()
                            ) == *name
                        })
                    }),
                    _ => false,
                }
            };
            let mine: Vec<&Value> = rows.iter().filter(|r| names_it(r)).collect();
            if kind == "struct" && mine.is_empty() {
                // A struct named only by a type relocation or a struct_ops map.
                continue;
            }
            assert!(!mine.is_empty(), "{p}: no check row for {kind} {name}");
            for r in mine {
                let st = r["cells"][image.as_str()]["status"].as_str().unwrap();
                assert!(
                    st == "absent" || st == "guard_false",
                    "{p}: {kind} {name} is absent from {image} for the tables, {st} for check"
                );
                confirmed += 1;
            }
        }
    }
    assert!(confirmed >= 20, "{confirmed}");

    // The figure: each of its programs named, a cell per dependency with an issue and image.
    let svg = std::fs::read_to_string(dir.path().join("study-figure.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    let figure = md.split("## Figure").nth(1).unwrap();
    let issues: usize = md
        .split("## Dependencies with an issue")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| kind"))
        .map(|l| l.split(" | ").nth(2).unwrap().split(", ").count())
        .sum();
    for p in ["attach_kinds", "kprobe_clones", "tp_kinds"] {
        assert!(
            figure.contains(p) && svg.contains(&format!(">\n{p}\n<")),
            "{p}"
        );
    }
    // The background, the cells, four legend boxes with their frames.
    assert_eq!(svg.matches("<rect").count(), 1 + issues * images + 8);
}

#[test]
fn placeholders_and_chosen_programs() {
    let Some(out) = shared_test_objects() else {
        return;
    };
    let obj = [out.join("attach_kinds.bpf.o")];
    let all = study(&obj, &[], None);
    assert!(
        all.contains("| attach_kinds | 6 | 2 | - | 1 | 1 | 1 | - |"),
        "{all}"
    );
    // do_tkill set at run time to no kernel item: one function fewer, and said so.
    let mapped = study(&obj, &["--map", "do_tkill="], None);
    assert!(
        mapped.contains("| attach_kinds | 5 | 2 | - | - | 1 | 1 | - |"),
        "{mapped}"
    );
    assert!(mapped.contains("- attach targets set at run time (`--map NAME=`): do_tkill"));
    // Only the programs a loader loads: their dependencies alone.
    let one = study(&obj, &["--program", "kprobe_inlined"], None);
    assert!(
        one.contains("| attach_kinds | 1 | - | - | 1 | - | - | - |"),
        "{one}"
    );
    // The register struct a kprobe reads its arguments through is left out, and counted.
    assert!(
        all.contains("- field of the register struct pt_regs: 3"),
        "{all}"
    );
    assert!(!all.contains("`pt_regs"));
}

#[test]
fn objects_embedded_in_a_binary_are_programs_of_their_own() {
    let Some(out) = shared_test_objects() else {
        return;
    };
    if !["ld", "gcc"].iter().all(|t| have_tool(t)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(out.join("attach_kinds.bpf.o"), d.join("a.o")).unwrap();
    std::fs::copy(out.join("kprobe_clones.bpf.o"), d.join("b.o")).unwrap();
    std::fs::write(d.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let o = std::process::Command::new("sh")
        .arg("-ec")
        .arg("ld -r -b binary -o blobs.o a.o b.o\ngcc -o loader main.c blobs.o")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let page = study(&[d.join("loader")], &[], None);
    let rows = page_rows(&page);
    let names: Vec<&String> = rows.keys().filter(|n| n.starts_with("loader@0x")).collect();
    assert_eq!(names.len(), 2, "{page}");
    // The binary's name chooses both for the figure.
    let fig = tempfile::tempdir().unwrap();
    study(
        &[d.join("loader")],
        &["--figure", "loader"],
        Some(fig.path()),
    );
    let md = std::fs::read_to_string(fig.path().join("study.md")).unwrap();
    let figure = md.split("## Figure").nth(1).unwrap();
    for n in names {
        assert!(figure.contains(n.as_str()), "{n}: {figure}");
    }
}

#[test]
fn options_of_the_study_alone_are_refused_elsewhere() {
    let bad = |args: &[&str], says: &str| {
        let mut c = depsurf();
        c.env_remove("DEPSURF_DATASET")
            .arg("check")
            .arg("prog.bpf.o")
            .args(args);
        let o = run_with_timeout(c, 60);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    };
    bad(
        &["--out", "/nonexistent"],
        "--out writes the study's tables",
    );
    bad(&["--figure", "x"], "--figure chooses the programs");
    bad(
        &["--format", "study", "--image", "6.1"],
        "--image does not apply to --format study",
    );
}
