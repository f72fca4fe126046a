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
