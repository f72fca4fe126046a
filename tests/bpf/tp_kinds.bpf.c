// SPDX-License-Identifier: GPL-2.0
/*
 * One event, read three ways. A classic tracepoint program (tp/) reads the
 * event's record; a raw (raw_tp/) or BTF (tp_btf/) tracepoint program reads
 * the probe's arguments. Between 5.10 and 6.1 the probe of sched_switch gained
 * a last argument (prev_state) while its record stayed the same; the record of
 * sched_wakeup lost `success`, moving `target_cpu`; PREEMPT_RT kernels have a
 * longer common header, so every record field sits 4 bytes later there; 7.2
 * inserted `ioprio` into block_rq_complete's record before `rwbs`.
 *
 *   record_core_wakeup     record through vmlinux.h's type: CO-RE relocates
 *                          the field, fine everywhere
 *   record_fixed_wakeup    record through a struct of its own (6.1 layout, no
 *                          CO-RE): reads `success` on 5.10 and the wrong
 *                          bytes on RT
 *   record_fixed_switch    same for sched_switch: right except on RT
 *   record_fixed_rq        dev, sector, nr_sector, rwbs of block_rq_complete
 *                          (6.1 layout): rwbs moved in 7.2, dev on RT
 *   raw_args_switch        raw_tp reading prev and next: fine everywhere
 *   raw_prev_state         raw_tp reading prev_state: 5.10's probe has no such
 *                          argument, the attach fails
 *   btf_prev_state         tp_btf reading prev_state: 5.10's verifier rejects it
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

__u64 sink[16];

/* The records as 6.1 (non-RT) lays them out, declared without CO-RE. */
struct wakeup_record {
	__u64 common;
	char comm[16];
	int pid;
	int prio;
	int target_cpu;
};

struct switch_record {
	__u64 common;
	char prev_comm[16];
	int prev_pid;
	int prev_prio;
	long prev_state;
	char next_comm[16];
	int next_pid;
	int next_prio;
};

struct rq_complete_record {
	__u64 common;
	__u32 dev;
	__u64 sector;
	unsigned int nr_sector;
	int error;
	char rwbs[8];
};

SEC("tp/sched/sched_wakeup")
int record_core_wakeup(struct trace_event_raw_sched_wakeup_template *ctx)
{
	sink[0] = ctx->target_cpu;
	return 0;
}

SEC("tp/sched/sched_wakeup")
int record_fixed_wakeup(struct wakeup_record *ctx)
{
	sink[1] = ctx->target_cpu;
	return 0;
}

SEC("tp/sched/sched_switch")
int record_fixed_switch(struct switch_record *ctx)
{
	sink[2] = ctx->prev_pid;
	sink[3] = ctx->next_pid;
	return 0;
}

SEC("tp/block/block_rq_complete")
int record_fixed_rq(struct rq_complete_record *ctx)
{
	sink[4] = ctx->dev;
	sink[5] = ctx->sector;
	sink[6] = ctx->nr_sector;
	sink[7] = ctx->rwbs[0];
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_args_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	sink[8] = (__u64)prev ^ (__u64)next;
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_prev_state, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	sink[9] = prev_state;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_prev_state, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	sink[10] = prev_state;
	return 0;
}
