// SPDX-License-Identifier: GPL-2.0
/*
 * kprobes on functions the compiler split or cloned, as the bundled images'
 * symbol tables show them (depsurf report func NAME):
 *
 *   oom_kill_process    its own symbol and oom_kill_process.cold (the unlikely
 *                       tail, entered from the function): attaches, sees all
 *   blk_rq_map_user_io  its own symbol and blk_rq_map_user_io.part.0 from 6.1
 *                       (partial inlining: some callers jump into the clone)
 *   mod_memcg_state     its own symbol and mod_memcg_state.constprop.0 on 6.1
 *                       and 6.12 (callers of the clone do not enter it)
 *   do_execveat_common  a symbol on 5.10; only do_execveat_common.isra.0 from
 *                       6.1, so a kprobe on the plain name finds nothing
 *   c_start             three static functions of that name everywhere: the
 *                       kernel refuses a kprobe on an ambiguous name
 *   vfs_read            the control: one plain symbol everywhere
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 hits[8];

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(kprobe_cold)
{
	__sync_fetch_and_add(&hits[0], 1);
	return 0;
}

SEC("kprobe/blk_rq_map_user_io")
int BPF_KPROBE(kprobe_part)
{
	__sync_fetch_and_add(&hits[1], 1);
	return 0;
}

SEC("kprobe/mod_memcg_state")
int BPF_KPROBE(kprobe_constprop)
{
	__sync_fetch_and_add(&hits[2], 1);
	return 0;
}

SEC("kprobe/do_execveat_common")
int BPF_KPROBE(kprobe_clone_only)
{
	__sync_fetch_and_add(&hits[3], 1);
	return 0;
}

SEC("kprobe/c_start")
int BPF_KPROBE(kprobe_ambiguous)
{
	__sync_fetch_and_add(&hits[4], 1);
	return 0;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(kprobe_plain)
{
	__sync_fetch_and_add(&hits[5], 1);
	return 0;
}
