#!/usr/bin/env bash
# Boots an amd64 kernel under QEMU (TCG, no disk) with a busybox initramfs and saves what the
# running kernel says about tracing its own functions:
#
#   scripts/trace-boot.sh VMLINUZ OUTDIR
#
# OUTDIR/available_filter_functions   tracefs: every function ftrace can patch
# OUTDIR/kprobe_blacklist             debugfs kprobes/blacklist: `start-end<TAB>symbol`
# OUTDIR/kallsyms                     /proc/kallsyms (addresses shown: the init runs as root)
# OUTDIR/console.log                  the serial console
#
# VMLINUZ may also be a Debian package (.deb) that holds the vmlinuz. Needs
# qemu-system-x86_64 and busybox (static). A boot takes 10-30 s.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 VMLINUZ|IMAGE.deb OUTDIR" >&2; exit 2; }
kernel=$1
out=$2
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed" >&2; exit 2; }
busybox=$(command -v busybox) || { echo "busybox is not installed" >&2; exit 2; }
file -L "$busybox" | grep -q 'statically linked' || { echo "$busybox is not static (install busybox-static)" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ $kernel == *.deb ]]; then
  mkdir "$work/deb"
  dpkg-deb --fsys-tarfile "$kernel" | tar -x -C "$work/deb" --wildcards --no-anchored 'vmlinuz*'
  kernel=$(find "$work/deb" -type f -name 'vmlinuz*' | head -1)
  [[ -n $kernel ]] || { echo "$1: no vmlinuz in the package" >&2; exit 2; }
fi

mkdir -p "$work/root/bin"
cp "$busybox" "$work/root/bin/busybox"
# Each file goes to the console between markers, so that the log can be cut apart again.
cat > "$work/root/init" <<'EOT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null ||
  mount -t tracefs tracefs /sys/kernel/debug/tracing
t=/sys/kernel/tracing
[ -e $t/available_filter_functions ] || t=/sys/kernel/debug/tracing
dump() {
  echo "@@@BEGIN $1"
  cat "$2"
  echo "@@@END $1"
}
dump available_filter_functions $t/available_filter_functions
dump kprobe_blacklist /sys/kernel/debug/kprobes/blacklist
dump kallsyms /proc/kallsyms
echo "@@@DONE"
poweroff -f
EOT
chmod +x "$work/root/init"
(cd "$work/root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 panic=-1 nokaslr quiet loglevel=3" \
  -serial "file:$work/console.log" -monitor none -display none </dev/null >/dev/null 2>&1 || true
tr -d '\r' < "$work/console.log" > "$out/console.log"
grep -q '@@@DONE$' "$out/console.log" || {
  echo "$kernel: the guest did not finish; see $out/console.log" >&2
  exit 1
}
for f in available_filter_functions kprobe_blacklist kallsyms; do
  awk -v b="@@@BEGIN $f" -v e="@@@END $f" \
    'substr($0, length($0) - length(b) + 1) == b {on=1; next} $0 == e {on=0} on' \
    "$out/console.log" > "$out/$f"
done
wc -l "$out"/available_filter_functions "$out"/kprobe_blacklist "$out"/kallsyms
