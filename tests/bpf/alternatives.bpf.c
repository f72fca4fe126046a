// SPDX-License-Identifier: GPL-2.0
/*
 * Programs that stand for each other, as tools ship them and pick at run time:
 *
 *   fentry_tkill, kprobe_tkill    one function, two mechanisms; do_tkill is
 *                                 fully inlined from 6.12 (no symbol, so no
 *                                 address for fentry either): neither attaches
 *                                 there and the object fails
 *   old_add, new_add              the same handler on add_to_page_cache_locked
 *                                 (5.10) and filemap_add_folio (from 5.17):
 *                                 each kernel has one
 *   opt_clone_only                off by default (`?` section): a loader turns
 *                                 it on only where it fits; it does not make
 *                                 the object fail
 *   wakeup, wakeup_new            the same handler on two tracepoints every
 *                                 kernel has: both are needed, not alternatives
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 counts[8];

SEC("fentry/do_tkill")
int BPF_PROG(fentry_tkill)
{
	__sync_fetch_and_add(&counts[0], 1);
	return 0;
}

SEC("kprobe/do_tkill")
int BPF_KPROBE(kprobe_tkill)
{
	__sync_fetch_and_add(&counts[0], 1);
	return 0;
}

SEC("kprobe/add_to_page_cache_locked")
int BPF_KPROBE(old_add)
{
	__sync_fetch_and_add(&counts[1], 1);
	return 0;
}

SEC("kprobe/filemap_add_folio")
int BPF_KPROBE(new_add)
{
	__sync_fetch_and_add(&counts[1], 1);
	return 0;
}

SEC("?kprobe/do_execveat_common")
int BPF_KPROBE(opt_clone_only)
{
	__sync_fetch_and_add(&counts[2], 1);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup, struct task_struct *p)
{
	__sync_fetch_and_add(&counts[3], 1);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new, struct task_struct *p)
{
	__sync_fetch_and_add(&counts[3], 1);
	return 0;
}
