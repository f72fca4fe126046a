// SPDX-License-Identifier: GPL-2.0
/*
 * One program per attach kind. The handlers only count hits; what matters is
 * the section name, which names the kernel item each program attaches to.
 *
 *   kprobe/do_tkill              fully inlined on 6.12 and 7.2 (no symbol)
 *   kretprobe/finish_task_switch only finish_task_switch.isra.0 exists from 6.1 on
 *   kprobe/vfs_open              selectively inlined on 5.10 and 6.1
 *   kprobe/__x64_sys_openat      the x86-64 name of the syscall: not on other arches
 *   fentry/do_group_exit         stable everywhere
 *   fexit/__kmalloc              gone from 6.12 (now __kmalloc_noprof)
 *   tp/sched/sched_switch, tp_btf/sched_switch, raw_tp/sched_process_exec
 *   tracepoint/syscalls/sys_enter_openat, ksyscall/openat (syscall openat)
 *   lsm/file_open
 *   uprobe, xdp                  no kernel function
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

__u64 hits[16];

static __always_inline void hit(int i)
{
	__sync_fetch_and_add(&hits[i], 1);
}

SEC("kprobe/do_tkill")
int BPF_KPROBE(kprobe_inlined)
{
	hit(0);
	return 0;
}

SEC("kretprobe/finish_task_switch")
int BPF_KRETPROBE(kretprobe_transformed)
{
	hit(1);
	return 0;
}

SEC("kprobe/vfs_open")
int BPF_KPROBE(kprobe_selective)
{
	hit(2);
	return 0;
}

SEC("kprobe/__x64_sys_openat")
int BPF_KPROBE(kprobe_x64_syscall)
{
	hit(3);
	return 0;
}

SEC("fentry/do_group_exit")
int BPF_PROG(fentry_stable, int exit_code)
{
	hit(4);
	return 0;
}

SEC("fexit/__kmalloc")
int BPF_PROG(fexit_absent, size_t size, gfp_t flags, void *ret)
{
	hit(5);
	return 0;
}

SEC("tp/sched/sched_switch")
int tp_sched_switch(struct trace_event_raw_sched_switch *ctx)
{
	if (ctx->next_pid == 0)
		hit(6);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	hit(7);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(raw_tp_exec, struct task_struct *p, pid_t old_pid)
{
	hit(8);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tp_btf_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	if (next->pid == 0)
		hit(9);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file)
{
	hit(10);
	return 0;
}

SEC("ksyscall/openat")
int BPF_KSYSCALL(ksyscall_openat, int dfd, const char *filename, int flags)
{
	hit(11);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(uprobe_any)
{
	hit(12);
	return 0;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	hit(13);
	return XDP_PASS;
}
