// SPDX-License-Identifier: GPL-2.0
/*
 * Type changes that do not change what a program reads.
 *
 *   tcp_probe's skb argument is `struct sk_buff *` up to 6.12 and
 *   `const struct sk_buff *` in 7.2: the same pointer, so a tp_btf or raw_tp
 *   program reading skb->len reads the same bytes everywhere.
 *   struct pid's last member is `struct upid numbers[1]` on 5.10 and the
 *   flexible `numbers[0]` from 6.1: numbers[0].nr is at the same place.
 *
 * Each loads on every kernel and reads what it expects: neither is a stray
 * read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

__u32 last_len;
__u32 last_nr;

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe_btf, struct sock *sk, struct sk_buff *skb)
{
	last_len = skb->len;
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(tcp_probe_raw, struct sock *sk, struct sk_buff *skb)
{
	last_len = BPF_CORE_READ(skb, len);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(pid_numbers)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	last_nr = BPF_CORE_READ(task, thread_pid, numbers[0].nr);
	return 0;
}
