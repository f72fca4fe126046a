// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE reads of fields that every bundled image has. Only their offsets move
 * between images (depsurf shows "Layout changed", which CO-RE relocates), so
 * this object should load and read correctly everywhere.
 *
 * Dependencies: func do_nanosleep (kprobe); fields task_struct::pid,
 * task_struct::tgid, task_struct::real_parent, task_struct::mm,
 * mm_struct::exe_file.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

int last_pid;
int last_tgid;
int last_parent_tgid;
struct file *last_exe;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_stable_fields)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	/* plain fields of task_struct */
	last_pid = BPF_CORE_READ(task, pid);
	last_tgid = BPF_CORE_READ(task, tgid);
	/* paths through pointers: task->real_parent->tgid, task->mm->exe_file */
	last_parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	last_exe = BPF_CORE_READ(task, mm, exe_file);
	return 0;
}
