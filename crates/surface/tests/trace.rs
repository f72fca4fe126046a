//! Traceability read out of a miniature kernel the test compiles the way the kernel is built
//! (tests/fixtures/trace: `-pg -mfentry -mrecord-mcount -mnop-mcount`, the kernel's section
//! names): from its symbol table, from a stripped image with its System.map, and through a
//! dataset's store; and an image whose inputs cannot tell records traceability as unknown.

mod common;
use common::have_tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use depsurf_model::{Facet, Kind, Reasons, TraceReason, Traceability};
use depsurf_surface::dataset::{self, Dataset, Update};
use depsurf_surface::extract::extract;

/// A file of tests/fixtures/trace.
fn fixture(rel: &str) -> PathBuf {
    common::fixture("trace").join(rel)
}

fn sh(dir: &Path, script: &str) {
    let o = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn open(dir: &Path, files: &[&str]) -> depsurf_image::KernelImage {
    let inputs: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    depsurf_image::open_one(&inputs, &depsurf_image::OpenOptions::default()).unwrap()
}

fn reasons(rs: &[TraceReason]) -> Reasons {
    let mut r = Reasons::default();
    rs.iter().for_each(|x| r.add(*x));
    r
}

fn expected() -> Traceability {
    use TraceReason::*;
    let mut t = Traceability::default();
    for n in [
        "vfs_read",
        "ksys_read",
        "do_int3",
        "kprobe_handler",
        "tcp_send",
    ] {
        t.ftrace.insert(n.into());
    }
    for (n, r) in [
        ("blk_account_io_done", reasons(&[Notrace])),
        ("tcp_send.isra.0", reasons(&[Notrace])),
        ("_start", reasons(&[Notrace])),
        ("exc_nmi", reasons(&[Notrace, Noinstr])),
        ("entry_SYSCALL_64", reasons(&[Notrace, Entry])),
        ("do_int3", reasons(&[Blacklist])),
        ("kprobe_handler", reasons(&[KprobesText])),
        // A record, but in init code.
        ("start_kernel", reasons(&[Init])),
    ] {
        t.exceptions.insert(n.into(), r);
    }
    t
}

#[test]
fn traceability_of_a_miniature_kernel() {
    if !have_tools(&["gcc", "nm", "objcopy"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sh(
        d,
        &format!(
            "gcc -O1 -pg -mfentry -mrecord-mcount -mnop-mcount -fno-pie -no-pie \
             -mcmodel=kernel -nostdlib -static -ffreestanding -fno-asynchronous-unwind-tables \
             -Wl,-T,{} -o vmlinux {} 2>/dev/null
             nm -n vmlinux > System.map
             objcopy --strip-all vmlinux vmlinux.stripped",
            fixture("kernel.lds").display(),
            fixture("kernel.c").display()
        ),
    );
    for files in [&["vmlinux"][..], &["vmlinux.stripped", "System.map"]] {
        let img = open(d, files);
        let (meta, s) = extract(&img).unwrap();
        assert_eq!(meta.id, "6.1.0-98-amd64");
        assert_eq!(s.traceability, Some(expected()), "{files:?}");
        assert!(!meta.unknown.contains(&Facet::Traceability), "{files:?}");
        // No DWARF: function status is unknown, not none.
        assert!(meta.unknown.contains(&Facet::FuncStatus), "{files:?}");
        // No config given: its options are unknown.
        assert!(meta.missing.contains(&Kind::Config), "{files:?}");
        let line = meta
            .sources
            .iter()
            .find(|l| l.starts_with("traceability: "))
            .unwrap();
        assert!(
            line.starts_with(
                "traceability: 5 of 11 function symbols patchable by ftrace (5 mcount records: \
                 0 empty, 1 in init code, 0 at no function entry)"
            ),
            "{line}"
        );
    }

    // Through a dataset: the store keeps it, and the query follows the kernel's rules.
    let stripped = open(d, &["vmlinux.stripped"]);
    let (meta, s) = extract(&stripped).unwrap();
    // Without symbols nothing can be told: unknown, not absent.
    assert!(meta.unknown.contains(&Facet::Traceability));
    assert_eq!(s.traceability, None);
    assert!(meta.missing.contains(&Kind::Var));
    let mut lost = meta;
    lost.id = "stripped".into();
    let (meta, s2) = extract(&open(d, &["vmlinux"])).unwrap();
    let ds_dir = d.join("ds");
    dataset::write(
        &ds_dir,
        Update {
            images: vec![(meta, s2), (lost, s)],
            default: None,
            name: None,
            groups: None,
            compact: false,
        },
    )
    .unwrap();
    let ds = Dataset::open(&ds_dir).unwrap();
    let id = "6.1.0-98-amd64";
    assert!(ds.has_facet(id, Facet::Traceability).unwrap());
    assert!(!ds.has_facet(id, Facet::FuncStatus).unwrap());
    assert!(!ds.has_facet("stripped", Facet::Traceability).unwrap());
    assert_eq!(ds.traceability("stripped", "vfs_read").unwrap(), None);
    let q = |n: &str| ds.traceability(id, n).unwrap().unwrap();
    assert!(q("vfs_read").ftrace && q("vfs_read").kprobe.is_none());
    assert!(q("ksys_read").ftrace);
    let done = q("blk_account_io_done");
    assert!(done.symbol && !done.ftrace);
    assert_eq!(done.kprobe, Some(TraceReason::Notrace));
    assert_eq!(q("exc_nmi").kprobe, Some(TraceReason::Noinstr));
    assert_eq!(q("entry_SYSCALL_64").kprobe, Some(TraceReason::Entry));
    assert!(q("do_int3").ftrace);
    assert_eq!(q("do_int3").kprobe, Some(TraceReason::Blacklist));
    assert_eq!(q("kprobe_handler").kprobe, Some(TraceReason::KprobesText));
    assert_eq!(q("start_kernel").kprobe, Some(TraceReason::Init));
    assert!(!q("start_kernel").ftrace);
    // The clone has no record, but kprobe events take its base's.
    let clone = q("tcp_send.isra.0");
    assert!(!clone.ftrace);
    assert_eq!(clone.kprobe, None);
    assert_eq!(clone.base.as_deref(), Some("tcp_send"));
    assert!(!q("no_such_function").symbol);
}

/// Debian's image package alone (vmlinuz, config, and a placeholder System.map): kfuncs and
/// traceability come from the kallsyms inside the boot image; function status, which needs
/// DWARF, is unknown rather than none. Runs where `datasets/build.sh` left its packages.
#[test]
fn an_image_package_alone_says_what_it_cannot_tell() {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let dir = Path::new(&home).join(".cache/depsurf/build/packages");
    let Some(pkg) = std::fs::read_dir(&dir).ok().and_then(|d| {
        d.flatten().map(|e| e.path()).find(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with("linux-image-6.1.0-47-cloud-amd64-unsigned_")
            })
        })
    }) else {
        eprintln!("SKIPPED: no linux-image-6.1.0-47-cloud-amd64-unsigned package in {dir:?}");
        return;
    };
    let img = depsurf_image::open_one(&[pkg], &depsurf_image::OpenOptions::default()).unwrap();
    let (meta, s) = extract(&img).unwrap();
    assert!(!meta.missing.contains(&Kind::Kfunc), "{:?}", meta.pending);
    assert!(s.kfuncs.len() > 40, "{} kfuncs", s.kfuncs.len());
    assert!(
        meta.sources
            .iter()
            .any(|l| l.starts_with("symbols: kallsyms of "))
    );
    assert!(meta.unknown.contains(&Facet::FuncStatus));
    assert!(!meta.unknown.contains(&Facet::Traceability));
    let t = s.traceability.unwrap();
    assert!(t.ftrace.len() > 30_000);
    assert!(!t.ftrace.contains("blk_account_io_done"));
    assert!(t.exceptions.contains_key("blk_account_io_done"));
}
