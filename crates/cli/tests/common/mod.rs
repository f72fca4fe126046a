//! Helpers for the command-line tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

pub fn depsurf() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_depsurf"));
    c.arg("--quiet");
    c
}

/// Whether an external tool is installed. When it is not, the test is skipped with a
/// message, except under `DEPSURF_REQUIRE_TOOLS=1` (set by `.ci/run`), where that fails.
pub fn have_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{name} is required (DEPSURF_REQUIRE_TOOLS=1) but not installed");
        }
        eprintln!("SKIPPED: {name} is not installed (.ci/run installs it)");
    }
    found
}

/// The test programs of tests/bpf built into a temporary directory (by tests/bpf/make.sh):
/// the directory to keep and the objects' directory in it. `None` when clang, bpftool or xz
/// is missing (see [`have_tool`]).
pub fn build_test_objects() -> Option<(tempfile::TempDir, PathBuf)> {
    if !["clang", "bpftool", "xz"].iter().all(|t| have_tool(t)) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("obj");
    let make = fixture("../bpf/make.sh");
    let o = Command::new("bash").arg(&make).arg(&out).output().unwrap();
    assert!(o.status.success(), "tests/bpf/make.sh: {}", stderr(&o));
    Some((dir, out))
}

/// The test programs of tests/bpf built once for all the tests of one test binary, into
/// cargo's temporary directory for integration tests. `None` as for [`build_test_objects`].
pub fn shared_test_objects() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !["clang", "bpftool", "xz"].iter().all(|t| have_tool(t)) {
                return None;
            }
            let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("bpf-objects-{}", env!("CARGO_CRATE_NAME")));
            let make = fixture("../bpf/make.sh");
            let o = Command::new("bash").arg(&make).arg(&out).output().unwrap();
            assert!(o.status.success(), "tests/bpf/make.sh: {}", stderr(&o));
            Some(out)
        })
        .clone()
}

/// Runs a command, killing it after `secs` seconds (a hang is a failure). Output is read
/// while the command runs, so a large output cannot block it.
pub fn run_with_timeout(mut cmd: Command, secs: u64) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("command {cmd:?} did not finish within {secs} s");
        }
    }
}

/// Decompresses an xz fixture with the system's xz into `dir`, independently of depsurf.
pub fn unxz(fixture_rel: &str, dir: &Path) -> PathBuf {
    let src = fixture(fixture_rel);
    let name = src.file_name().unwrap().to_string_lossy();
    let out = dir.join(name.trim_end_matches(".xz"));
    let data = Command::new("xz")
        .arg("-dc")
        .arg(&src)
        .output()
        .expect("run xz");
    assert!(data.status.success(), "xz -dc {}", src.display());
    std::fs::write(&out, data.stdout).unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
