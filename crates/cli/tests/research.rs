//! The research system's published dataset (its public part: 25 Ubuntu images, the files
//! `tracepoints/`, `syscalls/`, `config/`, `types_enum/`, `types_union/`, `types_int/` and
//! `comment/`), read from `../shared/research-dataset/` beside the repository: imported with
//! its identities and groups, its missing kinds unknown, its tracepoint pages rendered as the
//! research system's website has them (`../shared/research-pages/tracepoint-*.md`, byte for
//! byte), and exported back file for file.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn run_ok(args: &[&std::ffi::OsStr]) -> (String, String) {
    let mut c = depsurf();
    c.args(args);
    let o = run_with_timeout(c, 300);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    (stdout(&o), stderr(&o))
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// The published subset, unpacked into `dir` with the system's zstd and tar; `None` (the
/// test skipped) where the file or the tools are not there, except under
/// `DEPSURF_REQUIRE_TOOLS=1` (CI, which has `../shared` beside the clone), where that fails.
fn published(dir: &Path) -> Option<PathBuf> {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/research-dataset/published-subset.tar.zst");
    if !tarball.is_file() {
        if std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!(
                "{} is required (DEPSURF_REQUIRE_TOOLS=1) but not there",
                tarball.display()
            );
        }
        eprintln!("SKIPPED: {} is not there", tarball.display());
        return None;
    }
    if !have_tool("zstd") || !have_tool("tar") {
        return None;
    }
    let out = dir.join("published");
    std::fs::create_dir(&out).unwrap();
    let o = std::process::Command::new("sh")
        .arg("-ec")
        .arg("zstd -dc \"$1\" | tar -x -C \"$2\"")
        .arg("sh")
        .arg(&tarball)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(out)
}

