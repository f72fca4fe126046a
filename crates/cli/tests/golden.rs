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
//!   6.1 → 6.12 shows `Event changed` and `Func changed` (its `Format changed` and the
//!   smaller event struct of 32-bit arches, `Layout changed`, are in the JSON and terminal
//!   views only, as the research pages list neither);
//! * tracepoint sched_switch — `prev_state` added to its probe function in Linux 5.18, so
//!   5.10 → 6.1 lists `Func changed` then `Param added` (the research page's change);
//! * func vfs_read, finish_task_switch, do_tkill — the research pages' three function
//!   examples: a unique global function; a static one cloned into `.isra.0` since 6.1
//!   (`Transformation`); one fully inlined into its callers since 6.12 (`Full Inline`);
//! * lsm bpf — the research page's LSM example (`security_bpf`'s prototype);
//! * syscall open — number 2 on amd64, 5 on armhf, i386, ppc64el and s390x (and in s390x's
//!   31-bit emulation table), absent on arm64 (asm-generic's table has only openat), as in
//!   each arch's `unistd.h` of linux-libc-dev.
//!
//! The armhf, i386, ppc64el and s390x columns come from those kernels' DWARF (Debian builds
//! them without BTF); function statuses (bpf_link_init: selectively inlined) were checked
//! with llvm-dwarfdump (its DW_TAG_inlined_subroutine in bpf_tracing_prog_attach).
//!
//! The Markdown follows the research system's pages (docs/report-markdown.md): bitfields
//! without widths, no format strings, no layout changes. The terminal view
//! (`term-*.txt`: `--format term`, piped, so without colours, at the default width of 100
//! columns) keeps them.
//!
//! `DEPSURF_BLESS=1 cargo test --test golden` rewrites the files (then check them again).

mod common;
use common::*;

fn check(kind: &str, name: &str) {
    golden(&["report", kind, name], &format!("{kind}-{name}.md"));
}

/// The terminal view, full or compact.
fn check_term(kind: &str, name: &str, full: bool) {
    let mut args = vec!["report", kind, name, "--format", "term"];
    if full {
        args.push("--full");
    }
    let file = format!("term-{kind}-{name}{}.txt", if full { "-full" } else { "" });
    golden(&args, &file);
}

/// The output of `depsurf ARGS` on the bundled dataset against tests/golden/bundled/FILE.
fn golden(args: &[&str], file: &str) {
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .args(args);
    let o = run_with_timeout(c, 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = fixture(&format!("../golden/bundled/{file}"));
    if std::env::var("DEPSURF_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &o.stdout).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (DEPSURF_BLESS=1 writes it)", path.display()));
    assert_eq!(stdout(&o), want, "{}", args.join(" "));
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

#[test]
fn tracepoint_with_a_param_added() {
    check("tracepoint", "sched_switch");
}

#[test]
fn function_unique_global() {
    check("func", "vfs_read");
}

#[test]
fn function_transformed() {
    check("func", "finish_task_switch");
}

#[test]
fn function_fully_inlined() {
    check("func", "do_tkill");
}

#[test]
fn lsm_hook_bpf() {
    check("lsm", "bpf");
}

#[test]
fn terminal_view_of_a_tracepoint() {
    check_term("tracepoint", "consume_skb", false);
}

#[test]
fn terminal_view_of_a_function_every_image() {
    check_term("func", "do_tkill", true);
}

#[test]
fn terminal_view_of_a_large_struct_is_cut() {
    check_term("struct", "task_struct", false);
}
