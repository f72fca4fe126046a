//! The website in a real browser: headless Chromium (Debian's chromium, chromium-driver and
//! python3-selenium, installed by .ci/run) opens a site `depsurf site` wrote, searches
//! task_struct, opens its page, expands a status and checks the definition it shows; then
//! opens a program check report from the home page and expands a verdict
//! (tests/browser/site.py). Screenshots are kept in the target directory.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

#[test]
fn search_open_and_expand_in_chromium() {
    let tools = ["/usr/bin/chromium", "/usr/bin/chromedriver"];
    let selenium = Command::new("/usr/bin/python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    if !tools.iter().all(|t| Path::new(t).exists()) || !selenium {
        assert!(
            std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "chromium, chromium-driver and python3-selenium are required (DEPSURF_REQUIRE_TOOLS=1)"
        );
        eprintln!("SKIPPED: chromium, chromium-driver or python3-selenium missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A program to report on: the test object whose field is absent on 5.10.
    let objs = dir.path().join("obj");
    let o = Command::new("bash")
        .arg(fixture("../bpf/make.sh"))
        .arg(&objs)
        .output()
        .unwrap();
    assert!(o.status.success(), "tests/bpf/make.sh: {}", stderr(&o));
    let site = dir.path().join("site");
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .args(["site", "--no-summary", "--kind", "struct", "--check"])
        .arg(objs.join("core_missing_field.bpf.o"))
        .arg("--out")
        .arg(&site);
    let o = run_with_timeout(c, 300);
    assert!(o.status.success(), "{}", stderr(&o));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let script = fixture("../browser/site.py");
    let o = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&site)
        .arg(&shots)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("ok: searched, opened task_struct, expanded a status"));
    assert!(stdout(&o).contains("ok: opened a program check, expanded a verdict"));
    for s in ["search.png", "task_struct.png", "check.png"] {
        let meta = std::fs::metadata(shots.join(s)).unwrap();
        assert!(meta.len() > 1000, "{s}");
    }
}
