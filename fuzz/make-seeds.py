#!/usr/bin/env python3
"""Writes the small seed inputs of each fuzz target into corpus/<target>/seed-*.

Seeds are synthetic and tiny (libFuzzer mutates them); they cover each format's happy path
so the fuzzers start past the magic numbers. Run from the fuzz/ directory.
"""
import bz2, gzip, io, lzma, os, struct, subprocess, tarfile

def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

def btf(big):
    e = ">" if big else "<"
    strings = b"\0int\0task\0pid\0p\0state\0RUN\0f\0.data\0v\0"
    off = {s: strings.index(s.encode() + b"\0") for s in ["int", "task", "pid", "p", "state", "RUN", "f", ".data", "v"]}
    t = b""
    def hdr(name, kind, vlen, size_type, kflag=0):
        return struct.pack(e + "III", name, (kflag << 31) | (kind << 24) | vlen, size_type)
    t += hdr(off["int"], 1, 0, 4) + struct.pack(e + "I", (1 << 24) | 32)          # 1 INT
    t += hdr(0, 2, 0, 1)                                                          # 2 PTR
    t += hdr(off["task"], 4, 2, 16) + struct.pack(e + "III", off["pid"], 1, 0) + struct.pack(e + "III", off["p"], 2, 64)  # 3 STRUCT
    t += hdr(off["state"], 6, 1, 4) + struct.pack(e + "Ii", off["RUN"], 0)         # 4 ENUM
    t += hdr(0, 13, 1, 1) + struct.pack(e + "II", off["p"], 2)                      # 5 FUNC_PROTO
    t += hdr(off["f"], 12, 1, 5)                                                   # 6 FUNC
    t += hdr(off["v"], 14, 0, 1) + struct.pack(e + "I", 1)                         # 7 VAR
    t += hdr(off[".data"], 15, 1, 4) + struct.pack(e + "III", 7, 0, 4)             # 8 DATASEC
    t += hdr(off["f"], 17, 0, 6) + struct.pack(e + "i", -1)                         # 9 DECL_TAG
    t += hdr(off["f"], 18, 0, 1)                                                   # 10 TYPE_TAG
    t += hdr(off["state"], 19, 1, 8) + struct.pack(e + "III", off["RUN"], 1, 2)    # 11 ENUM64
    magic = b"\xeb\x9f" if big else b"\x9f\xeb"
    return magic + bytes([1, 0]) + struct.pack(e + "IIIII", 24, 0, len(t), len(t), len(strings)) + t + strings

def tar_bytes(members, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()

def ar_bytes(members):
    out = b"!<arch>\n"
    for name, data in members:
        out += ("%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name, 0, 0, 0, "100644", len(data))).encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return out

banner = b"Linux version 6.1.0-47-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-05-08)\n"
sysmap = b"ffffffff81000000 T _text\nffffffff81000010 t helper\nffffffff82000000 D linux_banner\n"
config = b"#\n# Linux/x86 6.1.170 Kernel Configuration\n#\nCONFIG_64BIT=y\nCONFIG_DEBUG_INFO_BTF=y\n# CONFIG_IKCONFIG is not set\n"

# A small real ELF object with symbols, .comment and DWARF.
src = "const char linux_banner[] = \"%s\";\nint helper(int x) { return x + 1; }\n" % banner.decode().strip()
subprocess.run(["gcc", "-g", "-O1", "-c", "-x", "c", "-", "-o", "/tmp/seed-elf.o"], input=src.encode(), check=True)
elf = open("/tmp/seed-elf.o", "rb").read()

for big in (False, True):
    put("btf", "every-kind-" + ("be" if big else "le"), btf(big))
put("btf_split", "empty-split", b"\x9f\xeb\x01\x00" + struct.pack("<IIIII", 24, 0, 0, 0, 0))
put("elf", "object", elf)

control = tar_bytes([("./control", b"Package: linux-image-6.1.0-47-amd64\nVersion: 6.1.170-3\nArchitecture: amd64\n")], "w:gz")
data = tar_bytes([("./boot/System.map-6.1.0-47-amd64", sysmap), ("./boot/config-6.1.0-47-amd64", config), ("./boot/vmlinux-6.1.0-47-amd64", elf)], "w:xz")
deb = ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.gz", control), ("data.tar.xz", data)])
put("deb", "image", deb)
put("tar", "plain", tar_bytes([("./boot/config-6.1.0-47-amd64", config)]))
put("tar", "gz", tar_bytes([("5.4.0-26-generic.btf", btf(False))], "w:gz"))

payload = elf
zstd = subprocess.run(["zstd", "-c", "-q"], input=payload, capture_output=True, check=True).stdout
for i, blob in enumerate([gzip.compress(payload), lzma.compress(payload), zstd, bz2.compress(payload)]):
    put("decompress", "fmt%d" % i, bytes([[0, 1, 2, 3][i]]) + blob)

bz = bytearray(0x400)
bz[0x1f1] = 1
bz[0x202:0x206] = b"HdrS"
bz[0x206:0x208] = struct.pack("<H", 0x20f)
xz = lzma.compress(payload)
bz[0x248:0x250] = struct.pack("<II", 0, len(xz))
bz = bytes(bz) + xz
put("vmlinuz", "bzimage", b"\x00" + bz)
zimg = bytearray(0x40)
zimg[0x24:0x28] = struct.pack("<I", 0x016f2818)
put("vmlinuz", "zimage", b"\x03" + bytes(zimg) + gzip.compress(banner * 10))

for name, blob in [("deb", deb), ("btf", btf(True)), ("elf", elf), ("bzimage", bz), ("sysmap", sysmap), ("config", config), ("btfhub", lzma.compress(tar_bytes([("5.4.0-26-generic.btf", btf(False))])))]:
    put("input", name, blob)
# DWARF: the sections of a small object gcc builds from the DWARF fixture.
for dw in ("-gdwarf-4", "-gdwarf-5"):
    subprocess.run(["gcc", "-O2", "-g", dw, "-c", "../tests/fixtures/dwarf/a.c", "-o", "/tmp/seed-dw.o"], check=True)
    parts = []
    for sec in (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line"):
        subprocess.run(["objcopy", "-O", "binary", "--set-section-flags", sec + "=alloc", "--only-section", sec, "/tmp/seed-dw.o", "/tmp/seed-sec"], check=True)
        parts.append(open("/tmp/seed-sec", "rb").read())
    hdr = struct.pack("<HHH", len(parts[0]), len(parts[1]), len(parts[2]))
    put("dwarf", "object" + dw, hdr + b"".join(parts))
put("text", "sysmap", sysmap)
put("text", "config", config)
put("text", "banner", banner)
