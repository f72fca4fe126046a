//! `depsurf site` on part of the bundled dataset: the pages exist, link to each other,
//! carry the reports' content with highlighted C, need no network, and the search index
//! covers every name.

mod common;
use common::*;

#[test]
fn a_site_of_lsm_hooks_and_syscalls() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .args([
            "site",
            "--no-summary",
            "--kind",
            "lsm",
            "--kind",
            "syscall",
            "--out",
        ])
        .arg(&out);
    let o = run_with_timeout(c, 300);
    assert!(o.status.success(), "{}", stderr(&o));
    let read =
        |p: &str| std::fs::read_to_string(out.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let home = read("index.html");
    assert!(
        home.contains("href=\"lsm/index.html\"") && home.contains("href=\"syscall/index.html\"")
    );
    // The report of an LSM hook, as the seed report's structure in HTML.
    let page = read("lsm/file_open.html");
    assert!(page.contains("<h1>LSM hook: <code>file_open</code></h1>"));
    assert!(page.contains(
        "<summary>In <code>6.1</code>: <span aria-label=\"present\">✅</span></summary>"
    ));
    assert!(
        page.contains("<span class=\"kw\">struct</span> file *file"),
        "highlighted C"
    );
    assert!(page.contains("<h2 id=\"differences\">Differences</h2>"));
    // A syscall absent on one architecture.
    let open = read("syscall/open.html");
    assert!(open.contains("In <code>arm64</code>: Absent"), "{open}");
    // Index pages link every name to its page.
    let ix = read("syscall/index.html");
    assert!(ix.contains("<a href=\"openat.html\">openat</a>"));
    assert!(ix.contains("<th scope=\"col\">s390x</th>"));
    // Search covers every page; nothing is fetched from the network.
    let js = read("search-index.js");
    assert!(js.contains("[\"lsm\",\"file_open\",\"lsm/file_open.html\"]"));
    let pages = std::fs::read_dir(out.join("lsm")).unwrap().count()
        + std::fs::read_dir(out.join("syscall")).unwrap().count();
    assert!(pages > 500, "{pages} pages");
    for p in [
        "index.html",
        "search.html",
        "dataset.html",
        "lsm/file_open.html",
        "syscall/index.html",
    ] {
        let t = read(p);
        assert!(
            !t.contains("http://") && !t.contains("https://"),
            "{p} refers to the network"
        );
        assert!(
            t.starts_with("<!doctype html>") && t.contains("<html lang=\"en\">"),
            "{p}"
        );
    }
    assert!(read("dataset.html").contains("6.1.0-47-amd64"));
}

/// The bundled dataset copied into `dir` with the data of one store section (`section`)
/// scrambled in its middle: the dataset opens, and fails when that section is decoded.
fn dataset_with_corrupt_section(dir: &std::path::Path, section: &str) -> std::path::PathBuf {
    let src = fixture("../../datasets/bundled");
    let ds = dir.join("ds");
    std::fs::create_dir_all(&ds).unwrap();
    let mut store_name = String::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".dsf") {
            store_name = n.clone();
        }
        std::fs::copy(e.path(), ds.join(&n)).unwrap();
    }
    let p = ds.join(store_name);
    let mut d = std::fs::read(&p).unwrap();
    let word = |d: &[u8], at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
    let count = u32::from_le_bytes(d[12..16].try_into().unwrap());
    let mut pos = 16;
    let mut found = None;
    for _ in 0..count {
        let n = usize::from(d[pos]);
        let name = String::from_utf8_lossy(&d[pos + 1..pos + 1 + n]).into_owned();
        pos += 1 + n;
        let (off, len) = (word(&d, pos) as usize, word(&d, pos + 8) as usize);
        pos += 24;
        if name == section {
            found = Some((off, len));
        }
    }
    let (off, len) = found.unwrap_or_else(|| panic!("no section {section}"));
    for b in &mut d[off + len / 2..off + len / 2 + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&p, d).unwrap();
    ds
}

#[test]
fn a_failed_site_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset_with_corrupt_section(dir.path(), "enums");
    let parent = dir.path().join("out");
    std::fs::create_dir(&parent).unwrap();
    let site = |out: &std::path::Path| {
        let mut c = depsurf();
        c.args(["site", "--no-summary", "--kind", "union", "--kind", "enum"])
            .arg("--dataset")
            .arg(&ds)
            .arg("--out")
            .arg(out);
        run_with_timeout(c, 300)
    };
    // Into an existing directory, pages are replaced in place: the union pages are written
    // before the enum pages fail, which shows the failure comes midway.
    let existing = parent.join("existing");
    std::fs::create_dir(&existing).unwrap();
    let o = site(&existing);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(std::fs::read_dir(existing.join("union")).unwrap().count() > 10);
    // A new site: nothing at all, not even the temporary directory.
    let o = site(&parent.join("new"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("depsurf: {}", ds.display()))
            && err.contains("the store is truncated or corrupt")
            && err.trim_end().lines().count() == 1
            && err.matches("the store is truncated or corrupt").count() == 1,
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["existing"]);
}

#[test]
fn verified_reports_that_do_not_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let site = |report: &std::path::Path| {
        let mut c = depsurf();
        c.env_remove("DEPSURF_DATASET")
            .args(["site", "--no-summary", "--kind", "enum", "--check"])
            .arg(dir.path().join("tool.bpf.o"))
            .arg("--verified")
            .arg(report)
            .arg("--out")
            .arg(dir.path().join("site"));
        run_with_timeout(c, 120)
    };
    let cases = [
        (
            "garbage.json",
            "{\"schema\": ",
            "not a report of depsurf verify",
        ),
        (
            "newer.json",
            r#"{"schema": 99, "dataset": "bundled", "objects": []}"#,
            "of schema 99",
        ),
        (
            "other.json",
            r#"{"schema": 1, "dataset": "debian-full", "objects": []}"#,
            "verified against dataset \"debian-full\"",
        ),
    ];
    for (name, text, says) in cases {
        let report = dir.path().join(name);
        std::fs::write(&report, text).unwrap();
        let o = site(&report);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&report.display().to_string()) && err.contains(says),
            "{name}: {err}"
        );
        assert!(!dir.path().join("site").exists(), "{name}");
    }
    // --verified without --check is a usage error.
    let mut c = depsurf();
    c.args(["site", "--verified", "r.json", "--out"])
        .arg(dir.path().join("site"));
    assert_eq!(run_with_timeout(c, 60).status.code(), Some(2));
}
