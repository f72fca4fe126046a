// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc calls and __ksym variables.
 *
 *   bpf_task_acquire / bpf_task_release  kfuncs from 6.2: absent on 5.10 and 6.1
 *   cgroup_rstat_updated                 kfunc in 6.1 and 6.12, renamed
 *                                        css_rstat_updated before 7.2
 *   runqueues                            typed __ksym (a per-CPU variable in BTF)
 *   bpf_prog_fops                        untyped __ksym (kallsyms only)
 *
 * libbpf 1.1 has no bpf_ksym_exists(), so there is no __weak guarded kfunc
 * here. The kfunc prototypes are written out because bpftool 7.1 does not put
 * kfuncs into vmlinux.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void cgroup_rstat_updated(struct cgroup *cgrp, int cpu) __ksym;

extern const struct rq runqueues __ksym;
extern const void bpf_prog_fops __ksym;

int last_pid;
unsigned int last_nr_running;
__u64 prog_fops_addr;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(acquire_exec_task, struct task_struct *task, pid_t old_pid)
{
	struct task_struct *t = bpf_task_acquire(task);

	if (!t)
		return 0;
	last_pid = t->pid;
	bpf_task_release(t);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(rstat_on_mkdir, struct cgroup *cgrp, const char *path)
{
	cgroup_rstat_updated(cgrp, bpf_get_smp_processor_id());
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_ksyms)
{
	struct rq *rq = bpf_per_cpu_ptr(&runqueues, 0);

	if (rq)
		last_nr_running = rq->nr_running;
	prog_fops_addr = (__u64)&bpf_prog_fops;
	return 0;
}
