// SPDX-License-Identifier: GPL-2.0
/*
 * A CO-RE read of a field whose integer type changes size between bundled
 * images: file_ra_state::mmap_miss is `unsigned int` up to 6.12 and
 * `short unsigned int` in 7.2. libbpf relocates the offset, but
 * BPF_CORE_READ copies sizeof(unsigned int) = 4 bytes (a compile-time size),
 * so on 7.2 the upper two bytes come from the next field: a Stray read.
 *
 * Path: current task -> mm -> exe_file -> f_ra.mmap_miss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

unsigned int last_mmap_miss;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_mmap_miss)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	last_mmap_miss = BPF_CORE_READ(task, mm, exe_file, f_ra.mmap_miss);
	return 0;
}
