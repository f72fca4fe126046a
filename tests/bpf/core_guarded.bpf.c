// SPDX-License-Identifier: GPL-2.0
/*
 * The same fields as core_missing_field.bpf.c, but each read is guarded by
 * bpf_core_field_exists(). libbpf resolves the guard to a constant, the branch
 * whose relocation failed becomes dead code and the verifier drops it, so
 * this object should load on every image.
 *
 * task_struct::__state falls back to the 5.10 field `long state` through a
 * local "flavor" of task_struct (libbpf ignores the ___old suffix when it
 * looks the type up in the kernel's BTF).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* task_struct as it was before 5.14 */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

long last_state;
struct robust_list_head *last_robust_list;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_state_guarded)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (bpf_core_field_exists(task->__state)) {
		last_state = BPF_CORE_READ(task, __state);
	} else {
		struct task_struct___old *old = (void *)task;

		last_state = BPF_CORE_READ(old, state);
	}
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_robust_list_guarded)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (bpf_core_field_exists(task->robust_list))
		last_robust_list = BPF_CORE_READ(task, robust_list);
	else
		last_robust_list = NULL;
	return 0;
}
