//! Function status and types from DWARF, on objects gcc builds from tests/fixtures/dwarf
//! (see its PROVENANCE.md for what each function is arranged to be), checked against the
//! source's intent, readelf's symbols and pahole's BTF of the same object.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn build(dir: &Path, dwarf: &str) -> PathBuf {
    let src = fixture("dwarf");
    for f in ["a", "b"] {
        let st = Command::new("gcc")
            .args(["-O2", "-g", dwarf, "-c"])
            .arg(src.join(format!("{f}.c")))
            .arg("-o")
            .arg(dir.join(format!("{f}.o")))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let out = dir.join("ab.o");
    let st = Command::new("ld")
        .arg("-r")
        .arg(dir.join("a.o"))
        .arg(dir.join("b.o"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

fn status(ds: &Path, name: &str) -> serde_json::Value {
    let mut c = depsurf();
    c.args(["report", "func", name, "--format", "json", "-d"])
        .arg(ds);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v["groups"][0]["status"][0]["function"].clone()
}

fn check_object(dwarf: &str) {
    if !have_tool("gcc") || !have_tool("ld") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let obj = build(dir.path(), dwarf);
    let ds = dir.path().join("ds");
    let mut c = depsurf();
    c.args(["extract"]).arg(&obj).arg("-d").arg(&ds);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));

    let expect = |name: &str, collision: &str, inline: &str, transformed: bool| {
        let f = status(&ds, name);
        assert_eq!(f["collision"], collision, "{name}: {f}");
        assert_eq!(f["inline"], inline, "{name}: {f}");
        let symbols: Vec<&str> = f["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            symbols.iter().any(|s| s.contains('.')),
            transformed,
            "{name}: {symbols:?}"
        );
        f
    };
    let helper = expect("helper", "UniqueStatic", "Full", false);
    assert_eq!(
        helper["entries"][0]["loc"],
        format!("{}:23", fixture_path("a.c"))
    );
    let scale = expect("scale", "UniqueStatic", "No", true);
    assert_eq!(scale["symbols"][0]["name"], "scale.constprop.0");
    assert_eq!(scale["entries"][0]["caller_func"]["names"][0], "api");
    let clash = expect("clash", "StaticStaticCollision", "No", false);
    assert_eq!(clash["entries"].as_array().unwrap().len(), 2);
    assert_eq!(clash["symbols"].as_array().unwrap().len(), 2);
    expect("mixed", "StaticGlobalCollision", "No", false);
    let sometimes = expect("sometimes", "UniqueStatic", "Selective", false);
    assert_eq!(sometimes["entries"][0]["caller_inline"]["names"][0], "api");
    let pair_sum = expect("pair_sum", "StaticDuplication", "Full", false);
    let files: Vec<&str> = pair_sum["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    expect("api", "UniqueGlobal", "No", false);
    expect("other", "UniqueGlobal", "No", false);

    // Symbols agree with readelf's.
    let readelf = Command::new("readelf")
        .arg("-sW")
        .arg(&obj)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&readelf.stdout);
    let funcs = text.lines().filter(|l| l.contains(" FUNC ")).count();
    assert_eq!(funcs, 8, "{text}");

    // Types from DWARF equal the types pahole writes as BTF for the same object.
    if !have_tool("pahole") {
        return;
    }
    let with_btf = dir.path().join("ab-btf.o");
    std::fs::copy(&obj, &with_btf).unwrap();
    let st = Command::new("pahole")
        .arg("-J")
        .arg(&with_btf)
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = depsurf();
    c.arg("compare-types").arg(&with_btf);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("structs: 2 in both, 2 equal, 0 differ"),
        "{out}"
    );
    assert!(out.contains("enums: 1 in both, 1 equal, 0 differ"), "{out}");
    assert!(
        out.contains("functions: 5 in both, 5 equal, 0 differ"),
        "{out}"
    );
}

