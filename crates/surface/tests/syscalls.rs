//! System call tables read out of a miniature kernel the test compiles
//! (tests/fixtures/syscalls): the slots of `sys_ni_syscall` are kept apart from the calls, so
//! no listing sees them, and the research layout gets them back as `"2": "ni_syscall"`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

mod common;
use common::{fixture, have_tools};

use depsurf_model::Kind;
use depsurf_surface::dataset::{self, Dataset, Update};
use depsurf_surface::extract::extract;
use depsurf_surface::research;

#[test]
fn unimplemented_slots_are_kept_apart_and_exported() {
    if !have_tools(&["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = Command::new("gcc")
        .args([
            "-O1",
            "-fno-pie",
            "-no-pie",
            "-mcmodel=kernel",
            "-nostdlib",
            "-static",
            "-ffreestanding",
            "-fno-asynchronous-unwind-tables",
        ])
        .arg(format!("-Wl,-T,{}", fixture("trace/kernel.lds").display()))
        .arg("-o")
        .arg(d.join("vmlinux"))
        .arg(fixture("syscalls/kernel.c"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = depsurf_image::open_one(&[d.join("vmlinux")], &depsurf_image::OpenOptions::default())
        .unwrap();
    let (meta, s) = extract(&img).unwrap();
    let table = |v: &[(u32, &str)]| -> BTreeMap<u32, String> {
        v.iter().map(|&(n, s)| (n, s.to_string())).collect()
    };
    assert_eq!(
        s.syscalls,
        table(&[(0, "read"), (1, "write"), (3, "open"), (6, "read")])
    );
    assert_eq!(s.compat_syscalls["ia32"], table(&[(1, "read")]));
    let set = |v: &[u32]| -> BTreeSet<u32> { v.iter().copied().collect() };
    assert_eq!(s.ni_syscalls[""], set(&[2, 4, 5]));
    assert_eq!(s.ni_syscalls["ia32"], set(&[0]));
    assert_eq!(s.names(Kind::Syscall), ["open", "read", "write"]);
    let line = meta
        .sources
        .iter()
        .find(|l| l.starts_with("syscalls: "))
        .unwrap();
    assert!(
        line.starts_with(
            "syscalls: 4 sys_call_table (3 slots not implemented), 1 ia32_sys_call_table \
             (1 slots not implemented)"
        ),
        "{line}"
    );

    // Through a dataset's store: still no system call named ni_syscall.
    let ds_dir = d.join("ds");
    dataset::write(
        &ds_dir,
        Update {
            images: vec![(meta.clone(), s.clone())],
            default: None,
            name: None,
            groups: None,
            compact: false,
        },
    )
    .unwrap();
    let ds = Dataset::open(&ds_dir).unwrap();
    let id = meta.id.as_str();
    assert_eq!(ds.surface(id).unwrap().unwrap().ni_syscalls, s.ni_syscalls);
    let slot = ds.slot(id).unwrap();
    assert_eq!(
        ds.store().names(slot, Kind::Syscall).unwrap(),
        ["open", "read", "write"]
    );
    assert_eq!(ds.def_id(id, Kind::Syscall, "ni_syscall").unwrap(), None);

    // The research layout has every slot; import takes the unimplemented ones apart again.
    let out = d.join("research");
    let surface = ds.surface(id).unwrap().unwrap();
    research::export(&[(meta.clone(), surface)], None, &out).unwrap();
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(p)).unwrap()).unwrap()
    };
    assert_eq!(
        read(&format!("syscalls/{id}.json")),
        serde_json::json!({"0": "read", "1": "write", "2": "ni_syscall", "3": "open",
                           "4": "ni_syscall", "5": "ni_syscall", "6": "read"})
    );
    assert_eq!(
        read(&format!("syscalls_compat/{id}.json")),
        serde_json::json!({"ia32": {"0": "ni_syscall", "1": "read"}})
    );
    let back = research::import_image(&out, id).unwrap();
    assert_eq!(back.syscalls, s.syscalls);
    assert_eq!(back.compat_syscalls, s.compat_syscalls);
    assert_eq!(back.ni_syscalls, s.ni_syscalls);
}
