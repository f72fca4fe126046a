//! Tracepoints and system calls of the bundled dataset against what the kernels' own sources
//! say, for every image: each tracepoint has its `trace_event_raw_<class>` struct and its
//! `trace_event_raw_event_<class>` function in the image's types, and extraction found its
//! `__tracepoint_<name>` symbol; the 6.1 system call tables equal the `__NR_*` numbers of
//! Debian's linux-libc-dev headers for the same stable series (tests/fixtures/syscalls).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use depsurf_model::model::Kind;
use depsurf_surface::dataset::Dataset;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bundled() -> Dataset {
    Dataset::open(&root().join("datasets/bundled")).unwrap()
}

/// `number<TAB>name` lines of a header listing.
fn header_table(file: &str) -> BTreeMap<u32, String> {
    let path = root().join("tests/fixtures/syscalls").join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let (nr, name) = l.split_once('\t').unwrap();
            (nr.parse().unwrap(), name.to_string())
        })
        .collect()
}

#[test]
fn every_tracepoint_has_its_struct_function_and_symbol() {
    let ds = bundled();
    let mut counted = Vec::new();
    let store = ds.store();
    for meta in ds.images() {
        let slot = ds.slot(&meta.id).unwrap();
        let names = store.names(slot, Kind::Tracepoint).unwrap();
        assert!(names.len() > 400, "{}: {}", meta.id, names.len());
        let has = |kind, name: &str| store.def_id(slot, kind, name).unwrap().is_some();
        for name in &names {
            let id = store.def_id(slot, Kind::Tracepoint, name).unwrap().unwrap();
            let tp = store.tracepoint(id).unwrap();
            assert!(
                has(Kind::Struct, &tp.struct_name()),
                "{}: {name} without {}",
                meta.id,
                tp.struct_name()
            );
            assert!(
                has(Kind::Func, &tp.func_name()),
                "{}: {name} without {}",
                meta.id,
                tp.func_name()
            );
            assert!(!tp.system.is_empty(), "{}: {name} has no system", meta.id);
        }
        // Extraction lists the tracepoints without a `__tracepoint_` symbol in the sources.
        let line = meta
            .sources
            .iter()
            .find(|l| l.starts_with("tracepoints: "))
            .unwrap_or_else(|| panic!("{}: no tracepoints source line", meta.id));
        assert!(
            line.starts_with(&format!("tracepoints: {} of ", names.len())),
            "{line}"
        );
        assert!(!line.contains("without"), "{}: {line}", meta.id);
        counted.push(format!("{} {}", meta.id, names.len()));
    }
    assert_eq!(counted.len(), ds.images().len());
}

/// Names under which an entry point differs from the `__NR_` name: the kernel's function
/// is `sys_newstat` where the header says `__NR_stat`, and so on.
const ALIASES: &[(&str, &str)] = &[
    ("newstat", "stat"),
    ("newfstat", "fstat"),
    ("newlstat", "lstat"),
    ("newuname", "uname"),
    ("sendfile64", "sendfile"),
    ("umount", "umount2"),
    ("arm64_personality", "personality"),
    ("fadvise64_64", "fadvise64"),
];

fn check_against_headers(image: &str, header: &str, unimplemented: &[&str]) -> (usize, usize) {
    let ds = bundled();
    let (native, _) = ds.store().syscalls(ds.slot(image).unwrap()).unwrap();
    let want = header_table(header);
    let mut same = 0;
    let mut aliased = 0;
    for (nr, name) in &native {
        let Some(h) = want.get(nr) else {
            panic!("{image}: {nr} {name} is not in {header}");
        };
        if h == name {
            same += 1;
        } else if ALIASES.contains(&(name.as_str(), h.as_str())) {
            aliased += 1;
        } else {
            panic!("{image}: {nr} is {name} in the kernel, {h} in {header}");
        }
    }
    // Numbers the header reserves that the kernel leaves to sys_ni_syscall.
    let mut missing: Vec<&str> = want
        .iter()
        .filter(|(nr, _)| !native.contains_key(nr))
        .map(|(_, n)| n.as_str())
        .collect();
    missing.sort();
    let mut expected = unimplemented.to_vec();
    expected.sort();
    assert_eq!(
        missing, expected,
        "{image}: header numbers the kernel lacks"
    );
    (same, aliased)
}

