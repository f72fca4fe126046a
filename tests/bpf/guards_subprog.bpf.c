// SPDX-License-Identifier: GPL-2.0
/*
 * Existence checks whose guarded read sits in a BPF-to-BPF function, the
 * shapes real tools use: the check and the read in a static __noinline
 * subprogram; the check's answer returned by a subprogram to its caller; the
 * check in the caller and the read in the subprogram it calls; the check and
 * the read in a global function (verified on its own). libbpf turns each check
 * into a constant and the verifier never walks the read where the field is
 * missing, so every one of these loads on every kernel with BTF.
 *
 * `unguarded_in_subprog` is the control: the same read without a check fails
 * where task_struct::__state is missing (5.10).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

long seen_state;

static __noinline long state_of(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(guard_in_static_subprog)
{
	seen_state = state_of((struct task_struct *)bpf_get_current_task());
	return 0;
}

static __noinline int has_new_state(void)
{
	return bpf_core_field_exists(struct task_struct, __state);
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(guard_returned_by_subprog)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (has_new_state())
		seen_state = BPF_CORE_READ(t, __state);
	else
		seen_state = BPF_CORE_READ((struct task_struct___old *)t, state);
	return 0;
}

static __noinline long new_state(struct task_struct *t)
{
	return BPF_CORE_READ(t, __state);
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(guard_in_caller_read_in_subprog)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (bpf_core_field_exists(t->__state))
		seen_state = new_state(t);
	return 0;
}

/* Global: the verifier checks it once, with an argument it knows nothing of. */
__noinline long global_state(__u64 task)
{
	struct task_struct *t = (struct task_struct *)task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(guard_in_global_subprog)
{
	seen_state = global_state(bpf_get_current_task());
	return 0;
}

static __noinline long unguarded_state(struct task_struct *t)
{
	return BPF_CORE_READ(t, __state);
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(unguarded_in_subprog)
{
	seen_state = unguarded_state((struct task_struct *)bpf_get_current_task());
	return 0;
}
