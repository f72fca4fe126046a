#!/usr/bin/env python3
"""Spot-checks depsurf's function status against readelf and llvm-dwarfdump.

    scripts/spotcheck-funcs.py VMLINUX [PER_CLASS]

Samples PER_CLASS functions (default 10) of every class depsurf reports (inline Full,
Selective, No; transformation; each collision type) and checks each against the tools:

* symbols: `readelf -sW` FUNC symbols named `f` or `f.<suffix>` (not `__pfx_`): none for
  Full; one with a suffix for a transformation; some for No and Selective;
* collision: `llvm-dwarfdump --name` subprogram definitions (no DW_AT_declaration) named
  `f`: external ones count as one, static ones by declaration file:line; one external is
  Unique Global, one static Unique Static, several statics at one place Static Duplication,
  at several places Static-Static Collision, statics and an external Static-Global;
* inlining: for Selective, a caller depsurf names holds a DW_TAG_inlined_subroutine whose
  abstract origin is `f` (`llvm-dwarfdump --name=<caller> --show-children`); for Full, the
  definition says DW_AT_inline (inlined or declared_inlined).

Prints a Markdown table: per class, functions checked and how many agree, and any
disagreement in full.
"""
import json
import random
import re
import subprocess
import sys
from collections import defaultdict

vmlinux = sys.argv[1]
per_class = int(sys.argv[2]) if len(sys.argv) > 2 else 10
depsurf = "target/release/depsurf"
random.seed(7)


def run(args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


# All function status, with callers, through a dataset export (func_groups).
import tempfile, os
work = tempfile.mkdtemp()
run([depsurf, "-q", "extract", "--types", "btf", "--dataset", f"{work}/ds", vmlinux])
run([depsurf, "-q", "export", "--dataset", f"{work}/ds", f"{work}/out"])
groups = {}
for fn in os.listdir(f"{work}/out/func_groups"):
    with open(f"{work}/out/func_groups/{fn}") as f:
        for line in f:
            g = json.loads(line)
            groups[g["name"]] = g

classes = defaultdict(list)
for name, g in groups.items():
    classes["inline " + g["inline_type"]].append(name)
    classes[g["collision_type"]].append(name)
    if any("." in s["name"] for s in g["symbols"]):
        classes["Transformation"].append(name)
sample = {c: random.sample(sorted(v), min(per_class, len(v))) for c, v in sorted(classes.items())}
names = sorted({n for v in sample.values() for n in v})

# readelf: FUNC symbols by group name.
syms = defaultdict(list)
for line in run(["readelf", "-sW", vmlinux]).splitlines():
    parts = line.split()
    if len(parts) >= 8 and parts[3] == "FUNC":
        sym = parts[7]
        if sym.startswith("__pfx_"):
            continue
        syms[sym.split(".")[0]].append(sym)


def dwarfdump(names, children=False):
    """DIEs named `names`, as (offset, tag, attributes, text) tuples."""
    args = ["llvm-dwarfdump"] + [f"--name={n}" for n in names] + [vmlinux]
    if children:
        args.insert(1, "--show-children")
    out = subprocess.run(args, capture_output=True, text=True).stdout
    dies, cur = [], None
    for line in out.splitlines():
        m = re.match(r"^(0x[0-9a-f]+):\s+(DW_TAG_\w+)", line)
        if m:
            cur = [int(m.group(1), 16), m.group(2), {}, line + "\n"]
            dies.append(cur)
            continue
        m = re.match(r"^\s+(DW_AT_\w+)\s+\((.*)\)\s*$", line)
        if cur is not None and m:
            cur[2][m.group(1)] = m.group(2)
        if cur is not None:
            cur[3] += line + "\n"
    return dies, out


dies, _ = dwarfdump(names)
defs = defaultdict(list)
for off, tag, attrs, _ in dies:
    if tag != "DW_TAG_subprogram" or attrs.get("DW_AT_declaration") == "true":
        continue
    n = attrs.get("DW_AT_name", "").strip('"')
    defs[n].append(attrs)


def collision_of(n):
    ext = [a for a in defs[n] if a.get("DW_AT_external") == "true"]
    sta = [a for a in defs[n] if a.get("DW_AT_external") != "true"]
    # Paths spelled differently in different units (`a/../b.h`) are one place.
    locs = {(os.path.normpath(a.get("DW_AT_decl_file", "").strip('"')), a.get("DW_AT_decl_line")) for a in sta}
    entries = (1 if ext else 0) + len(sta)
    if entries == 1:
        return "Unique Global" if ext else "Unique Static"
    if not ext and len(locs) == 1:
        return "Static Duplication"
    if not ext:
        return "Static-Static Collision"
    return "Static-Global Collision"


# Inline sites in the callers depsurf names (one caller per Selective function).
callers = {}
for n in sample.get("inline Selective", []):
    for e in groups[n]["funcs"]:
        if e["caller_inline"]:
            callers[n] = e["caller_inline"][0]
            break
_, caller_text = dwarfdump(sorted(set(callers.values())), children=True) if callers else ([], "")


def check(cls, n):
    g = groups[n]
    s = syms.get(n, [])
    problems = []
    if cls == "inline Full":
        if s:
            problems.append(f"readelf has symbols {s}")
        if not any(a.get("DW_AT_inline", "").startswith(("DW_INL_inlined", "DW_INL_declared_inlined")) for a in defs[n]):
            problems.append("no definition says DW_AT_inline (inlined)")
    if cls in ("inline No", "inline Selective") and not s:
        problems.append("readelf has no symbol")
    if cls == "Transformation" and not any("." in x for x in s):
        problems.append(f"readelf symbols {s} carry no suffix")
    if cls == "inline Selective":
        c = callers.get(n)
        pat = f'DW_AT_abstract_origin\t(0x[0-9a-f]+ "{n}")'
        if not c or not re.search(r'DW_AT_abstract_origin\s+\(0x[0-9a-f]+ "' + re.escape(n) + r'"\)', caller_text):
            problems.append(f"no DW_TAG_inlined_subroutine of it found in caller {c}")
    if cls.startswith(("Unique", "Static")):
        got = collision_of(n)
        if got != cls:
            problems.append(f"llvm-dwarfdump definitions give {got}")
    return problems


print(f"Spot check of {vmlinux}: {per_class} functions per class")
print()
print("| class | functions in class | checked | agree with readelf / llvm-dwarfdump |")
print("|---|---|---|---|")
bad = []
for cls, names_ in sample.items():
    ok = 0
    for n in names_:
        p = check(cls, n)
        if p:
            bad.append((cls, n, p))
        else:
            ok += 1
    print(f"| {cls} | {len(classes[cls])} | {len(names_)} | {ok} |")
for cls, n, p in bad:
    print(f"\n- {cls} `{n}`: {'; '.join(p)}")
