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
