//! Boots Debian's 6.1.0-47-amd64 kernel under QEMU with two small eBPF objects compiled here
//! and checks what the guest reports: a kprobe and a tracepoint that load, attach and see
//! events; a CO-RE read of a field 6.1 does not have, which libbpf refuses to load; and a
//! kprobe on a function that does not exist, which loads but does not attach.
//!
//! Needs the kernel package (`$DEPSURF_VERIFY_KERNEL`, or
//! `linux-image-6.1.0-47-amd64-unsigned_*.deb` in `$XDG_CACHE_HOME/depsurf/build/packages`,
//! where datasets/build.sh downloads it), qemu-system-x86_64, clang and libbpf-dev's
//! headers, and what building the guest needs (libelf-dev, zlib1g-dev, make, pkg-config,
//! gcc). Without them it prints `SKIPPED: ...` and passes, unless `DEPSURF_REQUIRE_VERIFY=1`
//! (then it fails).

use std::path::{Path, PathBuf};
use std::process::Command;

use depsurf_verify::protocol::{Attach, Load};
use depsurf_verify::{CachePolicy, Config, ObjectInput, Options, Outcome, Verifier};

const REQUIRE: &str = "DEPSURF_REQUIRE_VERIFY";

fn skip(why: &str) {
    if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE}=1 but {why}");
    }
    eprintln!("SKIPPED: {why}");
}

fn kernel_package() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DEPSURF_VERIFY_KERNEL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let dir = base.join("depsurf/build/packages");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("linux-image-6.1.0-47-amd64-unsigned_") && n.ends_with(".deb")
            })
        })
        .collect();
    found.sort();
    found.pop()
}

/// Programs that must work on 6.1: no kernel headers needed, only libbpf's.
const GOOD: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___mine {
    int pid;
} __attribute__((preserve_access_index));

__u64 sleeps = 0;
int last_pid = 0;

SEC("kprobe/do_nanosleep")
int on_nanosleep(void *ctx)
{
    struct task_struct___mine *t = (void *)bpf_get_current_task();
    last_pid = BPF_CORE_READ(t, pid);
    __sync_fetch_and_add(&sleeps, 1);
    return 0;
}

SEC("tp/sched/sched_process_exec")
int on_exec(void *ctx)
{
    return 0;
}
"#;

/// Programs that must fail on 6.1: a field no kernel has, a function no kernel has.
const BAD: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___mine {
    int depsurf_no_such_field;
} __attribute__((preserve_access_index));

int seen = 0;

SEC("kprobe/do_nanosleep")
int read_missing_field(void *ctx)
{
    struct task_struct___mine *t = (void *)bpf_get_current_task();
    seen = BPF_CORE_READ(t, depsurf_no_such_field);
    return 0;
}

SEC("kprobe/depsurf_no_such_function")
int probe_missing_function(void *ctx)
{
    return 0;
}
"#;

fn clang() -> String {
    std::env::var("CLANG").unwrap_or_else(|_| "clang".into())
}

