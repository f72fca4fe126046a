#!/usr/bin/env bash
# How long Debian's kernels of other architectures take to boot here under QEMU, to a
# shell of a minimal initramfs (busybox of the same architecture): the part of a
# `depsurf verify` run that does not depend on the loader, which is built for x86-64 only
# (docs/verify.md, "Which images, which kernels").
#
#   scripts/boot-arches.sh DIR
#
# DIR holds, per architecture, the kernel's image package and busybox-static, as
# `apt-get download` names them, e.g. for arm64
#   linux-image-6.1.0-47-arm64-unsigned_6.1.170-3_arm64.deb
#   busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb
# (scripts/debian-apt.sh gives an apt configuration for those architectures). Needs
# qemu-system-arm (arm64, armhf), qemu-system-ppc (ppc64el), qemu-system-misc (s390x),
# qemu-system-x86 (i386), cpio and dpkg-deb. Prints a Markdown table: per architecture, the
# kernel, the QEMU machine, the seconds from QEMU's start to the guest's first line of
# output from /init, and whether the kernel has /sys/kernel/btf/vmlinux. Every boot is
# under TCG (one at a time), with a limit of LIMIT seconds (default 600).
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$(cd "$1" && pwd)
limit=${LIMIT:-600}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# arch | kernel package glob | QEMU binary and machine | console
machines=(
  "arm64|linux-image-*-arm64-unsigned_*_arm64.deb|qemu-system-aarch64 -M virt -cpu max -smp 2|ttyAMA0"
  "armhf|linux-image-*-armmp_*_armhf.deb|qemu-system-arm -M virt -cpu cortex-a15 -smp 2|ttyAMA0"
  "ppc64el|linux-image-*-powerpc64le_*_ppc64el.deb|qemu-system-ppc64 -M pseries -cpu power9 -smp 2|hvc0"
  "s390x|linux-image-*-s390x_*_s390x.deb|qemu-system-s390x -M s390-ccw-virtio -smp 2|ttysclp0"
  "i386|linux-image-*-686-pae_*_i386.deb|qemu-system-i386 -M pc -cpu max -smp 2|ttyS0"
)

echo "| arch | kernel | QEMU | to /init, s | kernel BTF |"
echo "|---|---|---|---|---|"
for m in "${machines[@]}"; do
  IFS='|' read -r arch glob qemu console <<<"$m"
  # shellcheck disable=SC2206
  kdebs=($dir/$glob)
  bdebs=("$dir"/busybox-static_*_"$arch".deb)
  if [[ ! -f ${kdebs[0]} || ! -f ${bdebs[0]} ]]; then
    echo "| $arch | (no kernel or busybox package in $dir) | | | |"
    continue
  fi
  if ! command -v "${qemu%% *}" >/dev/null; then
    echo "| $arch | $(basename "${kdebs[0]}") | ${qemu%% *} is not installed | | |"
    continue
  fi
  a=$work/$arch
  mkdir -p "$a/k" "$a/b" "$a/root/bin" "$a/root/proc" "$a/root/sys" "$a/root/dev"
  dpkg-deb -x "${kdebs[0]}" "$a/k"
  dpkg-deb -x "${bdebs[0]}" "$a/b"
  kernel=$(find "$a/k" -path '*/boot/vmlinu[xz]-*' -type f -o -path '*/modules/*/vmlinu[xz]' \
    -type f | sort | head -n 1)
  cp "$a/b/bin/busybox" "$a/root/bin/busybox"
  cat >"$a/root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
btf=no
[ -e /sys/kernel/btf/vmlinux ] && btf=yes
echo "@@boot@@ $(/bin/busybox uname -r) btf=$btf"
/bin/busybox poweroff -f
EOF
  chmod +x "$a/root/init"
  (cd "$a/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$a/initrd.gz")
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  out=$(timeout "$limit" $qemu -m 1024 -nographic -no-reboot -kernel "$kernel" \
    -initrd "$a/initrd.gz" -append "console=$console rdinit=/init panic=-1 quiet" \
    2>&1 | while IFS= read -r line; do
      # The console may put kernel messages on the same line, before the marker.
      if [[ $line == *@@boot@@* ]]; then
        echo "${line#*@@boot@@} $(date +%s.%N)"
      fi
    done | head -n 1 || true)
  if [[ -n $out ]]; then
    read -r release btf at <<<"$out"
    secs=$(awk -v a="$start" -v b="$at" 'BEGIN { printf "%.1f", b - a }')
    echo "| $arch | $release | ${qemu#qemu-system-} | $secs | ${btf#btf=} |"
  else
    echo "| $arch | $(basename "$kernel") | ${qemu#qemu-system-} | no /init output in ${limit} s | |"
  fi
  rm -rf "$a"
done
