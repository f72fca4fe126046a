//! Helpers for the surface crate's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A file of tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

/// Whether the tools are installed; without them the test is skipped, except under
/// `DEPSURF_REQUIRE_TOOLS=1` (set by `.ci/run`).
pub fn have_tools(names: &[&str]) -> bool {
    for name in names {
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
            return false;
        }
    }
    true
}
