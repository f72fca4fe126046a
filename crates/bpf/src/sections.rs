//! Program section names as libbpf knows them: the program type each one loads as, and the
//! kernel item it attaches to (if any).

/// What a program section attaches to in the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attach {
    /// A kernel function by symbol name (kprobes): may carry `+offset`.
    Kprobe(String),
    /// Functions matching a glob (`kprobe.multi/`).
    KprobeMulti(String),
    /// A kernel function with BTF (fentry, fexit, fmod_ret).
    Trampoline(String),
    /// A tracepoint `system/event` (the system may be empty for raw tracepoints).
    Tracepoint { system: String, event: String },
    /// A system call by name (`ksyscall/`, `tracepoint/syscalls/sys_enter_X`).
    Syscall(String),
    /// An LSM hook.
    Lsm(String),
    /// A BPF iterator target (`iter/task` → `bpf_iter_task`).
    Iter(String),
    /// A struct_ops callback: the program's attach point is set by its map.
    StructOps(String),
    /// Not in the kernel (uprobes, USDT, XDP, tc, cgroup, ...), or set at run time.
    None,
}

/// A program section understood: prog type (enum bpf_prog_type name), the expected attach
/// type (enum bpf_attach_type name) where the section fixes one, and the attach point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionDef {
    pub prog_type: &'static str,
    pub attach_type: Option<&'static str>,
    pub attach: Attach,
    /// Sleepable variant (`.s`).
    pub sleepable: bool,
}

