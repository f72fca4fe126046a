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
}
