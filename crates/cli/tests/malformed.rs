//! Every input of the malformed corpus (tests/fixtures/malformed, made by its make.py) ends
//! in a clear error: exit code 2, one message naming the input and the problem, nothing on
//! standard output, no panic, no hang.

mod common;
use common::*;

#[test]
fn malformed_inputs_are_clear_errors() {
    let dir = fixture("malformed");
    let list = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut checked = 0;
    for line in list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (file, phrase) = line.split_once('\t').unwrap_or((line, ""));
        for cmd in [&["inspect"][..], &["btf", "dump"][..]] {
            let mut c = depsurf();
            c.current_dir(&dir).args(cmd).arg(file);
            let o = run_with_timeout(c, 30);
            let err = stderr(&o);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{file}: {cmd:?} exit code; stderr: {err}"
            );
            assert!(!err.contains("panicked"), "{file}: panic: {err}");
            assert!(
                err.starts_with(&format!("depsurf: {file}")),
                "{file}: message does not name the input: {err}"
            );
            assert!(
                err.contains(phrase),
                "{file}: expected {phrase:?} in: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{file}: one line: {err}");
            assert!(o.stdout.is_empty(), "{file}: output on stdout");
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} inputs in the corpus");
}

#[test]
fn missing_inputs_and_directories_without_kernels() {
    let mut c = depsurf();
    c.args(["inspect", "/nonexistent/vmlinux"]);
    let o = run_with_timeout(c, 30);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/vmlinux: No such file or directory"),
        "{}",
        stderr(&o)
    );
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "hello\n").unwrap();
    let mut c = depsurf();
    c.arg("inspect").arg(empty.path());
    let o = run_with_timeout(c, 30);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("none of its 1 files is a kernel input"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_image_without_btf_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config-6.1.0-47-s390x");
    std::fs::write(&cfg, "CONFIG_64BIT=y\n# CONFIG_DEBUG_INFO_BTF is not set\n").unwrap();
    let mut c = depsurf();
    c.args(["btf", "dump"]).arg(&cfg);
    let o = run_with_timeout(c, 30);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("6.1.0-47-s390x has no BTF"), "{err}");
    assert!(err.contains("CONFIG_DEBUG_INFO_BTF unset"), "{err}");
    assert!(err.contains("and no DWARF; give its BTF"), "{err}");
    assert!(err.contains("or its debug image (the -dbg"), "{err}");
    // Extracted, it joins the dataset without types, and says so even when quiet.
    let ds = dir.path().join("ds");
    let mut c = depsurf();
    c.arg("extract").arg(&cfg).arg("-d").arg(&ds);
    let o = run_with_timeout(c, 60);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.starts_with("depsurf: warning: no BTF and no DWARF in 6.1.0-47-s390x"),
        "{err}"
    );
    assert!(err.contains("extract it again with its BTF"), "{err}");
    assert!(err.contains("or its debug image"), "{err}");
}

/// `depsurf check` given an object compiled for the host rather than for eBPF names the
/// machine it is for and how to build the eBPF object.
#[test]
fn an_object_for_another_machine_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("prog.o");
    // An ELF64 little-endian relocatable header for x86-64 (e_machine 62), no sections.
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little endian
    h[6] = 1; // EV_CURRENT
    h[16] = 1; // ET_REL
    h[18] = 62; // EM_X86_64
    h[20] = 1; // e_version
    h[52] = 64; // e_ehsize
    h[58] = 64; // e_shentsize
    std::fs::write(&obj, &h).unwrap();
    let mut c = depsurf();
    c.arg("check").arg(&obj);
    let o = run_with_timeout(c, 60);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "depsurf: {}: an ELF file for x86-64, not an eBPF object",
            obj.display()
        )),
        "{err}"
    );
    assert!(err.contains("clang --target=bpf"), "{err}");
    assert!(o.stdout.is_empty());
}
