//! depsurf's BTF reader against bpftool (libbpf) on real kernels' BTF: the raw dumps must be
//! identical, type for type: same kinds, names, members, offsets, values.

mod common;
use common::*;

fn compare(fixture_rel: &str, base: Option<&str>) {
    if !have_tool("bpftool") || !have_tool("xz") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = unxz(fixture_rel, dir.path());
    let base_raw = base.map(|b| unxz(b, dir.path()));
    let mut theirs = std::process::Command::new("bpftool");
    theirs.args(["btf", "dump", "file"]).arg(&raw);
    if let Some(b) = &base_raw {
        theirs.arg("-B").arg(b);
    }
    let theirs = run_with_timeout(theirs, 60);
    assert!(theirs.status.success(), "bpftool: {}", stderr(&theirs));
    // depsurf reads the compressed fixture itself.
    let mut ours = depsurf();
    ours.args(["btf", "dump"]).arg(fixture(fixture_rel));
    if let Some(b) = base {
        ours.arg("--base").arg(fixture(b));
    }
    let ours = run_with_timeout(ours, 60);
    assert!(ours.status.success(), "depsurf: {}", stderr(&ours));
    let (t, o) = (stdout(&theirs), stdout(&ours));
    assert!(t.lines().count() > 100);
    if t != o {
        let first = t
            .lines()
            .zip(o.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "dumps differ at line {}:\nbpftool: {:?}\ndepsurf: {:?}",
            first + 1,
            t.lines().nth(first),
            o.lines().nth(first)
        );
    }
}

#[test]
fn debian_6_1_amd64() {
    compare("btf/6.1.0-47-amd64.btf.xz", None);
}

#[test]
fn debian_7_2_amd64_every_kind() {
    compare("btf/7.2.13+deb14-amd64.btf.xz", None);
}

#[test]
fn debian_6_1_s390x_big_endian_from_pahole() {
    compare("btf/6.1.0-47-s390x.pahole.btf.xz", None);
}

#[test]
fn split_btf_of_a_module() {
    compare(
        "btf/nf_conntrack-6.1.0-47-amd64.ko.xz",
        Some("btf/6.1.0-47-amd64.btf.xz"),
    );
}

/// Debian's `linux-image-6.1.0-47-amd64-unsigned` package in depsurf's package caches (where
/// `.ci/run` puts it), or `None` (the test skipped) outside CI when it is not there.
fn cached_6_1_package() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    let found = ["depsurf/build/packages", "depsurf/packages"]
        .iter()
        .filter_map(|d| std::fs::read_dir(base.join(d)).ok())
        .flat_map(|rd| rd.flatten().map(|e| e.path()))
        .find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("linux-image-6.1.0-47-amd64-unsigned_") && n.ends_with(".deb")
            })
        });
    if found.is_none() {
        if std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!(
                "linux-image-6.1.0-47-amd64-unsigned is required (DEPSURF_REQUIRE_TOOLS=1) in depsurf's package cache"
            );
        }
        eprintln!("SKIPPED: linux-image-6.1.0-47-amd64-unsigned is not in depsurf's package cache");
    }
    found
}

/// The split BTF of three real modules (ext4, xfs, nf_conntrack) as shipped in Debian's 6.1
/// image package, on top of that package's own vmlinux BTF: depsurf reads the base from the
/// package (its vmlinuz), bpftool from the blob `depsurf btf extract` writes of it, and the
/// dumps must be identical.
#[test]
fn split_btf_of_modules_in_the_debian_package() {
    if !have_tool("bpftool") || !have_tool("dpkg-deb") {
        return;
    }
    let Some(deb) = cached_6_1_package() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("vmlinux.btf");
    let mut c = depsurf();
    c.args(["btf", "extract", "-o"]).arg(&base).arg(&deb);
    let o = run_with_timeout(c, 120);
    assert!(o.status.success(), "btf extract: {}", stderr(&o));
    let members = [
        "./lib/modules/6.1.0-47-amd64/kernel/fs/ext4/ext4.ko",
        "./lib/modules/6.1.0-47-amd64/kernel/fs/xfs/xfs.ko",
        "./lib/modules/6.1.0-47-amd64/kernel/net/netfilter/nf_conntrack.ko",
    ];
    let mut unpack = std::process::Command::new("sh");
    unpack
        .arg("-ec")
        .arg("dpkg-deb --fsys-tarfile \"$1\" | tar -x -C \"$2\" \"$3\" \"$4\" \"$5\"")
        .arg("sh")
        .arg(&deb)
        .arg(dir.path())
        .args(members);
    let o = run_with_timeout(unpack, 120);
    assert!(o.status.success(), "unpacking the modules: {}", stderr(&o));
    for m in members {
        let ko = dir.path().join(m);
        let mut theirs = std::process::Command::new("bpftool");
        theirs
            .args(["btf", "dump", "file"])
            .arg(&ko)
            .arg("-B")
            .arg(&base);
        let theirs = run_with_timeout(theirs, 60);
        assert!(theirs.status.success(), "bpftool {m}: {}", stderr(&theirs));
        let mut ours = depsurf();
        ours.args(["btf", "dump"]).arg(&ko).arg("--base").arg(&deb);
        let ours = run_with_timeout(ours, 120);
        assert!(ours.status.success(), "depsurf {m}: {}", stderr(&ours));
        let (t, o) = (stdout(&theirs), stdout(&ours));
        assert!(t.lines().count() > 500, "{m}: {} lines", t.lines().count());
        assert!(t == o, "{m}: depsurf's dump differs from bpftool's");
    }
}