/// The published subset unpacked into `dir` and imported into `dir/ds`: the unpacked
/// layout and the dataset; `None` as for [`published`].
fn imported(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let src = published(dir)?;
    let ds = dir.join("ds");
    run_ok(&[
        os("import"),
        src.as_os_str(),
        os("--dataset"),
        ds.as_os_str(),
    ]);
    Some((src, ds))
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn json_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

#[test]
fn the_published_dataset_imports_with_its_groups_and_exports_back_file_for_file() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((src, ds)) = imported(tmp.path()) else {
        return;
    };

    // Identity from the names, the research system's groups and default.
    let (text, _) = run_ok(&[os("dataset"), os("--json"), os("-d"), ds.as_os_str()]);
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["default"], "5.4.0-26-generic-amd64");
    let images = m["image"].as_array().unwrap();
    assert_eq!(images.len(), 25);
    let image = |id: &str| images.iter().find(|i| i["id"] == id).unwrap();
    for (id, release, series, abi, flavour, arch) in [
        (
            "5.4.0-26-generic-arm64",
            "5.4.0-26-generic",
            "5.4",
            "26",
            "generic",
            "arm64",
        ),
        (
            "5.4.0-1009-aws-amd64",
            "5.4.0-1009-aws",
            "5.4",
            "1009",
            "aws",
            "amd64",
        ),
        (
            "5.4.0-24-generic-riscv64",
            "5.4.0-24-generic",
            "5.4",
            "24",
            "generic",
            "riscv64",
        ),
        (
            "5.4.0-26-lowlatency-amd64",
            "5.4.0-26-lowlatency",
            "5.4",
            "26",
            "lowlatency",
            "amd64",
        ),
        (
            "4.4.0-21-generic-amd64",
            "4.4.0-21-generic",
            "4.4",
            "21",
            "generic",
            "amd64",
        ),
    ] {
        let i = image(id);
        assert_eq!(
            [
                &i["release"],
                &i["series"],
                &i["abi"],
                &i["flavour"],
                &i["arch"]
            ],
            [release, series, abi, flavour, arch],
            "{id}"
        );
        assert_eq!(i["distro"], "Ubuntu");
    }
    assert_eq!(
        image("6.8.0-31-generic-amd64")["compiler"],
        "GCC: (Ubuntu 13.2.0-23ubuntu4) 13.2.0; rustc version 1.75.0 (82e1608df 2023-12-21) \
         (built from a source tarball)"
    );
    for i in images {
        assert!(i["arch"].is_string() && i["flavour"].is_string(), "{i}");
    }
    let groups = m["group"].as_array().unwrap();
    let show = |g: &Value| {
        let labels: Vec<String> = g["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["label"].as_str().unwrap().to_string())
            .collect();
        let reference = g["reference"]["label"]
            .as_str()
            .map(|r| format!("{r} | "))
            .unwrap_or_default();
        format!(
            "{} {}{}{}",
            g["name"].as_str().unwrap(),
            reference,
            labels.join(" "),
            if g["report"] == false {
                " (hidden)"
            } else {
                ""
            }
        )
    };
    let shown: Vec<String> = groups.iter().map(show).collect();
    assert_eq!(
        shown,
        [
            "Regular 4.4 4.8 4.10 4.13 4.15 4.18 5.0 5.3 5.4 5.8 5.11 5.13 5.15 5.19 6.2 6.5 6.8",
            "LTS 4.4 4.15 5.4 5.15 6.8 (hidden)",
            "Revision 26 (hidden)",
            "Arch amd64 | arm64 armhf ppc64el riscv64",
            "Flavor generic | aws azure gcp lowlatency",
        ]
    );
    let reference = |name: &str| {
        groups.iter().find(|g| g["name"] == name).unwrap()["reference"]["image"].clone()
    };
    assert_eq!(reference("Arch"), "5.4.0-26-generic-amd64");
    assert_eq!(reference("Flavor"), "5.4.0-26-generic-amd64");

    // Kinds the public copy leaves out are unknown, not counted (the tracepoints' own
    // structs and functions are kept) and not absent.
    let (text, _) = run_ok(&[os("dataset"), os("-d"), ds.as_os_str()]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("5.4.0-26-generic-amd64 "))
        .unwrap();
    assert!(
        line.contains("structs unknown")
            && line.contains("functions unknown (status unknown, traceability unknown)")
            && line.contains("126 unions")
            && line.contains("752 tracepoints")
            && !line.contains("477 structs"),
        "{line}"
    );
    let (json, _) = run_ok(&[
        os("report"),
        os("struct"),
        os("task_struct"),
        os("-d"),
        ds.as_os_str(),
        os("--format"),
        os("json"),
    ]);
    let r: Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Regular", "Arch", "Flavor"]);
    for g in r["groups"].as_array().unwrap() {
        for s in g["status"].as_array().unwrap() {
            assert_eq!(s["presence"], "unknown", "{s}");
        }
    }
    let (json, _) = run_ok(&[
        os("report"),
        os("struct"),
        os("trace_event_raw_sched_switch"),
        os("-d"),
        ds.as_os_str(),
        os("--format"),
        os("json"),
    ]);
    let r: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(r["groups"][0]["status"][0]["presence"], "present");
    let (names, note) = run_ok(&[os("list"), os("syscall"), os("-d"), ds.as_os_str()]);
    assert!(names.lines().any(|l| l == "read"));
    assert!(
        !names.lines().any(|l| l == "ni_syscall"),
        "not a system call"
    );
    assert!(note.is_empty(), "{note}");
    let (_, note) = run_ok(&[os("list"), os("func"), os("-d"), ds.as_os_str()]);
    assert!(
        note.contains("funcs are unknown in 25 of 25 images"),
        "{note}"
    );

    // Exported back: every file of the public part, equal JSON values line for line (the
    // syscall tables and config files byte for byte); none for the kinds it lacks.
    let out = tmp.path().join("out");
    run_ok(&[os("export"), os("-d"), ds.as_os_str(), out.as_os_str()]);
    let mut counts = Vec::new();
    for dir in ["tracepoints", "types_enum", "types_union", "types_int"] {
        let names = files(&src.join(dir));
        assert_eq!(files(&out.join(dir)), names, "{dir}");
        let mut lines = 0;
        for f in &names {
            let (a, b) = (
                json_lines(&src.join(dir).join(f)),
                json_lines(&out.join(dir).join(f)),
            );
            assert_eq!(a.len(), b.len(), "{dir}/{f}");
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert_eq!(x, y, "{dir}/{f}:{}", i + 1);
            }
            lines += a.len();
        }
        counts.push((dir, names.len(), lines));
    }
    for (dir, unit) in [("syscalls", "entries"), ("config", "lines")] {
        let names = files(&src.join(dir));
        assert_eq!(files(&out.join(dir)), names, "{dir}");
        let mut n = 0;
        for f in &names {
            let (a, b) = (
                std::fs::read_to_string(src.join(dir).join(f)).unwrap(),
                std::fs::read_to_string(out.join(dir).join(f)).unwrap(),
            );
            assert!(a == b, "{dir}/{f} differs");
            n += if dir == "syscalls" {
                let v: Value = serde_json::from_str(&a).unwrap();
                v.as_object().unwrap().len()
            } else {
                a.lines().count()
            };
        }
        eprintln!("{dir}: {} files equal, {n} {unit}", names.len());
        counts.push((dir, names.len(), n));
    }
    for dir in ["types_struct", "types_func", "func_groups"] {
        assert!(
            files(&out.join(dir)).is_empty(),
            "{dir}: unknown, so no file"
        );
    }
    assert_eq!(
        counts,
        [
            ("tracepoints", 25, 18_208),
            ("types_enum", 25, 29_228),
            ("types_union", 25, 2_887),
            ("types_int", 25, 399),
            ("syscalls", 25, 11_900),
            ("config", 25, 255_654),
        ]
    );
}

/// The research system's tracepoint pages, rendered from its own published data: each of the
/// pages in `../shared/research-pages/` byte for byte (groups Regular, Arch and Flavor, their
/// labels, `Event:` and `Function:` blocks, changes as the pages list them).
#[test]
fn the_published_dataset_renders_the_research_tracepoint_pages_byte_for_byte() {
    let pages = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/research-pages");
    let tmp = tempfile::tempdir().unwrap();
    let Some((_, ds)) = imported(tmp.path()) else {
        return;
    };
    let mut checked = 0;
    for name in ["sched_switch", "bdi_dirty_ratelimit", "ack_update_msk"] {
        let page = pages.join(format!("tracepoint-{name}.md"));
        let want =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let (got, _) = run_ok(&[
            os("report"),
            os("tracepoint"),
            os(name),
            os("--format"),
            os("md"),
            os("-d"),
            ds.as_os_str(),
        ]);
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            panic!(
                "tracepoint {name} differs from {} first at line {}:\n got: {:?}\nwant: {:?}",
                page.display(),
                line + 1,
                got.lines().nth(line),
                want.lines().nth(line)
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}
