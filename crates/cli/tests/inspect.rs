//! `depsurf inspect` on real BTF and a real module.

mod common;
use common::*;

fn inspect_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let mut c = depsurf();
    c.arg("inspect").arg("--json").args(args);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn every_btf_kind_is_counted() {
    let f = fixture("btf/7.2.13+deb14-amd64.btf.xz");
    let v = inspect_json(&[f.as_os_str()]);
    let img = &v[0];
    assert_eq!(img["schema"], 1);
    assert_eq!(img["identity"]["release"], "7.2.13+deb14-amd64");
    assert_eq!(img["identity"]["arch"], "amd64");
    let btf = &img["btf"];
    assert_eq!(btf["endian"], "little-endian");
    assert_eq!(btf["types"], 124_639);
    let kinds = btf["kinds"].as_object().unwrap();
    assert_eq!(kinds.len(), 19, "{kinds:?}");
    assert_eq!(kinds["DECL_TAG"], 310);
    assert_eq!(kinds["TYPE_TAG"], 1);
    assert_eq!(kinds["ENUM64"], 22);
    let sum: u64 = kinds.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(sum, 124_639);
}

#[test]
fn big_endian_btf() {
    let f = fixture("btf/6.1.0-47-s390x.pahole.btf.xz");
    let v = inspect_json(&[f.as_os_str()]);
    assert_eq!(v[0]["btf"]["endian"], "big-endian");
    assert_eq!(v[0]["btf"]["types"], 77_369);
}

#[test]
fn module_needs_its_base() {
    let m = fixture("btf/nf_conntrack-6.1.0-47-amd64.ko.xz");
    let v = inspect_json(&[m.as_os_str()]);
    let img = &v[0];
    assert_eq!(img["module"]["name"], "nf_conntrack");
    assert_eq!(img["identity"]["release"], "6.1.0-47-amd64");
    assert_eq!(img["btf"]["needs_base"], true);
    let base = fixture("btf/6.1.0-47-amd64.btf.xz");
    let v = inspect_json(&[m.as_os_str(), "--base".as_ref(), base.as_os_str()]);
    assert_eq!(v[0]["btf"]["split"], true);
    assert_eq!(v[0]["btf"]["types"], 627);
    // The text form says what to do.
    let mut c = depsurf();
    c.arg("inspect").arg(&m);
    let o = run_with_timeout(c, 60);
    assert!(stdout(&o).contains("give --base <vmlinux> to read its types"));
    // Dumping it without a base is an error that says the same.
    let mut c = depsurf();
    c.args(["btf", "dump"]).arg(&m);
    let o = run_with_timeout(c, 60);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--base"), "{}", stderr(&o));
}

#[test]
fn extract_writes_the_blob_bpftool_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.btf");
    let mut c = depsurf();
    c.args(["btf", "extract"])
        .arg(fixture("btf/6.1.0-47-amd64.btf.xz"))
        .arg("-o")
        .arg(&out);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let data = std::fs::read(&out).unwrap();
    assert_eq!(data.len(), 4_350_808);
    assert_eq!(&data[..2], &[0x9f, 0xeb]);
}

#[test]
fn reads_from_a_pipe() {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(format!(
        "cat '{}' | '{}' -q inspect --json /dev/stdin",
        fixture("btf/nf_conntrack-6.1.0-47-amd64.ko.xz").display(),
        env!("CARGO_BIN_EXE_depsurf")
    ));
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["module"]["name"], "nf_conntrack");
}

/// Runs a shell command in `dir`, failing the test when it fails.
fn sh(dir: &std::path::Path, script: &str) {
    let o = std::process::Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(o.status.success(), "{script}: {}", stderr(&o));
}

/// An Ubuntu debug package laid out as Ubuntu ships it (`.ddeb`, zstd `data.tar`,
/// `usr/lib/debug/boot/vmlinux-<release>`), built here with ar, tar, zstd, gcc and objcopy
/// around a real BTF blob: its identity comes from the package and member names.
#[test]
fn ubuntu_ddeb_with_zstd_data() {
    if !["ar", "tar", "zstd", "gcc", "objcopy", "xz"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let blob = unxz("btf/6.1.0-47-amd64.btf.xz", dir.path());
    let blob = blob.file_name().unwrap().to_string_lossy().into_owned();
    sh(
        dir.path(),
        &format!(
            "mkdir -p root/usr/lib/debug/boot ctl
             printf 'int x;\\n' > x.c && gcc -c x.c -o x.o
             objcopy --add-section .BTF={blob} --set-section-flags .BTF=readonly x.o \
                 root/usr/lib/debug/boot/vmlinux-5.4.0-26-generic
             printf 'Package: linux-image-unsigned-5.4.0-26-generic-dbgsym\\n' > ctl/control
             printf '2.0\\n' > debian-binary
             tar -C ctl -cJf control.tar.xz ./control
             tar -C root -cf - ./usr | zstd -q -o data.tar.zst
             ar rc linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb \
                 debian-binary control.tar.xz data.tar.zst"
        ),
    );
    let ddeb = dir
        .path()
        .join("linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb");
    let v = inspect_json(&[ddeb.as_os_str()]);
    let img = &v[0];
    assert_eq!(img["identity"]["release"], "5.4.0-26-generic", "{img}");
    assert_eq!(img["identity"]["arch"], "amd64", "{img}");
    assert_eq!(img["identity"]["flavour"], "generic", "{img}");
    assert_eq!(img["identity"]["distro"], "Ubuntu", "{img}");
    assert_eq!(img["identity"]["package_version"], "5.4.0-26.30", "{img}");
    assert_eq!(img["btf"]["types"], 100_628, "{img}");
}
