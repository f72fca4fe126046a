//! Tracepoints and system calls read out of an image's data, on a miniature kernel the test
//! compiles (tests/fixtures/data/kernel.c): from its symbol table; from a position-independent
//! build whose pointers live only in `.rela.dyn` (as arm64 kernels keep them); and from a
//! stripped image with a System.map and pahole's BTF (as a boot image and its System.map).

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

fn sh(dir: &Path, script: &str) -> String {
    let o = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(o.status.success(), "{script}: {}", stderr(&o));
    stdout(&o)
}

fn json(args: &[&str], dir: &Path) -> serde_json::Value {
    let mut c = depsurf();
    c.args(args).arg("--json").current_dir(dir);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// Zeroes every slot `.rela.dyn` fills with an `R_X86_64_RELATIVE` entry, using binutils'
/// view of the file: afterwards the pointers exist only as relocations.
fn zero_relative_slots(dir: &Path, file: &str) -> usize {
    let loads: Vec<(u64, u64, u64)> = sh(dir, &format!("readelf -lW {file}"))
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD"))
        .map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .take(4)
                .map(|x| u64::from_str_radix(x.trim_start_matches("0x"), 16).unwrap())
                .collect();
            (f[0], f[1], f[3]) // offset, vaddr, filesz
        })
        .collect();
    let path = dir.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let mut zeroed = 0;
    for l in sh(dir, &format!("readelf -rW {file}")).lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || f[2] != "R_X86_64_RELATIVE" {
            continue;
        }
        let vaddr = u64::from_str_radix(f[0], 16).unwrap();
        let (off, va, _) = loads
            .iter()
            .find(|(_, va, sz)| vaddr >= *va && vaddr < va + sz)
            .expect("relocated slot in a LOAD segment");
        let at = (off + vaddr - va) as usize;
        assert_ne!(
            bytes[at..at + 8],
            [0; 8],
            "the link stored the pointer in place"
        );
        bytes[at..at + 8].fill(0);
        zeroed += 1;
    }
    std::fs::write(&path, bytes).unwrap();
    zeroed
}

#[test]
fn tracepoints_and_syscalls_from_every_layout() {
    if !["gcc", "objcopy", "nm", "readelf", "pahole"]
        .iter()
        .all(|t| have_tool(t))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = fixture("data/kernel.c");
    let src = src.display();
    sh(
        d,
        &format!(
            "cc='gcc -g -O0 -fno-eliminate-unused-debug-types -nostdlib'
             $cc -static -fno-pie -no-pie -o vmlinux {src}
             $cc -static-pie -fpie -o vmlinux-pie {src}
             nm -n vmlinux > System.map
             objcopy --strip-all vmlinux vmlinux.stripped
             pahole --btf_encode_detached vmlinux.btf vmlinux"
        ),
    );
    let zeroed = zero_relative_slots(d, "vmlinux-pie");
    assert!(zeroed >= 10);

    let want_tp = serde_json::json!([
        {"event": "sched_switch", "system": "sched", "class": "sched_switch",
         "struct_name": "trace_event_raw_sched_switch",
         "func_name": "trace_event_raw_event_sched_switch",
         "has_struct": true, "has_func": true,
         "fmt": "\"prev_comm=%s prev_pid=%d\", REC->prev_comm, REC->prev_pid"},
        {"event": "sched_wakeup", "system": "sched", "class": "sched_wakeup_template",
         "struct_name": "trace_event_raw_sched_wakeup_template",
         "func_name": "trace_event_raw_event_sched_wakeup_template",
         "has_struct": true, "has_func": true,
         "fmt": "\"pid=%d target_cpu=%03d\", REC->pid, REC->target_cpu"},
        {"event": "sched_waking", "system": "sched", "class": "sched_wakeup_template",
         "struct_name": "trace_event_raw_sched_wakeup_template",
         "func_name": "trace_event_raw_event_sched_wakeup_template",
         "has_struct": true, "has_func": true,
         "fmt": "\"pid=%d target_cpu=%03d\", REC->pid, REC->target_cpu"},
    ]);
    let want_sc = serde_json::json!({
        "native": {"0": "read", "1": "write", "4": "newstat"},
        "ia32": {"3": "read", "5": "open"},
    });
    for inputs in [
        vec!["vmlinux"],
        vec!["vmlinux-pie"],
        vec!["vmlinux.stripped", "System.map", "vmlinux.btf"],
    ] {
        let mut args = vec!["tracepoints"];
        args.extend(&inputs);
        let v = json(&args, d);
        assert_eq!(v["image"], "6.1.0-99-amd64");
        assert_eq!(v["tracepoints"], want_tp, "{inputs:?}");
        let sources = v["sources"].to_string();
        assert!(
            sources.contains("3 of 5 events (1 not tracepoints, 1 ignored)"),
            "{sources}"
        );
        let from_map = inputs.contains(&"System.map");
        assert_eq!(
            sources.contains("symbols from System.map"),
            from_map,
            "{sources}"
        );

        args[0] = "syscalls";
        let v = json(&args, d);
        assert_eq!(v["tables"], want_sc, "{inputs:?}");
    }

    // Without System.map, the stripped image says what is missing.
    let mut c = depsurf();
    c.args(["syscalls", "vmlinux.stripped"]).current_dir(d);
    let o = run_with_timeout(c, 60);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("depsurf: 6.1.0-99-amd64: no syscalls: "),
        "{err}"
    );
    assert!(
        err.contains("6.1.0-99-amd64 has no symbol table and no kallsyms: give its System.map"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}
