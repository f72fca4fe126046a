// SPDX-License-Identifier: GPL-2.0
/*
 * A BPF iterator over tasks and a struct_ops map (a TCP congestion control).
 *
 *   iter/task: needs struct bpf_iter__task and the "task" iterator (5.8);
 *     reads bpf_iter__task::task, bpf_iter__task::meta, bpf_iter_meta::seq,
 *     task_struct::pid
 *   struct_ops tcp_congestion_ops: libbpf matches the members set here
 *     (ssthresh, cong_avoid, undo_cwnd, name) against the kernel's
 *     struct tcp_congestion_ops; the programs read tcp_sock::snd_cwnd
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	BPF_SEQ_PRINTF(seq, "%d\n", task->pid);
	return 0;
}

SEC("struct_ops/depsurf_ssthresh")
__u32 BPF_PROG(depsurf_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 half = tp->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

SEC("struct_ops/depsurf_cong_avoid")
void BPF_PROG(depsurf_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops/depsurf_undo_cwnd")
__u32 BPF_PROG(depsurf_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops depsurf_cc = {
	.ssthresh = (void *)depsurf_ssthresh,
	.cong_avoid = (void *)depsurf_cong_avoid,
	.undo_cwnd = (void *)depsurf_undo_cwnd,
	.name = "depsurf_test",
};