/// The declaration path the fixture's files have in DWARF, relative to the tree (here the
/// fixture directory is outside any kernel tree, so the path stays absolute).
fn fixture_path(file: &str) -> String {
    std::fs::canonicalize(fixture("dwarf").join(file))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn function_status_dwarf5() {
    check_object("-gdwarf-5");
}

#[test]
fn function_status_dwarf4() {
    check_object("-gdwarf-4");
}

#[test]
fn struct_layout_from_dwarf() {
    if !have_tool("gcc") || !have_tool("ld") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let obj = build(dir.path(), "-gdwarf-4");
    let ds = dir.path().join("ds");
    let mut c = depsurf();
    c.args(["extract", "--types", "dwarf"])
        .arg(&obj)
        .arg("-d")
        .arg(&ds);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    // The JSON keeps bitfield widths (the Markdown prints members as the research pages do).
    let mut c = depsurf();
    c.args(["report", "struct", "sample", "--format", "json", "-d"])
        .arg(&ds);
    let out = stdout(&run_with_timeout(c, 60));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let body = v["groups"][0]["status"][0]["definition"]
        .as_str()
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        body,
        "struct sample {
    unsigned int flags:3;
    unsigned int busy:1;
    long int value;
    int lo;
    int hi;
    char name[32];
    enum mode mode;
    int (*cb)(struct sample *, const char *);
    struct pair *pair;
};"
    );
    // The values are in the JSON (the Markdown, as the research pages, names the enum only).
    let mut c = depsurf();
    c.args(["report", "enum", "mode", "--format", "json", "-d"])
        .arg(&ds);
    let out = stdout(&run_with_timeout(c, 60));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let body = v["groups"][0]["status"][0]["definition"]
        .as_str()
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        body.contains("MODE_OFF = -1,\n    MODE_ON = 1,\n    MODE_BIG = 2147483647,"),
        "{body}"
    );
}

#[test]
fn corrupted_dwarf_is_an_error_not_a_panic() {
    if !have_tool("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("a.o");
    let st = Command::new("gcc")
        .args(["-O2", "-g", "-c"])
        .arg(fixture("dwarf/a.c"))
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let data = std::fs::read(&obj).unwrap();
    // Find .debug_info through its name in the section header string table.
    let elf = object_section(&data, ".debug_info");
    let (start, len) = elf.expect(".debug_info in the object");
    let mut errors = 0;
    for i in (0..len).step_by(7) {
        for v in [0x00u8, 0xff, 0x80] {
            let mut bad = data.clone();
            bad[start + i] = v;
            let path = dir.path().join("bad.o");
            std::fs::write(&path, &bad).unwrap();
            let mut c = depsurf();
            c.arg("funcs").arg(&path);
            let o = run_with_timeout(c, 30);
            let err = stderr(&o);
            assert!(!err.contains("panicked"), "byte {i} = {v:#x}: {err}");
            match o.status.code() {
                Some(0) => {}
                Some(2) => {
                    assert!(err.starts_with("depsurf: "), "{err}");
                    errors += 1;
                }
                other => panic!("byte {i} = {v:#x}: exit {other:?}: {err}"),
            }
        }
    }
    assert!(errors > 0, "no corruption was detected at all");
}

/// (offset, size) of a section of a 64-bit little-endian ELF file.
fn object_section(data: &[u8], name: &str) -> Option<(usize, usize)> {
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap()) as usize;
    let shoff = u64_at(0x28);
    let (shentsize, shnum, shstrndx) = (u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(sh(shstrndx) + 0x18);
    (0..shnum).find_map(|i| {
        let n = u32::from_le_bytes(data[sh(i)..sh(i) + 4].try_into().unwrap()) as usize;
        let s = &data[strtab + n..];
        let end = s.iter().position(|&b| b == 0)?;
        (&s[..end] == name.as_bytes()).then(|| (u64_at(sh(i) + 0x18), u64_at(sh(i) + 0x20)))
    })
}
