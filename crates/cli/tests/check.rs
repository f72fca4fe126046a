//! `depsurf check` on eBPF programs built by the test (tests/bpf, clang -target bpf against
//! the BTF of Debian's 6.1.0-47-amd64), with the outcomes tests/bpf/expected.toml states
//! for the bundled dataset; objects embedded in a binary; malformed objects.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn check_json(obj: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .arg("check")
        .arg(obj)
        .args(["--format", "json"])
        .args(extra);
    let o = run_with_timeout(c, 60);
    assert_ne!(
        o.status.code(),
        Some(2),
        "{}: {}",
        obj.display(),
        stderr(&o)
    );
    (o.status.code(), serde_json::from_str(&stdout(&o)).unwrap())
}

/// Whether a row stands for the expected dependency `kind name`.
fn row_matches(row: &Value, kind: &str, name: &str) -> bool {
    let rk = row["kind"].as_str().unwrap_or("");
    let label = row["label"].as_str().unwrap_or("");
    let kind_ok = match kind {
        "field" => rk == "field",
        "struct" | "type" => rk == "type" || rk == "struct",
        "enum_value" => rk == "enum value",
        "map_type" => rk == "map type",
        "prog_type" => rk == "prog type",
        k => rk == k,
    };
    kind_ok
        && (label == name
            || label.rsplit(' ').next() == Some(name)
            || label.ends_with(&format!("_{name}"))
            || label.starts_with(&format!("{name} "))
            || label.split(" → ").any(|h| h == name))
}