fn compile(dir: &Path, name: &str, source: &str) -> Result<PathBuf, String> {
    let src = dir.join(format!("{name}.bpf.c"));
    let obj = dir.join(format!("{name}.bpf.o"));
    std::fs::write(&src, source).map_err(|e| e.to_string())?;
    // <linux/bpf.h> needs <asm/types.h>, which Debian keeps in the multiarch directory.
    let multiarch = format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    let out = Command::new(clang())
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            &multiarch,
            "-c",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .map_err(|e| format!("clang: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "clang failed on {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(obj)
}

#[test]
fn boots_6_1_and_loads_programs() {
    let Some(kernel) = kernel_package().filter(|p| p.exists()) else {
        return skip("no linux-image-6.1.0-47-amd64-unsigned package (set DEPSURF_VERIFY_KERNEL)");
    };
    if !depsurf_verify::qemu::qemu_installed("x86_64") {
        return skip("qemu-system-x86_64 is not installed");
    }
    if let Some(why) = depsurf_verify::guest::missing_build_prerequisites()
        && std::env::var_os(depsurf_verify::guest::GUEST_ENV).is_none()
    {
        return skip(&why);
    }
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = match (
        compile(dir.path(), "good", GOOD),
        compile(dir.path(), "bad", BAD),
    ) {
        (Ok(g), Ok(b)) => (g, b),
        (Err(e), _) | (_, Err(e)) => {
            return skip(&format!("cannot compile the test programs: {e}"));
        }
    };

    let verifier =
        Verifier::new(Config::default(), &|m| eprintln!("{m}")).expect("the guest builds");
    let kernel = verifier
        .kernel(&kernel)
        .expect("the package holds a boot image");
    assert_eq!(kernel.release.as_deref(), Some("6.1.0-47-amd64"));
    let objects = [
        ObjectInput::from_file(&good).unwrap(),
        ObjectInput::from_file(&bad).unwrap(),
    ];
    let options = Options {
        functions: vec!["do_nanosleep".into(), "depsurf_no_such_function".into()],
        cache: CachePolicy::Refresh,
        ..Options::default()
    };
    let v = verifier
        .run(&kernel, &objects, &options)
        .expect("qemu runs");
    assert_eq!(
        v.outcome,
        Outcome::Completed,
        "console:\n{}",
        v.console_tail.join("\n")
    );
    assert!(!v.from_cache);
    let facts = v.kernel.as_ref().expect("kernel facts");
    assert_eq!(facts.release, "6.1.0-47-amd64");
    assert!(facts.btf_vmlinux);
    eprintln!(
        "booted with {} in {:?} ms (total {} ms, PVH {})",
        v.accel, v.timings.boot_ms, v.timings.total_ms, v.pvh_boot
    );

    let find = |obj: usize, name: &str| {
        v.objects[obj]
            .programs
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no result for {name}: {:#?}", v.objects[obj]))
            .clone()
    };
    for name in ["on_nanosleep", "on_exec"] {
        let p = find(0, name);
        assert_eq!(p.load, Load::Ok, "{p:#?}");
        assert_eq!(p.attach, Attach::Ok, "{p:#?}");
        assert!(p.events.unwrap_or(0) > 0, "{name} saw no events: {p:#?}");
    }

    let core = find(1, "read_missing_field");
    assert!(matches!(core.load, Load::Error { .. }), "{core:#?}");
    assert_eq!(
        core.attach,
        Attach::NotAttached {
            reason: depsurf_verify::protocol::Reason::LoadFailed
        }
    );
    let log = core.log.join("\n");
    assert!(
        log.contains("failed to resolve CO-RE relocation") && log.contains("depsurf_no_such_field"),
        "libbpf's reason is kept: {log}"
    );

    let probe = find(1, "probe_missing_function");
    assert_eq!(probe.load, Load::Ok, "{probe:#?}");
    match &probe.attach {
        Attach::Error { errno, .. } => assert_eq!(*errno, Some(2), "ENOENT: {probe:#?}"),
        other => panic!("expected an attach error, got {other:?}"),
    }
    assert!(
        probe
            .log
            .iter()
            .any(|l| l.contains("depsurf_no_such_function")),
        "{:?}",
        probe.log
    );

    let funcs = v.functions.as_ref().expect("functions were asked for");
    assert!(
        funcs.functions[0].ftrace,
        "do_nanosleep is traceable: {funcs:?}"
    );
    assert!(!funcs.functions[1].ftrace);
    assert!(funcs.available_filter_functions.unwrap_or(0) > 10_000);

    // The same run again comes from the cache, unchanged.
    let again = verifier
        .run(
            &kernel,
            &objects,
            &Options {
                cache: CachePolicy::Use,
                ..options.clone()
            },
        )
        .unwrap();
    assert!(again.from_cache);
    assert_eq!(again.objects, v.objects);
}
