//! Finding the guest binary (`depsurf-guest`, the initramfs's `/init`), or building it.
//!
//! In order: an explicit path; the `DEPSURF_GUEST` environment variable; else a build of the
//! guest's sources (`crates/verify/guest`, located at compile time) with
//! `cargo build --release --locked --target <arch>-unknown-linux-gnu` into the cache, as a
//! static binary (glibc's static libc with `-C target-feature=+crt-static`, and the static
//! libelf and zlib of the system). Cargo keeps that build incremental, so a second call
//! costs about a second.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The environment variable naming a prebuilt guest binary.
pub const GUEST_ENV: &str = "DEPSURF_GUEST";

/// A guest binary ready to go into an initramfs.
#[derive(Clone, Debug)]
pub struct Guest {
    pub path: PathBuf,
    /// SHA-256 of the binary (part of every result's cache key).
    pub sha256: String,
    /// The shared libraries it needs (empty for the static build).
    pub libraries: Vec<PathBuf>,
}

/// The guest's source directory (its own cargo package).
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest")
}

/// The target triple the guest is built for: the host's architecture (the guest runs on a
/// kernel of the same architecture; see docs/verify-internals.md for other ones).
pub fn target_triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// Finds the guest: `explicit`, else `$DEPSURF_GUEST`, else builds it under `cache_dir`.
/// `progress` receives a line before a build starts (which can take minutes the first time).
pub fn locate(explicit: Option<&Path>, cache_dir: &Path, progress: &dyn Fn(&str)) -> Result<Guest> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os(GUEST_ENV).filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => build(cache_dir, progress)?,
        },
    };
    let bytes =
        std::fs::read(&path).map_err(|e| Error::Guest(format!("{}: {e}", path.display())))?;
    if !bytes.starts_with(b"\x7fELF") {
        return Err(Error::Guest(format!(
            "{} is not an ELF executable",
            path.display()
        )));
    }
    let libraries =
        crate::initramfs::shared_libraries(&path).map_err(|e| Error::Guest(e.to_string()))?;
    Ok(Guest {
        sha256: crate::kernel::sha256_hex(&bytes),
        path,
        libraries,
    })
}

/// The directory that holds libelf.a and libz.a: pkg-config's answer for libelf, else the
/// usual places.
fn static_lib_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(out) = Command::new("pkg-config")
        .args(["--variable=libdir", "libelf"])
        .output()
        && out.status.success()
    {
        let d = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !d.is_empty() {
            candidates.push(PathBuf::from(d));
        }
    }
    let arch = std::env::consts::ARCH;
    for d in [
        format!("/usr/lib/{arch}-linux-gnu"),
        "/usr/lib64".to_string(),
        "/usr/lib".to_string(),
    ] {
        candidates.push(PathBuf::from(d));
    }
    candidates
        .into_iter()
        .find(|d| d.join("libelf.a").exists() && d.join("libz.a").exists())
}

/// What building the guest needs and this machine lacks, in words (with what to install);
/// `None` when everything is there. Cargo itself is not checked (see [`build`]).
pub fn missing_build_prerequisites() -> Option<String> {
    let mut missing = Vec::new();
    if static_lib_dir().is_none() {
        missing.push("the static libelf and zlib (Debian: libelf-dev zlib1g-dev)");
    }
    for (tool, what) in [
        ("make", "make"),
        ("pkg-config", "pkg-config"),
        ("cc", "a C compiler (gcc)"),
    ] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            missing.push(what);
        }
    }
    (!missing.is_empty()).then(|| format!("building the verify guest needs {}", missing.join(", ")))
}

/// Builds the guest into `cache_dir/guest-target` and returns the binary's path.
pub fn build(cache_dir: &Path, progress: &dyn Fn(&str)) -> Result<PathBuf> {
    let src = source_dir();
    let manifest = src.join("Cargo.toml");
    if !manifest.exists() {
        return Err(Error::Guest(format!(
            "its sources are not at {} (this depsurf was built elsewhere): build the guest \
             there with `cargo build --release --target {}` and set {GUEST_ENV} to the binary",
            src.display(),
            target_triple()
        )));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let lib_dir = static_lib_dir().ok_or_else(|| {
        Error::Guest(
            "building it needs the static libelf and zlib libraries (libelf.a, libz.a), \
             which were not found: install them (Debian: apt-get install libelf-dev \
             zlib1g-dev), or set DEPSURF_GUEST to a prebuilt guest"
                .into(),
        )
    })?;
    let target_dir = cache_dir.join("guest-target");
    let triple = target_triple();
    progress(&format!(
        "building the verify guest with cargo in {} (minutes the first time, about a second \
         when it is up to date) ...",
        target_dir.display()
    ));
    let out = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            &triple,
            "--manifest-path",
        ])
        .arg(&manifest)
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static")
        .env("LIBBPF_SYS_LIBRARY_PATH", &lib_dir)
        .env_remove("RUSTFLAGS")
        .output()
        .map_err(|e| {
            Error::Guest(if e.kind() == std::io::ErrorKind::NotFound {
                "building it needs cargo (a Rust toolchain), which is not installed; or set \
                 DEPSURF_GUEST to a prebuilt guest"
                    .to_string()
            } else {
                format!("cannot run cargo: {e}")
            })
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(25)..].join("\n");
        return Err(Error::Guest(format!(
            "cargo build failed{}:\n{tail}",
            build_hint(&stderr)
        )));
    }
    let bin = target_dir
        .join(&triple)
        .join("release")
        .join("depsurf-guest");
    if !bin.exists() {
        return Err(Error::Guest(format!(
            "cargo build succeeded but {} is missing",
            bin.display()
        )));
    }
    Ok(bin)
}

/// A hint for the usual causes of a failed build.
fn build_hint(stderr: &str) -> &'static str {
    if stderr.contains("native static library `elf`") || stderr.contains("libelf") {
        " (libelf missing? Debian: apt-get install libelf-dev)"
    } else if stderr.contains("native static library `z`") {
        " (zlib missing? Debian: apt-get install zlib1g-dev)"
    } else if stderr.contains("pkg-config") || stderr.contains("could not execute make") {
        " (libbpf's build needs make, pkg-config and a C compiler: apt-get install make \
         pkg-config gcc)"
    } else if stderr.contains("target may not be installed") {
        " (the Rust standard library for this target is missing: rustup target add)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sources_are_where_the_build_looks() {
        assert!(source_dir().join("Cargo.toml").exists());
        assert!(
            source_dir().join("Cargo.lock").exists(),
            "the guest's lock file is committed"
        );
    }

    #[test]
    fn a_non_elf_guest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("guest");
        std::fs::write(&p, b"#!/bin/sh\n").unwrap();
        let e = locate(Some(&p), dir.path(), &|_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an ELF"), "{e}");
        let e = locate(Some(&dir.path().join("none")), dir.path(), &|_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("none"), "{e}");
    }

    #[test]
    fn build_failures_get_hints() {
        assert!(
            build_hint("error: could not find native static library `elf`").contains("libelf-dev")
        );
        assert!(
            build_hint("error: could not find native static library `z`, perhaps")
                .contains("zlib1g-dev")
        );
        assert_eq!(build_hint("error[E0425]: cannot find value"), "");
    }
}