/// (prefix, prog type, attach type, how the rest names the target). A prefix ending in `+`
/// takes `/target` (or nothing); others must match exactly or be followed by `/`.
const DEFS: &[(&str, &str, Option<&str>, Target)] = &[
    ("socket", "SOCKET_FILTER", None, Target::None),
    (
        "sk_reuseport/migrate",
        "SK_REUSEPORT",
        Some("SK_REUSEPORT_SELECT_OR_MIGRATE"),
        Target::None,
    ),
    (
        "sk_reuseport",
        "SK_REUSEPORT",
        Some("SK_REUSEPORT_SELECT"),
        Target::None,
    ),
    (
        "kprobe.multi+",
        "KPROBE",
        Some("TRACE_KPROBE_MULTI"),
        Target::Glob,
    ),
    (
        "kretprobe.multi+",
        "KPROBE",
        Some("TRACE_KPROBE_MULTI"),
        Target::Glob,
    ),
    (
        "kprobe.session+",
        "KPROBE",
        Some("TRACE_KPROBE_SESSION"),
        Target::Glob,
    ),
    (
        "uprobe.multi+",
        "KPROBE",
        Some("TRACE_UPROBE_MULTI"),
        Target::None,
    ),
    (
        "uretprobe.multi+",
        "KPROBE",
        Some("TRACE_UPROBE_MULTI"),
        Target::None,
    ),
    (
        "uprobe.multi.s+",
        "KPROBE",
        Some("TRACE_UPROBE_MULTI"),
        Target::None,
    ),
    (
        "uretprobe.multi.s+",
        "KPROBE",
        Some("TRACE_UPROBE_MULTI"),
        Target::None,
    ),
    (
        "uprobe.session+",
        "KPROBE",
        Some("TRACE_UPROBE_SESSION"),
        Target::None,
    ),
    ("kprobe+", "KPROBE", None, Target::Kprobe),
    ("kretprobe+", "KPROBE", None, Target::Kprobe),
    ("uprobe+", "KPROBE", None, Target::None),
    ("uprobe.s+", "KPROBE", None, Target::None),
    ("uretprobe+", "KPROBE", None, Target::None),
    ("uretprobe.s+", "KPROBE", None, Target::None),
    ("ksyscall+", "KPROBE", None, Target::Syscall),
    ("kretsyscall+", "KPROBE", None, Target::Syscall),
    ("usdt+", "KPROBE", None, Target::None),
    ("usdt.s+", "KPROBE", None, Target::None),
    ("tc/ingress", "SCHED_CLS", Some("TCX_INGRESS"), Target::None),
    ("tc/egress", "SCHED_CLS", Some("TCX_EGRESS"), Target::None),
    (
        "tcx/ingress",
        "SCHED_CLS",
        Some("TCX_INGRESS"),
        Target::None,
    ),
    ("tcx/egress", "SCHED_CLS", Some("TCX_EGRESS"), Target::None),
    ("tc", "SCHED_CLS", None, Target::None),
    ("classifier", "SCHED_CLS", None, Target::None),
    ("action", "SCHED_ACT", None, Target::None),
    (
        "netkit/primary",
        "SCHED_CLS",
        Some("NETKIT_PRIMARY"),
        Target::None,
    ),
    (
        "netkit/peer",
        "SCHED_CLS",
        Some("NETKIT_PEER"),
        Target::None,
    ),
    ("tracepoint+", "TRACEPOINT", None, Target::Tracepoint),
    ("tp+", "TRACEPOINT", None, Target::Tracepoint),
    (
        "raw_tracepoint+",
        "RAW_TRACEPOINT",
        None,
        Target::RawTracepoint,
    ),
    ("raw_tp+", "RAW_TRACEPOINT", None, Target::RawTracepoint),
    (
        "raw_tracepoint.w+",
        "RAW_TRACEPOINT_WRITABLE",
        None,
        Target::RawTracepoint,
    ),
    (
        "raw_tp.w+",
        "RAW_TRACEPOINT_WRITABLE",
        None,
        Target::RawTracepoint,
    ),
    (
        "tp_btf+",
        "TRACING",
        Some("TRACE_RAW_TP"),
        Target::RawTracepoint,
    ),
    (
        "fentry+",
        "TRACING",
        Some("TRACE_FENTRY"),
        Target::Trampoline,
    ),
    (
        "fmod_ret+",
        "TRACING",
        Some("MODIFY_RETURN"),
        Target::Trampoline,
    ),
    ("fexit+", "TRACING", Some("TRACE_FEXIT"), Target::Trampoline),
    (
        "fentry.s+",
        "TRACING",
        Some("TRACE_FENTRY"),
        Target::Trampoline,
    ),
    (
        "fmod_ret.s+",
        "TRACING",
        Some("MODIFY_RETURN"),
        Target::Trampoline,
    ),
    (
        "fexit.s+",
        "TRACING",
        Some("TRACE_FEXIT"),
        Target::Trampoline,
    ),
    ("freplace+", "EXT", None, Target::None),
    ("lsm+", "LSM", Some("LSM_MAC"), Target::Lsm),
    ("lsm.s+", "LSM", Some("LSM_MAC"), Target::Lsm),
    ("lsm_cgroup+", "LSM", Some("LSM_CGROUP"), Target::Lsm),
    ("iter+", "TRACING", Some("TRACE_ITER"), Target::Iter),
    ("iter.s+", "TRACING", Some("TRACE_ITER"), Target::Iter),
    ("syscall", "SYSCALL", None, Target::None),
    ("xdp.frags/devmap", "XDP", Some("XDP_DEVMAP"), Target::None),
    ("xdp/devmap", "XDP", Some("XDP_DEVMAP"), Target::None),
    ("xdp.frags/cpumap", "XDP", Some("XDP_CPUMAP"), Target::None),
    ("xdp/cpumap", "XDP", Some("XDP_CPUMAP"), Target::None),
    ("xdp.frags", "XDP", Some("XDP"), Target::None),
    ("xdp", "XDP", Some("XDP"), Target::None),
    ("perf_event", "PERF_EVENT", None, Target::None),
    ("lwt_in", "LWT_IN", None, Target::None),
    ("lwt_out", "LWT_OUT", None, Target::None),
    ("lwt_xmit", "LWT_XMIT", None, Target::None),
    ("lwt_seg6local", "LWT_SEG6LOCAL", None, Target::None),
    ("sockops", "SOCK_OPS", Some("CGROUP_SOCK_OPS"), Target::None),
    (
        "sk_skb/stream_parser",
        "SK_SKB",
        Some("SK_SKB_STREAM_PARSER"),
        Target::None,
    ),
    (
        "sk_skb/stream_verdict",
        "SK_SKB",
        Some("SK_SKB_STREAM_VERDICT"),
        Target::None,
    ),
    ("sk_skb", "SK_SKB", None, Target::None),
    ("sk_msg", "SK_MSG", Some("SK_MSG_VERDICT"), Target::None),
    ("lirc_mode2", "LIRC_MODE2", Some("LIRC_MODE2"), Target::None),
    (
        "flow_dissector",
        "FLOW_DISSECTOR",
        Some("FLOW_DISSECTOR"),
        Target::None,
    ),
    (
        "cgroup_skb/ingress",
        "CGROUP_SKB",
        Some("CGROUP_INET_INGRESS"),
        Target::None,
    ),
    (
        "cgroup_skb/egress",
        "CGROUP_SKB",
        Some("CGROUP_INET_EGRESS"),
        Target::None,
    ),
    ("cgroup/skb", "CGROUP_SKB", None, Target::None),
    (
        "cgroup/sock_create",
        "CGROUP_SOCK",
        Some("CGROUP_INET_SOCK_CREATE"),
        Target::None,
    ),
    (
        "cgroup/sock_release",
        "CGROUP_SOCK",
        Some("CGROUP_INET_SOCK_RELEASE"),
        Target::None,
    ),
    (
        "cgroup/sock",
        "CGROUP_SOCK",
        Some("CGROUP_INET_SOCK_CREATE"),
        Target::None,
    ),
    (
        "cgroup/post_bind4",
        "CGROUP_SOCK",
        Some("CGROUP_INET4_POST_BIND"),
        Target::None,
    ),
    (
        "cgroup/post_bind6",
        "CGROUP_SOCK",
        Some("CGROUP_INET6_POST_BIND"),
        Target::None,
    ),
    (
        "cgroup/bind4",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET4_BIND"),
        Target::None,
    ),
    (
        "cgroup/bind6",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET6_BIND"),
        Target::None,
    ),
    (
        "cgroup/connect4",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET4_CONNECT"),
        Target::None,
    ),
    (
        "cgroup/connect6",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET6_CONNECT"),
        Target::None,
    ),
    (
        "cgroup/connect_unix",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UNIX_CONNECT"),
        Target::None,
    ),
    (
        "cgroup/sendmsg4",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UDP4_SENDMSG"),
        Target::None,
    ),
    (
        "cgroup/sendmsg6",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UDP6_SENDMSG"),
        Target::None,
    ),
    (
        "cgroup/sendmsg_unix",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UNIX_SENDMSG"),
        Target::None,
    ),
    (
        "cgroup/recvmsg4",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UDP4_RECVMSG"),
        Target::None,
    ),
    (
        "cgroup/recvmsg6",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UDP6_RECVMSG"),
        Target::None,
    ),
    (
        "cgroup/recvmsg_unix",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UNIX_RECVMSG"),
        Target::None,
    ),
    (
        "cgroup/getpeername4",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET4_GETPEERNAME"),
        Target::None,
    ),
    (
        "cgroup/getpeername6",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET6_GETPEERNAME"),
        Target::None,
    ),
    (
        "cgroup/getpeername_unix",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UNIX_GETPEERNAME"),
        Target::None,
    ),
    (
        "cgroup/getsockname4",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET4_GETSOCKNAME"),
        Target::None,
    ),
    (
        "cgroup/getsockname6",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_INET6_GETSOCKNAME"),
        Target::None,
    ),
    (
        "cgroup/getsockname_unix",
        "CGROUP_SOCK_ADDR",
        Some("CGROUP_UNIX_GETSOCKNAME"),
        Target::None,
    ),
    (
        "cgroup/sysctl",
        "CGROUP_SYSCTL",
        Some("CGROUP_SYSCTL"),
        Target::None,
    ),
    (
        "cgroup/getsockopt",
        "CGROUP_SOCKOPT",
        Some("CGROUP_GETSOCKOPT"),
        Target::None,
    ),
    (
        "cgroup/setsockopt",
        "CGROUP_SOCKOPT",
        Some("CGROUP_SETSOCKOPT"),
        Target::None,
    ),
    (
        "cgroup/dev",
        "CGROUP_DEVICE",
        Some("CGROUP_DEVICE"),
        Target::None,
    ),
    ("struct_ops+", "STRUCT_OPS", None, Target::StructOps),
    ("struct_ops.s+", "STRUCT_OPS", None, Target::StructOps),
    ("sk_lookup", "SK_LOOKUP", Some("SK_LOOKUP"), Target::None),
    ("netfilter", "NETFILTER", Some("NETFILTER"), Target::None),
];

