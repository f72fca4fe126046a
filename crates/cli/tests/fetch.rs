//! `depsurf fetch` against stand-ins for apt-cache, apt-get and dpkg that answer like the
//! real ones for a fixed set of packages, so resolution, caching and errors are tested
//! without a network.

mod common;
use common::*;
use std::path::Path;

const FAKE_APT: &str = r#"#!/bin/sh
# Stand-in for apt-cache / apt-get / dpkg; logs every call.
echo "$(basename "$0") $*" >> "$FAKE_LOG"
known() {
  case "$1" in
    linux-image-6.1.0-47-amd64-dbg|linux-image-6.1.0-47-amd64-unsigned|linux-image-6.1.0-47-amd64) echo "6.1.170-3 amd64 3000" ;;
    linux-image-7.2.13+deb14-amd64-dbg|linux-binary-7.2.13+deb14-amd64|linux-base-7.2.13+deb14-amd64) echo "7.2.13-1 amd64 2000" ;;
    linux-image-6.1.0-47-arm64-dbg:arm64|linux-image-6.1.0-47-arm64-unsigned:arm64) echo "6.1.170-3 arm64 1000" ;;
    linux-image-6.1.0-47-broken-dbg) echo "6.1.170-3 amd64 10" ;;
    *) return 1 ;;
  esac
}
case "$(basename "$0")" in
  dpkg) echo amd64 ;;
  apt-cache)
    shift 2; any=0
    for spec in "$@"; do
      info=$(known "$spec") || { echo "N: Unable to locate package $spec" >&2; continue; }
      any=1; set -- $info
      echo "Package: ${spec%%:*}"; echo "Version: $1"; echo "Architecture: $2"; echo "Size: $3"; echo
    done
    [ $any = 1 ] || { echo "E: No packages found" >&2; exit 100; } ;;
  apt-get)
    spec=$3; name=${spec%%:*}; rest=${spec#*:}; arch=${rest%%=*}; ver=${spec##*=}
    case $name in *broken*) echo "E: Failed to fetch $name  404  Not Found" >&2; exit 100 ;; esac
    size=$(known "$name" | cut -d' ' -f3) || size=$(known "$name:$arch" | cut -d' ' -f3)
    head -c "$size" /dev/zero > "${name}_${ver}_${arch}.deb" ;;
esac
"#;

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for tool in ["apt-cache", "apt-get", "dpkg"] {
            let p = bin.join(tool);
            std::fs::write(&p, FAKE_APT).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fake { dir }
    }

    fn cache(&self) -> std::path::PathBuf {
        self.dir.path().join("cache")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = depsurf();
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path)
            .env("FAKE_LOG", self.dir.path().join("log"))
            .arg("fetch")
            .arg("--cache")
            .arg(self.cache())
            .args(args);
        run_with_timeout(c, 30)
    }
}

#[test]
fn a_release_expands_to_its_packages() {
    let f = Fake::new();
    let o = f.run(&["--dry-run", "6.1.0-47-amd64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("linux-image-6.1.0-47-amd64-dbg\t6.1.170-3\tamd64"),
        "{out}"
    );
    assert!(
        out.contains("linux-image-6.1.0-47-amd64-unsigned\t6.1.170-3"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2);
    // Debian 14 splits the image into linux-binary and linux-base.
    let o = f.run(&["--dry-run", "7.2.13+deb14-amd64"]);
    let out = stdout(&o);
    assert!(out.contains("linux-image-7.2.13+deb14-amd64-dbg"), "{out}");
    assert!(out.contains("linux-binary-7.2.13+deb14-amd64"), "{out}");
    assert!(out.contains("linux-base-7.2.13+deb14-amd64"), "{out}");
    // Foreign architectures are asked for by name.
    let o = f.run(&["--dry-run", "--what", "debug", "6.1.0-47-arm64"]);
    assert!(stdout(&o).contains("linux-image-6.1.0-47-arm64-dbg\t6.1.170-3\tarm64"));
    assert!(f.log().contains("linux-image-6.1.0-47-arm64-dbg:arm64"));
    // apt is asked once per run, however many packages are resolved.
    assert_eq!(
        f.log()
            .lines()
            .filter(|l| l.starts_with("apt-cache"))
            .count(),
        3
    );
}

#[test]
fn downloads_into_the_cache_once() {
    let f = Fake::new();
    let o = f.run(&["6.1.0-47-amd64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let paths: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(paths.len(), 2);
    for p in &paths {
        assert_eq!(std::fs::metadata(p).unwrap().len(), 3000, "{p}");
        assert!(Path::new(p).starts_with(f.cache()));
    }
    assert!(paths[0].ends_with("linux-image-6.1.0-47-amd64-dbg_6.1.170-3_amd64.deb"));
    let downloads = |log: &str| {
        log.lines()
            .filter(|l| l.starts_with("apt-get download"))
            .count()
    };
    assert_eq!(downloads(&f.log()), 2);
    // Nothing is left half-written.
    let leftovers: Vec<_> = std::fs::read_dir(f.cache())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
    // A second run takes them from the cache.
    let o = f.run(&["6.1.0-47-amd64"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 2);
    assert_eq!(downloads(&f.log()), 2);
}

#[test]
fn errors_say_what_to_do() {
    let f = Fake::new();
    let o = f.run(&["9.9.0-1-amd64"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("apt knows none of linux-image-9.9.0-1-amd64-dbg"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("docs/fetch.md"));
    let o = f.run(&["not-a-kernel"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("neither a package name"));
    let o = f.run(&["linux-image-6.1.0-47-broken-dbg"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("404  Not Found"), "{}", stderr(&o));
    assert!(
        !f.cache()
            .join("linux-image-6.1.0-47-broken-dbg_6.1.170-3_amd64.deb")
            .exists()
    );
}
