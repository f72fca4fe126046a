// SPDX-License-Identifier: GPL-2.0
/*
 * Instructions older kernels do not know. An atomic fetch-or whose result is
 * used compiles to BPF_ATOMIC with BPF_OR | BPF_FETCH, which the verifier
 * accepts from Linux 5.12; 5.10 rejects the whole program ("BPF_STX uses
 * reserved fields"). A plain add whose result is unused stays the old XADD,
 * fine everywhere.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 flags;
__u64 count;
__u64 last;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(fetch_or)
{
	last = __sync_fetch_and_or(&flags, 1);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(plain_add)
{
	__sync_fetch_and_add(&count, 1);
	return 0;
}
