//! Reports of the bundled dataset against expected outputs in tests/golden/bundled, each
//! checked by hand against bpftool's dump of the same kernels' BTF when written:
//!
//! * struct acpi_handle_list — a field's type changes (array to pointer) between 6.1 and 6.12;
//! * struct _fpxreg — x86-only: absent on arm64;
//! * struct qspinlock — an anonymous union of anonymous structs, flattened;
//! * union bpf_iter_link_info — members added between 5.10 and 6.1;
//! * enum acpi_preferred_pm_profiles — a value added between 6.1 and 6.12;
//! * func bpf_link_init — a parameter added between 6.12 and 7.2;
//! * lsm file_open — an LSM hook with security_file_open's signature;
//! * tracepoint consume_skb — `location` added to its event struct, its probe function and
//!   its format in Linux 6.3 (kernel commit "net: add location to trace_consume_skb()"), so
//!   6.1 → 6.12 shows `Event changed`, `Func changed` and `Format changed`; 32-bit arches'
//!   event struct is smaller (`Layout changed`);
//! * syscall open — number 2 on amd64, 5 on armhf, i386, ppc64el and s390x (and in s390x's
//!   31-bit emulation table), absent on arm64 (asm-generic's table has only openat), as in
//!   each arch's `unistd.h` of linux-libc-dev.
//!
//! The armhf, i386, ppc64el and s390x columns come from those kernels' DWARF (Debian builds
//! them without BTF); function statuses (bpf_link_init: selectively inlined) were checked
//! with llvm-dwarfdump (its DW_TAG_inlined_subroutine in bpf_tracing_prog_attach).
//!
//! `DEPSURF_BLESS=1 cargo test --test golden` rewrites the files (then check them again).

mod common;
use common::*;

fn check(kind: &str, name: &str) {
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET").args(["report", kind, name]);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = fixture(&format!("../golden/bundled/{kind}-{name}.md"));
    if std::env::var("DEPSURF_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &o.stdout).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (DEPSURF_BLESS=1 writes it)", path.display()));
    assert_eq!(stdout(&o), want, "{kind} {name}");
}

#[test]
fn field_type_change() {
    check("struct", "acpi_handle_list");
}

#[test]
fn absent_on_another_architecture() {
    check("struct", "_fpxreg");
}

#[test]
fn anonymous_union_member() {
    check("struct", "qspinlock");
}

#[test]
fn union_with_members_added() {
    check("union", "bpf_iter_link_info");
}

#[test]
fn enum_with_a_value_added() {
    check("enum", "acpi_preferred_pm_profiles");
}

#[test]
fn function_with_a_parameter_added() {
    check("func", "bpf_link_init");
}

#[test]
fn lsm_hook() {
    check("lsm", "file_open");
}

#[test]
fn tracepoint_with_event_func_and_format_changes() {
    check("tracepoint", "consume_skb");
}

#[test]
fn syscall_absent_on_one_arch() {
    check("syscall", "open");
}
