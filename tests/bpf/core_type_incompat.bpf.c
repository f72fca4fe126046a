// SPDX-License-Identifier: GPL-2.0
/*
 * A CO-RE read of a field whose type changes kind: acpi_handle_list::handles
 * is `acpi_handle handles[10]` up to 6.1 and `acpi_handle *handles` from 6.12.
 * depsurf's change table calls it "Field type changed" (Stray read, SPEC §5).
 * libbpf is stricter: an array and a pointer are not compatible field types,
 * so the relocation of handles[0] finds no candidate and the program fails
 * to load on 6.12 and 7.2. struct acpi_handle_list does not exist at all on
 * the armhf, ppc64el and s390x images.
 *
 * The list to read is whatever user space stores in `target` (the program
 * runs on every do_nanosleep; with target == NULL the reads just fail at run
 * time, which is fine for a load test).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct acpi_handle_list *target;
u32 last_count;
acpi_handle last_first_handle;

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(read_handle_list)
{
	struct acpi_handle_list *list = target;

	last_count = BPF_CORE_READ(list, count);
	last_first_handle = BPF_CORE_READ(list, handles[0]);
	return 0;
}
