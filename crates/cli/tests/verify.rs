//! `depsurf verify`: boots Debian kernels of the bundled dataset under QEMU with the test
//! programs of tests/bpf and checks that every prediction of `depsurf check` holds; bad
//! input (a kernel package that cannot be fetched, a loader that crashes, a kernel that
//! panics, a boot that hangs past its limit) is reported for its image while the rest goes
//! on; --record-helpers writes the helper table into a dataset's manifest.
//!
//! Needs qemu-system-x86_64, what building the verify guest needs (cargo, gcc, make,
//! pkg-config, libelf-dev, zlib1g-dev), clang, bpftool and xz for the test programs, and
//! the kernel packages of 5.10.0-46-amd64, 6.1.0-47-amd64 and 7.2.13+deb14-amd64 in
//! depsurf's package caches (`.ci/run` downloads them). Without them each test prints
//! `SKIPPED: ...` and passes, except under `DEPSURF_REQUIRE_TOOLS=1` (CI), where it fails.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The images the agreement test boots.
const IMAGES: [&str; 3] = ["5.10.0-46-amd64", "6.1.0-47-amd64", "7.2.13+deb14-amd64"];

/// One test boots at a time: each boot keeps a host CPU busy under emulation.
static BOOTS: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    BOOTS.lock().unwrap_or_else(|e| e.into_inner())
}

fn required() -> bool {
    std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1")
}

/// False (and a printed reason) when the test cannot run here; a failure under
/// `DEPSURF_REQUIRE_TOOLS=1`.
fn can_run(why_not: Option<String>) -> bool {
    match why_not {
        None => true,
        Some(why) if required() => panic!("DEPSURF_REQUIRE_TOOLS=1 but {why}"),
        Some(why) => {
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What booting needs: QEMU, and the guest's build tools (the guest builds on first use).
fn boot_prerequisites() -> Option<String> {
    if !have("qemu-system-x86_64") {
        return Some(
            "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)".into(),
        );
    }
    if std::env::var_os("DEPSURF_GUEST").is_none() {
        for t in ["cargo", "gcc", "make", "pkg-config"] {
            if !have(t) {
                return Some(format!("{t} is needed to build the verify guest"));
            }
        }
        for (lib, pkg) in [("libelf.a", "libelf-dev"), ("libz.a", "zlib1g-dev")] {
            let found = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]
                .iter()
                .any(|d| Path::new(d).join(lib).exists());
            if !found {
                return Some(format!("{lib} is needed to build the verify guest ({pkg})"));
            }
        }
    }
    None
}

fn cache_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(c) = std::env::var_os("DEPSURF_CACHE").filter(|c| !c.is_empty()) {
        dirs.push(PathBuf::from(c));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(b) = base {
        dirs.push(b.join("depsurf/packages"));
        dirs.push(b.join("depsurf/build/packages"));
    }
    dirs
}

/// Whether the image package of `id` (as the bundled manifest names it) is cached.
fn package_cached(id: &str) -> bool {
    let prefixes = [
        format!("linux-image-{id}-unsigned_"),
        format!("linux-binary-{id}_"),
    ];
    cache_dirs().iter().any(|d| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.ends_with(".deb") && prefixes.iter().any(|p| n.starts_with(p))
            })
        })
    })
}

fn packages_cached(ids: &[&str]) -> Option<String> {
    let missing: Vec<&str> = ids.iter().copied().filter(|i| !package_cached(i)).collect();
    if missing.is_empty() || required() {
        // Under CI, `depsurf verify` downloads what .ci/run did not.
        None
    } else {
        Some(format!(
            "the kernel packages of {} are not in depsurf's caches (depsurf fetch --what image \
             ...)",
            missing.join(", ")
        ))
    }
}

/// The test programs of tests/bpf, built once for all the tests here (into cargo's
/// temporary directory for integration tests).
fn build_objects() -> Option<PathBuf> {
    for t in ["clang", "bpftool", "xz"] {
        if !can_run((!have(t)).then(|| format!("{t} is not installed"))) {
            return None;
        }
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let out = BUILT.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-bpf-objects");
        let _ = std::fs::remove_dir_all(&out);
        let o = Command::new("bash")
            .arg(fixture("../bpf/make.sh"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "tests/bpf/make.sh: {}", stderr(&o));
        out
    });
    Some(out.clone())
}

