// SPDX-License-Identifier: GPL-2.0
/*
 * Unguarded CO-RE reads of fields that the 6.1 BTF has but some bundled
 * images lack. libbpf cannot relocate such a read, replaces the instruction
 * with an invalid call, and the verifier rejects the program: an Error on
 * those images.
 *
 *   task_struct::__state     added in 5.14: absent on the three 5.10 images
 *   task_struct::robust_list gone in 7.2 (moved out of task_struct)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

unsigned int last_state;
struct robust_list_head *last_robust_list;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_state)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	last_state = BPF_CORE_READ(task, __state);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_robust_list)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	last_robust_list = BPF_CORE_READ(task, robust_list);
	return 0;
}
