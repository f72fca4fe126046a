#!/usr/bin/env python3
"""Tracepoints and system calls of one kernel read from different inputs must agree.

    scripts/crosscheck-data.py LABEL=INPUT[,INPUT...] LABEL=INPUT[,INPUT...] ...

The first input set is the reference (a debug vmlinux: its own .symtab); every other one
(a boot image with the real System.map, types from pahole's BTF where the image has none,
or the boot image alone and its kallsyms) is compared with it: the same tracepoints
(event, system, class, format) and the same system call tables, number for number. Prints
a Markdown table; exits 1 on any difference. An input set that cannot give a kind prints
depsurf's error instead (and is not a failure: it says which inputs are needed).
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "depsurf")


def run(kind, inputs):
    p = subprocess.run([BIN, "-q", kind, "--json", *inputs], capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip().split(": ", 2)[-1]
    return json.loads(p.stdout), None


def symbols_from(doc, prefix):
    for line in doc["sources"]:
        if line.startswith(prefix):
            return line.split("symbols from ")[1].split(" of ")[0]
    return "?"


def main():
    sets = [a.split("=", 1) for a in sys.argv[1:]]
    if len(sets) < 2:
        sys.exit(__doc__)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    ref = {}
    failed = False
    print("| inputs | symbols from | tracepoints | syscalls (native + compat) | vs reference |")
    print("|---|---|---|---|---|")
    for i, (label, spec) in enumerate(sets):
        inputs = spec.split(",")
        tp, tp_err = run("tracepoints", inputs)
        sc, sc_err = run("syscalls", inputs)
        got = {}
        cells = []
        if tp:
            got["tp"] = {t["event"]: (t["system"], t["class"], t["fmt"]) for t in tp["tracepoints"]}
            cells.append(str(len(got["tp"])))
        else:
            cells.append(f"error: {tp_err}")
        if sc:
            got["sc"] = sc["tables"]
            n = [len(t) for _, t in sorted(sc["tables"].items(), key=lambda kv: kv[0] != "native")]
            cells.append(" + ".join(map(str, n)))
        else:
            cells.append(f"error: {sc_err}")
        src = symbols_from(sc or tp or {"sources": []}, "syscalls:" if sc else "tracepoints:")
        if i == 0:
            ref = got
            verdict = "reference"
        else:
            parts = []
            for k, name in (("tp", "tracepoints"), ("sc", "syscalls")):
                if k not in got:
                    continue
                if k not in ref:
                    parts.append(f"{name}: no reference")
                elif got[k] == ref[k]:
                    parts.append(f"{name} identical")
                else:
                    failed = True
                    parts.append(f"**{name} differ**")
            verdict = ", ".join(parts) or "-"
        print(f"| {label} | {src} | {cells[0]} | {cells[1]} | {verdict} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
