// SPDX-License-Identifier: GPL-2.0
/*
 * relocheck OBJ BTF [PROG]
 *
 * Opens a BPF object with libbpf, using BTF (a raw BTF file of some kernel image) as the
 * target of its CO-RE relocations, and loads it into the running kernel: all programs, or only
 * PROG. libbpf's debug log goes to stdout; the last line is "RESULT load ok" or
 * "RESULT load FAILED (err)".
 *
 * Only the CO-RE part is about the image: kfuncs, ksyms and fentry/lsm/tp_btf targets are
 * still resolved and verified against the running kernel.
 *
 * Build: cc -O1 -o relocheck relocheck.c -lbpf (libbpf-dev). Needs root.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static int print_all(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return vfprintf(stdout, fmt, args);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s OBJ BTF [PROG]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_all);

	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = argv[2]);
	obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		printf("RESULT open FAILED\n");
		return 1;
	}
	if (argc == 4) {
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), argv[3]));
	}
	err = bpf_object__load(obj);
	printf("RESULT load %s (%d)\n", err ? "FAILED" : "ok", err);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
