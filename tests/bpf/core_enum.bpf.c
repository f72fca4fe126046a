// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE relocations on enum values and types.
 *
 * Program check_guarded: every relocation is behind an existence check, so
 * it loads everywhere.
 *   - enum acpi_preferred_pm_profiles value NR_PM_PROFILES: added in 6.12
 *     (the 6.1 vmlinux.h lacks it, so it is declared here as a local flavor
 *     of the enum; libbpf drops the ___new suffixes when matching)
 *   - struct cgroup_rstat_cpu: gone in 7.2
 *
 * Program use_unguarded: no checks, so each relocation that finds nothing
 * poisons an instruction and the verifier rejects the program.
 *   - enum bpf_func_id value BPF_FUNC_loop: added in 5.17, absent on 5.10
 *   - struct bpf_dynptr_kern: added in 5.19, absent on 5.10
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

enum acpi_preferred_pm_profiles___new {
	NR_PM_PROFILES___new = 9,
};

long nr_pm_profiles = -1;
long rstat_cpu_size = -1;
long loop_helper_id = -1;
long dynptr_kern_size = -1;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(check_guarded)
{
	if (bpf_core_enum_value_exists(enum acpi_preferred_pm_profiles___new,
				       NR_PM_PROFILES___new))
		nr_pm_profiles = bpf_core_enum_value(enum acpi_preferred_pm_profiles___new,
						     NR_PM_PROFILES___new);

	if (bpf_core_type_exists(struct cgroup_rstat_cpu))
		rstat_cpu_size = bpf_core_type_size(struct cgroup_rstat_cpu);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(use_unguarded)
{
	loop_helper_id = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_loop);
	dynptr_kern_size = bpf_core_type_size(struct bpf_dynptr_kern);
	return 0;
}