fn objects_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    v
}

fn verify(args: &[&str], objects: &[PathBuf], secs: u64) -> (Option<i32>, Value, String) {
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .arg("verify")
        .args(["--format", "json"])
        .args(args)
        .args(objects);
    let o = run_with_timeout(c, secs);
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(2), "usage or input error: {err}");
    let v: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{err}", stdout(&o)));
    (o.status.code(), v, err)
}

fn image<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["image"] == id)
        .unwrap_or_else(|| panic!("no image {id} in {}", v["images"]))
}

/// Image `id` of report `v` was not verified: its status is `status` and its detail says
/// `says`.
fn not_verified<'a>(v: &'a Value, id: &str, status: &str, says: &str) -> &'a Value {
    let i = image(v, id);
    assert_eq!(i["status"], status, "{i}");
    assert!(i["detail"].as_str().unwrap().contains(says), "{i}");
    i
}

/// The cell of program `name` (of an object whose name ends with `object`) on `id`.
fn cell<'a>(v: &'a Value, object: &str, name: &str, id: &str) -> &'a Value {
    let o = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"].as_str().unwrap().ends_with(object))
        .unwrap_or_else(|| panic!("no object {object}"));
    let p = o["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no program {name} in {object}"));
    p["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["image"] == id)
        .unwrap_or_else(|| panic!("no cell for {name} on {id}"))
}

/// Every disagreement of a report, one line each, with both sides' reasons.
fn disagreements(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for o in v["objects"].as_array().unwrap() {
        let obj = o["object"].as_str().unwrap();
        let obj = obj.rsplit('/').next().unwrap_or(obj);
        for p in o["programs"].as_array().unwrap() {
            for c in p["images"].as_array().unwrap() {
                if c["agreement"] == "disagrees" {
                    out.push(format!(
                        "{obj}/{} on {}: predicted {} {} but {}: {}",
                        p["name"].as_str().unwrap(),
                        c["image"].as_str().unwrap(),
                        c["prediction"],
                        c["predicted_because"],
                        c["outcome"],
                        c["reasons"]
                    ));
                }
            }
        }
        for c in o["verdicts"].as_array().unwrap() {
            if c["agreement"] == "disagrees" {
                out.push(format!(
                    "{obj} (object) on {}: predicted {} (turn off {}) but {} (failed: {})",
                    c["image"].as_str().unwrap(),
                    c["prediction"],
                    c["turn_off"],
                    c["outcome"],
                    c["failed"]
                ));
            }
        }
    }
    out
}

#[test]
fn every_prediction_of_check_holds_on_the_booted_kernels() {
    if !can_run(boot_prerequisites()) || !can_run(packages_cached(&IMAGES)) {
        return;
    }
    let Some(out) = build_objects() else {
        return;
    };
    let objects = objects_in(&out);
    assert!(objects.len() >= 10, "{} objects", objects.len());
    let _one = one_at_a_time();
    let mut args = Vec::new();
    for i in IMAGES {
        args.extend(["--image", i]);
    }
    let (code, v, err) = verify(&args, &objects, 1500);
    for id in IMAGES {
        let i = image(&v, id);
        assert_eq!(i["status"], "verified", "{id}: {i}\n{err}");
        assert_eq!(
            i["kernel"], id,
            "{id}: the kernel booted says {}",
            i["kernel"]
        );
    }
    // Known outcomes, whatever check predicts: a CO-RE read of a field 5.10 lacks fails
    // there and loads on 6.1; a kprobe on a function inlined away in 7.2 fails to attach.
    let c = cell(
        &v,
        "core_missing_field.bpf.o",
        "read_state",
        "5.10.0-46-amd64",
    );
    assert_eq!(c["outcome"], "fails", "{c}");
    assert!(c["reasons"].to_string().contains("CO-RE"), "{c}");
    let c = cell(
        &v,
        "core_missing_field.bpf.o",
        "read_state",
        "6.1.0-47-amd64",
    );
    assert_eq!(c["outcome"], "loads", "{c}");
    assert!(c["events"].as_u64().unwrap() > 0, "{c}");
    let c = cell(
        &v,
        "attach_kinds.bpf.o",
        "kprobe_inlined",
        "7.2.13+deb14-amd64",
    );
    assert_eq!(
        (&c["load"], &c["attach"]),
        (&"ok".into(), &"error".into()),
        "{c}"
    );
    assert_eq!(c["errno"], 2, "{c}");

    let s = &v["summary"];
    assert!(s["compared"].as_u64().unwrap() > 100, "{s}");
    let dis = disagreements(&v);
    assert!(
        dis.is_empty() && code == Some(0) && v["held"] == true,
        "depsurf check's predictions do not all hold on the booted kernels ({} of {} \
         program results disagree, {} object verdicts):\n{}",
        s["disagree"],
        s["compared"],
        s["objects_disagree"],
        dis.join("\n")
    );

    // The website's check page of one of these objects, with the report: its verdict
    // rows carry what the booted kernels did.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("verified.json");
    std::fs::write(&report, v.to_string()).unwrap();
    let site = dir.path().join("site");
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .args(["site", "--no-summary", "--kind", "enum", "--check"])
        .arg(out.join("core_missing_field.bpf.o"))
        .arg("--verified")
        .arg(&report)
        .arg("--out")
        .arg(&site);
    let o = run_with_timeout(c, 300);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(site.join("checks/1.html")).unwrap();
    assert!(
        page.contains("<code>5.10.0-46-amd64</code>: <b>fails</b> — booted: <b>fails</b> ✓")
            && page.contains("booted: load error")
            && page.contains("✗ it did not"),
        "{page}"
    );
}

