// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers the verifier allows only for some program types. Which helper each
 * type may call is decided by the kernel's *_func_proto() functions, not by a
 * table in the image; depsurf learns it by probing booted kernels.
 *
 *   raw_tp_socket_cookie   raw_tp calling bpf_get_socket_cookie: refused (the
 *                          helper is for socket and tracing-with-BTF programs)
 *   kprobe_current_task    kprobe calling bpf_get_current_task: allowed
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 out[2];

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_tp_socket_cookie)
{
	out[0] = bpf_get_socket_cookie(ctx);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(kprobe_current_task)
{
	out[1] = bpf_get_current_task();
	return 0;
}
