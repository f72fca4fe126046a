#!/usr/bin/env python3
"""core_relos.py OBJ: list the CO-RE relocations in OBJ's .BTF.ext, one per line:
program section, instruction, relocation kind and the access resolved to names
(`struct task_struct::pid`, `enum bpf_func_id::BPF_FUNC_loop`). Needs llvm-objcopy and bpftool."""
import json
import struct
import subprocess
import sys
import tempfile

KINDS = ["field_byte_offset", "field_byte_size", "field_exists", "field_signed",
         "field_lshift_u64", "field_rshift_u64", "type_id_local", "type_id_target",
         "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches"]


def main(obj):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["llvm-objcopy", f"--dump-section=.BTF={d}/btf",
                        f"--dump-section=.BTF.ext={d}/ext", obj, f"{d}/o"], check=True)
        btf = open(f"{d}/btf", "rb").read()
        ext = open(f"{d}/ext", "rb").read()
    hdr_len, _, _, str_off, str_len = struct.unpack_from("<IIIII", btf, 4)
    strs = btf[hdr_len + str_off:hdr_len + str_off + str_len]

    def string(off):
        return strs[off:strs.index(b"\0", off)].decode()

    dump = subprocess.run(["bpftool", "btf", "dump", "file", obj, "-j"],
                          capture_output=True, text=True, check=True).stdout
    types = {t["id"]: t for t in json.loads(dump)["types"]}

    def strip(tid):
        while types[tid]["kind"] in ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"):
            tid = types[tid]["type_id"]
        return tid

    def resolve(tid, access, kind):
        t = types[tid]
        name = f"{t['kind'].lower()} {t['name']}"
        idx = [int(x) for x in access.split(":")]
        if kind.startswith("enumval"):
            return f"{name}::{t['values'][idx[0]]['name']}"
        if kind.startswith("type"):
            return name
        path, cur = ([f"[{idx[0]}]"] if idx[0] else []), strip(tid)
        for i in idx[1:]:
            t = types[cur]
            if t["kind"] == "ARRAY":
                path.append(f"[{i}]")
                cur = strip(t["type_id"])
            else:
                m = t["members"][i]
                path.append(m["name"] or "(anon)")
                cur = strip(m["type_id"])
        return f"{name}::{'.'.join(path)}"

    ext_hdr_len = struct.unpack_from("<I", ext, 4)[0]
    if ext_hdr_len < 32:
        return
    core_off, core_len = struct.unpack_from("<II", ext, 24)
    if core_len == 0:
        return
    p = ext_hdr_len + core_off
    end = p + core_len
    rec_size = struct.unpack_from("<I", ext, p)[0]
    p += 4
    while p < end:
        sec, n = struct.unpack_from("<II", ext, p)
        p += 8
        for _ in range(n):
            insn, tid, acc, kind = struct.unpack_from("<IIII", ext, p)
            p += rec_size
            print(f"{string(sec):32} insn {insn // 8:4}  {KINDS[kind]:18} "
                  f"{resolve(tid, string(acc), KINDS[kind])}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: core_relos.py OBJ")
    main(sys.argv[1])
