// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers, map types and a program type of different ages. A helper, map
 * type or program type that the running kernel does not know makes the load
 * fail (the verifier rejects an unknown helper id, map creation fails with an
 * unknown type).
 *
 *   helper bpf_get_current_pid_tgid   4.2   everywhere
 *   helper bpf_map_update_elem        3.19  everywhere
 *   helper bpf_ringbuf_output         5.8   everywhere
 *   helper bpf_loop                   5.17  absent on 5.10
 *   helper bpf_user_ringbuf_drain     6.1   absent on 5.10
 *   helper bpf_cgrp_storage_get       6.2   absent on 5.10 and 6.1
 *   map BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_RINGBUF (5.8)     everywhere
 *   map BPF_MAP_TYPE_USER_RINGBUF     6.1   absent on 5.10
 *   map BPF_MAP_TYPE_CGRP_STORAGE     6.2   absent on 5.10 and 6.1
 *   prog type BPF_PROG_TYPE_SYSCALL   5.14  absent on 5.10
 *
 * bpf_cgrp_storage_get is declared by libbpf 1.1's bpf_helper_defs.h (by
 * number, 210); BPF_MAP_TYPE_CGRP_STORAGE is not in the 6.1 vmlinux.h, so
 * its number (32, from the 6.12 image's enum bpf_map_type) is written here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define MAP_TYPE_CGRP_STORAGE 32 /* BPF_MAP_TYPE_CGRP_STORAGE, 6.2 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} commands SEC(".maps");

struct {
	__uint(type, MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} cgroup_mkdirs SEC(".maps");

long loop_sum;
long commands_seen;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(old_helpers)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tgid = pid_tgid >> 32;
	u64 one = 1;

	bpf_map_update_elem(&calls, &tgid, &one, BPF_ANY);
	bpf_ringbuf_output(&events, &pid_tgid, sizeof(pid_tgid), 0);
	return 0;
}

static long add_index(u32 index, void *ctx)
{
	loop_sum += index;
	return 0;
}

static long count_command(struct bpf_dynptr *dynptr, void *ctx)
{
	commands_seen++;
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(newer_helpers)
{
	bpf_loop(8, add_index, NULL, 0);
	bpf_user_ringbuf_drain(&commands, count_command, NULL, 0);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgroup_storage, struct cgroup *cgrp, const char *path)
{
	u64 *n = bpf_cgrp_storage_get(&cgroup_mkdirs, cgrp, NULL,
				      BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (n)
		*n += 1;
	return 0;
}

SEC("syscall")
int syscall_prog(void *ctx)
{
	return 0;
}