/// A copy of the bundled dataset in `dir`, with `edit` applied to its manifest's text.
fn dataset_copy(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let src = fixture("../../datasets/bundled");
    let dst = dir.join("dataset");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().into_owned();
        if n == "manifest.toml" || n.ends_with(".dsf") {
            std::fs::copy(e.path(), dst.join(&n)).unwrap();
        }
    }
    let m = dst.join("manifest.toml");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, edit(text)).unwrap();
    dst
}

#[test]
fn a_missing_package_and_a_crashing_loader_are_reported_and_the_rest_goes_on() {
    if !can_run(boot_prerequisites()) || !can_run(packages_cached(&["6.1.0-47-amd64"])) {
        return;
    }
    let Some(out) = build_objects() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // 5.10.0-46-amd64's kernel package at a version no archive has.
    let ds = dataset_copy(dir.path(), |t| {
        t.replace(
            "\"linux-image-5.10.0-46-amd64-unsigned 5.10.262-1 amd64\"",
            "\"linux-image-5.10.0-46-amd64-unsigned 0.0.1-depsurf-test amd64\"",
        )
    });
    let _one = one_at_a_time();
    let objects = [out.join("core_fields.bpf.o"), out.join("core_enum.bpf.o")];
    let (code, v, err) = verify(
        &[
            "--dataset",
            ds.to_str().unwrap(),
            "--image",
            "5.10.0-46-amd64",
            "--image",
            "6.1.0-47-amd64",
            // The loader of this program aborts before loading (the guest's fault
            // injection): a loader that crashes on an object.
            "--kernel-arg",
            "depsurf.fault=abort:read_stable_fields",
            "--no-cache",
        ],
        &objects,
        600,
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(v["held"], false);
    let i = not_verified(
        &v,
        "5.10.0-46-amd64",
        "no_package",
        "linux-image-5.10.0-46-amd64-unsigned",
    );
    assert!(
        i["detail"].as_str().unwrap().contains("0.0.1-depsurf-test"),
        "{i}"
    );
    let c = cell(
        &v,
        "core_fields.bpf.o",
        "read_stable_fields",
        "5.10.0-46-amd64",
    );
    assert_eq!(c["outcome"], "no result", "{c}");
    assert_eq!(c["agreement"], "no result", "{c}");

    // The rest went on: 6.1 booted, the crash is that program's alone.
    let i = image(&v, "6.1.0-47-amd64");
    assert_eq!(i["status"], "verified", "{i}\n{err}");
    let c = cell(
        &v,
        "core_fields.bpf.o",
        "read_stable_fields",
        "6.1.0-47-amd64",
    );
    assert_eq!(c["load"], "died", "{c}");
    assert_eq!(c["outcome"], "fails", "{c}");
    assert_eq!(c["agreement"], "disagrees", "{c}");
    assert!(
        c["reasons"].to_string().contains("killed by signal 6"),
        "{c}"
    );
    let c = cell(&v, "core_enum.bpf.o", "check_guarded", "6.1.0-47-amd64");
    assert_eq!(c["outcome"], "loads", "{c}");
    assert_eq!(c["agreement"], "agrees", "{c}");
}

#[test]
fn a_kernel_that_panics_and_a_boot_that_hangs_are_reported() {
    if !can_run(boot_prerequisites()) || !can_run(packages_cached(&["6.1.0-47-amd64"])) {
        return;
    }
    let Some(out) = build_objects() else {
        return;
    };
    let objects = [out.join("core_fields.bpf.o")];
    let _one = one_at_a_time();
    // No /init where the kernel looks: it cannot mount a root and panics.
    let (code, v, err) = verify(
        &[
            "--image",
            "6.1.0-47-amd64",
            "--kernel-arg",
            "rdinit=/depsurf-no-such-init",
            "--timeout",
            "240",
        ],
        &objects,
        400,
    );
    assert_eq!(code, Some(1), "{err}");
    not_verified(&v, "6.1.0-47-amd64", "kernel_panic", "Kernel panic");
    let c = cell(
        &v,
        "core_fields.bpf.o",
        "read_stable_fields",
        "6.1.0-47-amd64",
    );
    assert_eq!(c["outcome"], "no result", "{c}");

    // A limit no boot meets stands for a kernel that hangs.
    let (code, v, err) = verify(
        &["--image", "6.1.0-47-amd64", "--timeout", "1", "--no-cache"],
        &objects,
        120,
    );
    assert_eq!(code, Some(1), "{err}");
    not_verified(&v, "6.1.0-47-amd64", "timed_out", "did not finish");
}

#[test]
fn record_helpers_writes_the_manifest_and_leaves_the_store() {
    if !can_run(boot_prerequisites()) || !can_run(packages_cached(&["6.1.0-47-amd64"])) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset_copy(dir.path(), |t| t);
    let store: Vec<PathBuf> = std::fs::read_dir(&ds)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dsf"))
        .collect();
    let store_bytes = std::fs::read(&store[0]).unwrap();
    let original = std::fs::read_to_string(ds.join("manifest.toml")).unwrap();
    let _one = one_at_a_time();
    let mut c = depsurf();
    c.args([
        "verify",
        "--record-helpers",
        "--format",
        "json",
        "--dataset",
    ])
    .arg(&ds)
    .args(["--image", "6.1.0-47-amd64"]);
    let o = run_with_timeout(c, 900);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(image(&v, "6.1.0-47-amd64")["helpers_recorded"], true);
    assert_eq!(std::fs::read(&store[0]).unwrap(), store_bytes);
    let text = std::fs::read_to_string(ds.join("manifest.toml")).unwrap();
    let m: toml::Value = toml::from_str(&text).unwrap();
    let img = m["image"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_str() == Some("6.1.0-47-amd64"))
        .unwrap();
    let h = &img["helpers"];
    assert_eq!(h["kernel"].as_str(), Some("6.1.0-47-amd64"), "{h}");
    assert!(
        h["libbpf"].as_str().is_some_and(|l| l.starts_with('1')),
        "{h}"
    );
    // 6.1 has helper ids up to 209; a kprobe may call bpf_map_lookup_elem (1) and
    // bpf_get_stackid (27) but not bpf_skb_load_bytes (26), a socket filter the other way
    // round.
    assert!(h["max_helper_id"].as_integer().unwrap() > 200, "{h}");
    let types = h["types"].as_table().unwrap();
    let has = |t: &str, id: u32| {
        depsurf_surface::HelperSet::parse(types[t].as_str().unwrap())
            .unwrap()
            .contains(id)
    };
    assert!(
        has("KPROBE", 1) && has("KPROBE", 27) && !has("KPROBE", 26),
        "{h}"
    );
    assert!(has("SOCKET_FILTER", 26) && !has("SOCKET_FILTER", 27), "{h}");
    assert!(
        h["unprobed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str() == Some("TRACING")),
        "{h}"
    );
    // Other images are untouched.
    let before: toml::Value = toml::from_str(&original).unwrap();
    for (a, b) in before["image"]
        .as_array()
        .unwrap()
        .iter()
        .zip(m["image"].as_array().unwrap())
    {
        if a["id"].as_str() != Some("6.1.0-47-amd64") {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("x.bpf.o");
    std::fs::write(&obj, b"not an object").unwrap();
    let run = |args: &[&str]| {
        let mut c = depsurf();
        c.env_remove("DEPSURF_DATASET").arg("verify").args(args);
        let o = run_with_timeout(c, 60);
        (o.status.code(), stderr(&o), stdout(&o))
    };
    let (code, err, out) = run(&["--record-helpers"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--dataset"), "{err}");
    assert!(out.is_empty(), "{out}");
    let (code, err, _) = run(&[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nothing to verify"), "{err}");
    let (code, err, _) = run(&["--image", "9.9.9-nope", obj.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("9.9.9-nope"), "{err}");
    let (code, err, _) = run(&[obj.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("x.bpf.o"), "{err}");
}

#[test]
fn images_this_machine_cannot_boot_are_skipped_with_the_reason() {
    let Some(out) = build_objects() else {
        return;
    };
    let obj = out.join("core_fields.bpf.o");
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .args([
            "verify",
            "--image",
            "6.1.0-47-arm64",
            "--image",
            "6.1.0-47-686-pae",
        ])
        .arg(&obj);
    let o = run_with_timeout(c, 60);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("6.1.0-47-arm64 (arm64)") && err.contains("6.1.0-47-686-pae (i386)"),
        "{err}"
    );
}

/// A kprobe on a function of a loadable module (tests/bpf/modules): it fails to attach on
/// the booted 6.1 kernel as `check` predicts, and attaches once `--module tcp_bbr` has the
/// guest load the module from the kernel's package; a module the package lacks leaves the
/// image unverified, said in words.
#[test]
fn modules_named_with_module_are_loaded_before_the_programs() {
    if !can_run(boot_prerequisites()) || !can_run(packages_cached(&["6.1.0-47-amd64"])) {
        return;
    }
    let Some(out) = build_objects() else {
        return;
    };
    let obj = out.join("module_kprobe.bpf.o");
    let o = Command::new("clang")
        .args([
            "-g",
            "-O2",
            "-Wall",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-I",
        ])
        .arg(&out)
        .arg("-c")
        .arg(fixture("../bpf/modules/module_kprobe.bpf.c"))
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(o.status.success(), "clang: {}", stderr(&o));
    let objects = [obj];
    let _one = one_at_a_time();
    let (code, v, err) = verify(&["--image", "6.1.0-47-amd64"], &objects, 600);
    assert_eq!(code, Some(0), "{err}");
    let c = cell(
        &v,
        "module_kprobe.bpf.o",
        "kprobe_bbr_main",
        "6.1.0-47-amd64",
    );
    assert_eq!(
        (&c["outcome"], &c["errno"]),
        (&"fails".into(), &2.into()),
        "{c}"
    );

    let (code, v, err) = verify(
        &["--image", "6.1.0-47-amd64", "--module", "tcp_bbr"],
        &objects,
        600,
    );
    let i = image(&v, "6.1.0-47-amd64");
    assert_eq!(i["modules"], serde_json::json!(["tcp_bbr"]), "{i}\n{err}");
    let c = cell(
        &v,
        "module_kprobe.bpf.o",
        "kprobe_bbr_main",
        "6.1.0-47-amd64",
    );
    assert_eq!(
        (&c["load"], &c["attach"]),
        (&"ok".into(), &"ok".into()),
        "{c}"
    );
    // check does not know modules yet: its "fails" is now a disagreement.
    assert_eq!(c["agreement"], "disagrees", "{c}");
    assert_eq!(code, Some(1), "{err}");

    let (code, v, err) = verify(
        &[
            "--image",
            "6.1.0-47-amd64",
            "--module",
            "depsurf_no_such_module",
        ],
        &objects,
        600,
    );
    assert_eq!(code, Some(1), "{err}");
    not_verified(
        &v,
        "6.1.0-47-amd64",
        "failed",
        "no module depsurf_no_such_module",
    );
}
