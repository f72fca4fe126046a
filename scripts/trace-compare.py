#!/usr/bin/env python3
"""Compares the traceability depsurf extracts from an image with what the booted kernel lists.

    scripts/trace-compare.py LIST.tsv BOOTDIR

LIST.tsv is `depsurf funcs --list IMAGE...` (name, `ftrace` or `-`, reasons); BOOTDIR is what
scripts/trace-boot.sh saved from the same kernel booted with nokaslr (so that its kallsyms
addresses are the image's). Prints one table; names are compared knowing that the kernel
lists one name per address where depsurf lists every alias.
"""
import collections
import sys

KPROBE_REASONS = {"noinstr section", "entry text", "kprobes text", "kprobe blacklist", "init section"}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    listing, boot = sys.argv[1], sys.argv[2]
    ftrace, refused, symbols = set(), set(), set()
    for line in open(listing):
        name, patch, reasons = line.rstrip("\n").split("\t")
        symbols.add(name)
        if patch == "ftrace":
            ftrace.add(name)
        if set(reasons.split(",")) & KPROBE_REASONS - {"init section"}:
            refused.add(name)

    addrs = collections.defaultdict(set)  # name -> addresses
    names = collections.defaultdict(set)  # address -> names
    for line in open(f"{boot}/kallsyms"):
        p = line.split()
        if len(p) >= 3 and p[1] in "tTwW":
            addrs[p[2]].add(p[0])
            names[p[0]].add(p[2])

    def aliases(n):
        return {m for a in addrs.get(n, ()) for m in names[a]} - {n}

    # ftrace: available_filter_functions
    listed = [l.strip() for l in open(f"{boot}/available_filter_functions") if l.strip()]
    invalid = sum(1 for n in listed if n.startswith("__ftrace_invalid_address__"))
    booted = {n.split()[0] for n in listed if not n.startswith("__ftrace_invalid_address__")}
    both = ftrace & booted
    ours_only = ftrace - booted
    ours_alias = {n for n in ours_only if aliases(n) & booted}
    booted_only = booted - ftrace
    booted_alias = {n for n in booted_only if aliases(n) & ftrace}

    # kprobes: kprobes/blacklist, by address (the kernel names one symbol per address)
    bl_addrs, bl_pfx = set(), 0
    for line in open(f"{boot}/kprobe_blacklist"):
        p = line.split()
        if len(p) < 2:
            continue
        if p[1].startswith("__pfx_"):
            bl_pfx += 1  # padding before a function: no function of its own
            continue
        bl_addrs.add(p[0].split("-")[0][2:].lower().rjust(16, "0"))
    ours_addrs = {a for n in refused for a in addrs.get(n, ())}
    bl_both = bl_addrs & ours_addrs
    bl_booted_only = sorted(bl_addrs - ours_addrs)
    bl_ours_only = sorted(ours_addrs - bl_addrs)

    def show(addrs_):
        return ", ".join(sorted("/".join(sorted(names.get(a, {"?" + a}))) for a in addrs_)[:8])

    print(f"ftrace (available_filter_functions): depsurf {len(ftrace)} names, kernel "
          f"{len(booted)} names (+{invalid} __ftrace_invalid_address__ records)")
    print(f"  agree                      {len(both)}")
    print(f"  depsurf only, aliases      {len(ours_alias)}  (the kernel lists another name of the address)")
    print(f"  depsurf only, other        {len(ours_only - ours_alias)}  {sorted(ours_only - ours_alias)[:10]}")
    print(f"  kernel only, aliases       {len(booted_alias)}")
    print(f"  kernel only, other         {len(booted_only - booted_alias)}  {sorted(booted_only - booted_alias)[:10]}")
    print(f"kprobe blacklist (kprobes/blacklist): depsurf {len(refused)} names at "
          f"{len(ours_addrs)} addresses, kernel {len(bl_addrs)} addresses (+{bl_pfx} __pfx_ padding)")
    print(f"  agree (addresses)          {len(bl_both)}")
    print(f"  depsurf only               {len(bl_ours_only)}  {show(bl_ours_only)}")
    print(f"  kernel only                {len(bl_booted_only)}  {show(bl_booted_only)}")
    print(f"function symbols: depsurf {len(symbols)}")


if __name__ == "__main__":
    main()