#[test]
fn amd64_syscall_table_matches_linux_libc_dev() {
    let (same, aliased) = check_against_headers(
        "6.1.0-47-amd64",
        "amd64-6.1.176-1.unistd.tsv",
        &[
            "uselib",
            "_sysctl",
            "create_module",
            "get_kernel_syms",
            "query_module",
            "nfsservctl",
            "getpmsg",
            "putpmsg",
            "afs_syscall",
            "tuxcall",
            "security",
            "set_thread_area",
            "get_thread_area",
            "epoll_ctl_old",
            "epoll_wait_old",
            "vserver",
        ],
    );
    assert_eq!((same, aliased), (340, 6));
}

#[test]
fn arm64_syscall_table_matches_linux_libc_dev() {
    let (same, aliased) = check_against_headers(
        "6.1.0-47-arm64",
        "arm64-6.1.176-1.unistd.tsv",
        &["nfsservctl", "arch_specific_syscall"],
    );
    assert_eq!((same, aliased), (299, 6));
}

#[test]
fn compat_tables_are_separate() {
    let ds = bundled();
    // 5.10 amd64 keeps ia32 and x32 tables; arm64 its 32-bit compat table; s390x its
    // 31-bit emulation table.
    for (image, abis) in [
        ("5.10.0-46-amd64", &["ia32", "x32"][..]),
        ("6.1.0-47-arm64", &["compat"][..]),
        ("6.1.0-47-s390x", &["emu"][..]),
        ("6.1.0-47-amd64", &[][..]),
    ] {
        let (_, compat) = ds.store().syscalls(ds.slot(image).unwrap()).unwrap();
        let got: Vec<&str> = compat.keys().map(String::as_str).collect();
        assert_eq!(got, abis, "{image}");
    }
    let (native, compat) = ds
        .store()
        .syscalls(ds.slot("5.10.0-46-amd64").unwrap())
        .unwrap();
    assert_eq!(compat["ia32"][&5], "open");
    assert_eq!(compat["x32"][&257], "openat");
    assert_eq!(native[&257], "openat");
}

/// Every image of the bundled dataset has its traceability and its kfuncs (all are built
/// from their debug packages), and what the booted kernels list agrees for the functions the
/// issue that asked for traceability names (scripts/trace-boot.sh, scripts/trace-compare.py
/// compare whole lists).
#[test]
fn traceability_of_the_bundled_kernels() {
    use depsurf_model::{Facet, TraceReason};
    let ds = bundled();
    for meta in ds.images() {
        assert!(
            ds.has_facet(&meta.id, Facet::Traceability).unwrap(),
            "{}",
            meta.id
        );
        assert!(
            ds.has_facet(&meta.id, Facet::FuncStatus).unwrap(),
            "{}",
            meta.id
        );
        assert!(ds.has_kind(&meta.id, Kind::Kfunc), "{}", meta.id);
        let slot = ds.slot(&meta.id).unwrap();
        let t = ds.store().traceability(slot).unwrap().unwrap();
        // Most function symbols are patchable; the rest have reasons.
        assert!(t.ftrace.len() > 20_000, "{}: {}", meta.id, t.ftrace.len());
        assert!(t.exceptions.len() < t.ftrace.len(), "{}", meta.id);
        let q = |n: &str| ds.traceability(&meta.id, n).unwrap().unwrap();
        let read = q("vfs_read");
        assert!(
            read.ftrace && read.kprobe.is_none(),
            "{}: {read:?}",
            meta.id
        );
    }
    let q = |id: &str, n: &str| ds.traceability(id, n).unwrap().unwrap();
    // In kallsyms, but neither ftrace nor kprobe events take them.
    for (id, n) in [
        ("6.1.0-47-amd64", "blk_account_io_done"),
        ("7.2.13+deb14-amd64", "blk_account_io_start"),
    ] {
        let t = q(id, n);
        assert!(t.symbol && !t.ftrace, "{id} {n}: {t:?}");
        assert_eq!(t.kprobe, Some(TraceReason::Notrace), "{id} {n}");
    }
    // noinstr: on the kprobe blacklist too.
    for id in [
        "6.1.0-47-amd64",
        "6.12.117+deb13-amd64",
        "7.2.13+deb14-amd64",
    ] {
        let t = q(id, "exc_nmi");
        assert!(!t.ftrace, "{id}");
        assert_eq!(t.kprobe, Some(TraceReason::Noinstr), "{id}");
    }
}
