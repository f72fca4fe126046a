// SPDX-License-Identifier: GPL-2.0
/*
 * A kprobe on a function of a loadable module: bbr_main, in tcp_bbr.ko
 * (CONFIG_TCP_CONG_BBR=m in Debian's kernels). Without the module the kprobe
 * has no target (ENOENT); with it loaded (`depsurf verify --module tcp_bbr`)
 * it attaches. Not built by tests/bpf/make.sh: crates/cli/tests/verify.rs
 * compiles it against the same vmlinux.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 calls;

SEC("kprobe/bbr_main")
int BPF_KPROBE(kprobe_bbr_main)
{
	calls++;
	return 0;
}