#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    Kprobe,
    Glob,
    Syscall,
    Tracepoint,
    RawTracepoint,
    Trampoline,
    Lsm,
    Iter,
    StructOps,
}

/// Reads a program section name the way libbpf does (longest matching prefix first in its
/// table order); `None` when libbpf would not know it either.
pub fn parse(section: &str) -> Option<SectionDef> {
    // A leading `?` only turns autoload off.
    let section = section.strip_prefix('?').unwrap_or(section);
    for &(prefix, prog_type, attach_type, target) in DEFS {
        let (base, takes_target) = match prefix.strip_suffix('+') {
            Some(b) => (b, true),
            None => (prefix, false),
        };
        let rest = if section == base {
            ""
        } else if let Some(r) = section.strip_prefix(base).and_then(|r| r.strip_prefix('/')) {
            if !takes_target && !prefix.contains('/') {
                // `xdp/foo`, `tc/foo`: libbpf accepts extra text after a plain prefix.
                ""
            } else {
                r
            }
        } else {
            continue;
        };
        let sleepable = base.ends_with(".s") || base.contains(".s/");
        let attach = if rest.is_empty() {
            Attach::None
        } else {
            match target {
                Target::None => Attach::None,
                Target::Kprobe => Attach::Kprobe(rest.to_string()),
                Target::Glob => Attach::KprobeMulti(rest.to_string()),
                Target::Syscall => Attach::Syscall(rest.to_string()),
                Target::Tracepoint => match rest.split_once('/') {
                    Some(("syscalls", ev)) => match ev
                        .strip_prefix("sys_enter_")
                        .or_else(|| ev.strip_prefix("sys_exit_"))
                    {
                        Some(sc) => Attach::Syscall(sc.to_string()),
                        None => Attach::Tracepoint {
                            system: "syscalls".into(),
                            event: ev.to_string(),
                        },
                    },
                    Some((sys, ev)) => Attach::Tracepoint {
                        system: sys.to_string(),
                        event: ev.to_string(),
                    },
                    None => Attach::Tracepoint {
                        system: String::new(),
                        event: rest.to_string(),
                    },
                },
                Target::RawTracepoint => Attach::Tracepoint {
                    system: String::new(),
                    event: rest.to_string(),
                },
                Target::Trampoline => Attach::Trampoline(rest.to_string()),
                Target::Lsm => Attach::Lsm(rest.to_string()),
                Target::Iter => Attach::Iter(rest.to_string()),
                Target::StructOps => Attach::StructOps(rest.to_string()),
            }
        };
        return Some(SectionDef {
            prog_type,
            attach_type,
            attach,
            sleepable,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_section_names() {
        let a = |s: &str| parse(s).unwrap().attach;
        assert_eq!(
            a("kprobe/do_nanosleep"),
            Attach::Kprobe("do_nanosleep".into())
        );
        assert_eq!(
            a("kretprobe/vfs_read+0x10"),
            Attach::Kprobe("vfs_read+0x10".into())
        );
        assert_eq!(a("kprobe.multi/tcp_*"), Attach::KprobeMulti("tcp_*".into()));
        assert_eq!(
            a("fentry.s/vfs_read"),
            Attach::Trampoline("vfs_read".into())
        );
        assert!(parse("fentry.s/vfs_read").unwrap().sleepable);
        assert_eq!(
            a("tracepoint/syscalls/sys_enter_openat"),
            Attach::Syscall("openat".into())
        );
        assert_eq!(
            a("tp/sched/sched_switch"),
            Attach::Tracepoint {
                system: "sched".into(),
                event: "sched_switch".into()
            }
        );
        assert_eq!(
            a("tp_btf/sched_switch"),
            Attach::Tracepoint {
                system: String::new(),
                event: "sched_switch".into()
            }
        );
        assert_eq!(a("ksyscall/openat"), Attach::Syscall("openat".into()));
        assert_eq!(a("lsm.s/file_open"), Attach::Lsm("file_open".into()));
        assert_eq!(
            a("lsm_cgroup/socket_bind"),
            Attach::Lsm("socket_bind".into())
        );
        assert_eq!(a("iter/task"), Attach::Iter("task".into()));
        assert_eq!(a("uprobe//bin/bash:readline"), Attach::None);
        assert_eq!(a("xdp"), Attach::None);
        assert_eq!(parse("xdp.frags").unwrap().prog_type, "XDP");
        assert_eq!(
            parse("cgroup/connect4").unwrap().prog_type,
            "CGROUP_SOCK_ADDR"
        );
        assert_eq!(parse("kprobe").unwrap().attach, Attach::None);
        assert!(parse(".text").is_none());
        assert!(parse("license").is_none());
    }
}