#[test]
fn test_programs_have_the_expected_outcomes() {
    let Some((_dir, out)) = build_test_objects() else {
        return;
    };
    let expected: toml::Value =
        toml::from_str(&std::fs::read_to_string(fixture("../bpf/expected.toml")).unwrap()).unwrap();
    let deps = expected["dep"].as_array().unwrap();
    assert!(deps.len() >= 10, "{} expectations", deps.len());
    let mut checked = 0;
    let mut results: std::collections::HashMap<String, Value> = Default::default();
    for d in deps {
        let object = d["object"].as_str().unwrap();
        let kind = d["kind"].as_str().unwrap();
        let name = d["name"].as_str().unwrap();
        let v = results
            .entry(object.to_string())
            .or_insert_with(|| check_json(&out.join(format!("{object}.bpf.o")), &[]).1);
        let rows = v["objects"][0]["rows"].as_array().unwrap();
        // An exact row, else the chained access the field is a hop of (then the expectation
        // is about that hop: the cell's detail names the hop that fails).
        let exact = rows.iter().find(|r| {
            row_matches(r, kind, name) && r["label"].as_str().is_some_and(|l| !l.contains(" → "))
        });
        let in_chain = exact.is_none();
        let row = exact
            .or_else(|| rows.iter().find(|r| row_matches(r, kind, name)))
            .unwrap_or_else(|| {
                let labels: Vec<_> = rows
                    .iter()
                    .map(|r| format!("{} {}", r["kind"], r["label"]))
                    .collect();
                panic!("{object}: no {kind} {name} among {labels:?}")
            });
        // Expectations depsurf cannot answer yet must stay "unknown" until it can (then this
        // fails and the `pending` line goes).
        if let Some(why) = d.get("pending").and_then(|p| p.as_str()) {
            for (img, cell) in row["cells"].as_object().unwrap() {
                assert_eq!(
                    cell["status"], "unknown",
                    "{object}: {kind} {name} in {img} ({why}): {cell}"
                );
            }
            continue;
        }
        for (list, want) in [
            ("error", "error"),
            ("stray", "stray read"),
            ("miss", "missing invocation"),
        ] {
            for img in d.get(list).and_then(|l| l.as_array()).into_iter().flatten() {
                let img = img.as_str().unwrap();
                let cell = &row["cells"][img];
                assert_eq!(
                    cell["consequence"].as_str(),
                    Some(want),
                    "{object}: {kind} {name} in {img}: {cell}"
                );
                if in_chain {
                    let detail = cell["detail"].as_str().unwrap_or("");
                    assert!(detail.contains(name), "{object}: {name} in {img}: {cell}");
                }
                checked += 1;
            }
        }
        for img in d.get("ok").and_then(|l| l.as_array()).into_iter().flatten() {
            let img = img.as_str().unwrap();
            let cell = &row["cells"][img];
            let this_hop_fails = !in_chain
                || cell["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(&format!("{name} ")));
            assert!(
                cell["consequence"].is_null() || !this_hop_fails,
                "{object}: {kind} {name} in {img} should be fine: {cell}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} cells checked");
}

/// Per program: depsurf's verdict against what Debian's kernels did when booted
/// (tests/bpf/expected.toml `[[program]]`, recorded with `depsurf verify`).
#[test]
fn test_programs_have_the_verdicts_the_booted_kernels_gave() {
    let Some((_dir, out)) = build_test_objects() else {
        return;
    };
    let expected: toml::Value =
        toml::from_str(&std::fs::read_to_string(fixture("../bpf/expected.toml")).unwrap()).unwrap();
    let programs = expected["program"].as_array().unwrap();
    assert!(
        programs.len() >= 30,
        "{} program expectations",
        programs.len()
    );
    let mut results: std::collections::HashMap<String, Value> = Default::default();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for e in programs {
        let object = e["object"].as_str().unwrap();
        let program = e["program"].as_str().unwrap();
        let v = results
            .entry(object.to_string())
            .or_insert_with(|| check_json(&out.join(format!("{object}.bpf.o")), &[]).1);
        let p = v["objects"][0]["programs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == program)
            .unwrap_or_else(|| panic!("{object}: no program {program}"));
        for (list, fails) in [("loads", false), ("fails", true)] {
            for img in e[list].as_array().into_iter().flatten() {
                let img = img.as_str().unwrap();
                let verdict = p["verdicts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["image"] == img)
                    .unwrap_or_else(|| panic!("{object}/{program}: no verdict for {img}"));
                checked += 1;
                if (verdict["verdict"] == "fails") != fails {
                    wrong.push(format!(
                        "{object}/{program} on {img}: the kernel {}, depsurf says {} ({})",
                        if fails {
                            "refused it"
                        } else {
                            "loaded and attached it"
                        },
                        verdict["verdict"],
                        verdict["because"]
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 200, "{checked} verdicts checked");
}

#[test]
fn exit_codes_follow_fail_on_and_images() {
    let Some((_dir, out)) = build_test_objects() else {
        return;
    };
    // core_fields reads only stable fields through a stable function: it loads on every
    // kernel with BTF, and fails only where the kernel has none for its CO-RE relocations.
    let (code, v) = check_json(&out.join("core_fields.bpf.o"), &[]);
    assert_eq!(code, Some(1), "{v}");
    let no_btf = [
        "6.1.0-47-armmp",
        "6.1.0-47-686-pae",
        "6.1.0-47-powerpc64le",
        "6.1.0-47-s390x",
    ];
    for x in v["objects"][0]["verdicts"].as_array().unwrap() {
        let want = if no_btf.contains(&x["image"].as_str().unwrap()) {
            "fails"
        } else {
            "loads"
        };
        assert_eq!(x["verdict"], want, "{x}");
    }
    let (code, _) = check_json(
        &out.join("core_fields.bpf.o"),
        &["--image", "6.1", "--image", "7.2", "--image", "arm64"],
    );
    assert_eq!(code, Some(0));
    // A missing field fails somewhere; restricting to an image where it exists passes.
    let (code, _) = check_json(&out.join("core_missing_field.bpf.o"), &[]);
    assert_eq!(code, Some(1));
    let mut c = depsurf();
    c.args(["check", "--image", "no-such-image"])
        .arg(out.join("core_fields.bpf.o"));
    let o = run_with_timeout(c, 60);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no image has that id or label"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_terminal_matrix_fits_100_columns() {
    let Some((_dir, out)) = build_test_objects() else {
        return;
    };
    for obj in ["attach_kinds", "struct_ops_iter", "core_type_changed"] {
        let mut c = depsurf();
        c.env_remove("DEPSURF_DATASET")
            .arg("check")
            .arg(out.join(format!("{obj}.bpf.o")));
        let o = run_with_timeout(c, 60);
        let text = stdout(&o);
        assert!(text.contains("Regular") && text.contains("fails"), "{text}");
        for line in text.lines() {
            assert!(
                !line.contains('\x1b'),
                "colour when not a terminal: {line:?}"
            );
            assert!(
                line.chars().count() <= 100,
                "{obj}: {} columns: {line}",
                line.chars().count()
            );
        }
    }
}

#[test]
fn objects_embedded_in_a_binary_are_found_and_named() {
    let Some((dir, out)) = build_test_objects() else {
        return;
    };
    if !have_tool("gcc") || !have_tool("ld") {
        return;
    }
    // A loader that carries two objects in its read-only data, as libbpf skeletons do.
    let d = dir.path();
    std::fs::copy(out.join("core_fields.bpf.o"), d.join("a.o")).unwrap();
    std::fs::copy(out.join("helpers_maps.bpf.o"), d.join("b.o")).unwrap();
    std::fs::write(d.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let o = Command::new("sh")
        .arg("-ec")
        .arg(
            "ld -r -b binary -o blobs.o a.o b.o
             gcc -o loader main.c blobs.o",
        )
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, v) = check_json(&d.join("loader"), &[]);
    let objs = v["objects"].as_array().unwrap();
    assert_eq!(objs.len(), 2, "{v}");
    assert!(objs[0]["object"].as_str().unwrap().contains("loader@0x"));
    assert!(!objs[0]["programs"].as_array().unwrap().is_empty());
}

#[test]
fn malformed_objects_are_errors_not_panics() {
    let Some((dir, out)) = build_test_objects() else {
        return;
    };
    let good = std::fs::read(out.join("core_fields.bpf.o")).unwrap();
    let d = dir.path();
    let mut cut_points: Vec<usize> = (0..good.len()).step_by(good.len() / 97 + 1).collect();
    cut_points.extend([0, 4, 63, 64, good.len() - 1]);
    for cut in cut_points {
        let p = d.join("cut.o");
        std::fs::write(&p, &good[..cut]).unwrap();
        let mut c = depsurf();
        c.args(["check", "--format", "json"]).arg(&p);
        let o = run_with_timeout(c, 60);
        let code = o.status.code();
        assert!(
            code == Some(2) || code == Some(0) || code == Some(1),
            "cut at {cut}: {code:?} {}",
            stderr(&o)
        );
        if code == Some(2) {
            assert!(stderr(&o).contains("cut.o"), "cut at {cut}: {}", stderr(&o));
            assert!(stdout(&o).is_empty(), "cut at {cut}: output on error");
        }
    }
}

/// The relocations libbpf tried for one object and whether it found no matching target, from
/// its debug log: (program, relocation number, failed).
fn parse_libbpf_log(log: &str) -> Vec<(String, usize, bool)> {
    let mut out: Vec<(String, usize, bool)> = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("libbpf: prog '") else {
            continue;
        };
        let Some((prog, rest)) = rest.split_once("': relo #") else {
            continue;
        };
        let Some((n, what)) = rest.split_once(": ") else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        if what.starts_with('<') && !out.iter().any(|(p, i, _)| p == prog && *i == n) {
            out.push((prog.to_string(), n, false));
        }
        if what.starts_with("no matching targets found")
            && let Some(e) = out.iter_mut().find(|(p, i, _)| p == prog && *i == n)
        {
            e.2 = true;
        }
    }
    out
}

/// libbpf relocating `obj` against this machine's kernel: bpftool loads it (and the pins go).
fn libbpf_running(obj: &Path, pin: &Path) -> Vec<(String, usize, bool)> {
    let o = Command::new("bpftool")
        .arg("-d")
        .args(["prog", "loadall"])
        .arg(obj)
        .arg(pin)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(pin);
    parse_libbpf_log(&String::from_utf8_lossy(&o.stderr))
}

/// libbpf relocating `obj` against another kernel's BTF (tests/bpf/tools/relocheck.c: the
/// `btf_custom_path` open option), its log on stdout.
fn libbpf_custom(relocheck: &Path, obj: &Path, btf: &Path) -> Vec<(String, usize, bool)> {
    let o = Command::new(relocheck).arg(obj).arg(btf).output().unwrap();
    parse_libbpf_log(&String::from_utf8_lossy(&o.stdout))
}

#[test]
fn core_relocations_fail_exactly_where_libbpf_fails_them() {
    let Some((dir, out)) = build_test_objects() else {
        return;
    };
    let required = std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1");
    let pin = dir.path().join("bpffs");
    std::fs::create_dir_all(&pin).unwrap();
    let mounted = Path::new("/sys/kernel/btf/vmlinux").exists()
        && Command::new("mount")
            .args(["-t", "bpf", "bpf"])
            .arg(&pin)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            !required,
            "this test needs the running kernel's BTF, root and a bpf file system"
        );
        eprintln!("SKIPPED: no /sys/kernel/btf/vmlinux or no bpffs (not root?)");
        return;
    }
    // libbpf against the running kernel (bpftool) and against two bundled images' BTF
    // (the fixtures), compared with depsurf on the same kernels.
    let relocheck = dir.path().join("relocheck");
    let cc = Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&relocheck)
        .arg(fixture("../bpf/tools/relocheck.c"))
        .arg("-lbpf")
        .output()
        .unwrap();
    assert!(cc.status.success(), "relocheck.c: {}", stderr(&cc));
    let mut kernels: Vec<(String, Option<PathBuf>)> = vec![("running".into(), None)];
    for id in ["6.1.0-47-amd64", "7.2.13+deb14-amd64"] {
        kernels.push((
            id.into(),
            Some(unxz(&format!("btf/{id}.btf.xz"), dir.path())),
        ));
    }
    let mut compared = 0;
    let mut failing = 0;
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    objects.sort();
    for (kernel, btf) in &kernels {
        for obj in &objects {
            let (seen, v) = match btf {
                None => (
                    libbpf_running(obj, &pin.join("p")),
                    check_json(obj, &["--kernel", "running"]).1,
                ),
                Some(b) => (
                    libbpf_custom(&relocheck, obj, b),
                    check_json(obj, &["--image", kernel]).1,
                ),
            };
            let o = &v["objects"][0];
            let section_of = |prog: &str| {
                o["programs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == prog)
                    .map(|p| p["section"].as_str().unwrap().to_string())
            };
            for (prog, n, libbpf_failed) in seen {
                let Some(section) = section_of(&prog) else {
                    continue;
                };
                let ours = o["relocations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["section"] == section.as_str() && r["index"] == n)
                    .unwrap_or_else(|| {
                        panic!("{}: libbpf relo #{n} of {prog} unknown", obj.display())
                    });
                let outcome = ours["outcomes"]
                    .as_object()
                    .unwrap()
                    .values()
                    .next()
                    .unwrap();
                let predicted = outcome == "fails" || outcome == "guard";
                assert_eq!(
                    predicted,
                    libbpf_failed,
                    "{kernel}: {}: {section} relo #{n} ({}): depsurf {outcome}, libbpf {}",
                    obj.display(),
                    ours["access"],
                    if libbpf_failed { "fails" } else { "resolves" }
                );
                compared += 1;
                failing += usize::from(libbpf_failed);
            }
        }
    }
    let _ = Command::new("umount").arg(&pin).status();
    eprintln!("{compared} CO-RE relocations compared with libbpf, {failing} failing");
    assert!(compared >= 10, "only {compared} relocations compared");
    assert!(
        failing >= 1,
        "no failing relocation among the test programs"
    );
}
