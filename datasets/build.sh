#!/usr/bin/env bash
# Rebuilds the bundled dataset (datasets/bundled) from Debian's kernel packages.
#
#   datasets/build.sh [WORKDIR]            extract every image, then record helper tables
#   datasets/build.sh --helpers [WORKDIR]  only record the helper tables of the dataset as it is
#
# WORKDIR (default: $XDG_CACHE_HOME/depsurf/build) holds a private apt configuration that
# adds the bullseye, bookworm, trixie and sid suites (and their security suites) for every
# architecture the dataset covers, reusing the mirror this machine's apt sources name
# (scripts/debian-apt.sh), and the downloaded packages. Nothing outside WORKDIR and
# datasets/bundled is touched. The helper tables (which helpers each program type may call)
# are probed by booting each image this machine can boot (amd64) under QEMU with
# `depsurf verify --record-helpers`; they go into the manifest only, the store is unchanged.
# The depsurf binary embeds the bundled dataset: build it again afterwards. DEPSURF=path
# uses that depsurf binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
helpers_only=
if [[ ${1:-} == --helpers ]]; then
  helpers_only=1
  shift
fi
work=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/depsurf/build}
mkdir -p "$work/packages"
scripts/debian-apt.sh "$work"
export APT_CONFIG=$work/apt/apt.conf

if [[ -n ${DEPSURF:-} ]]; then
  depsurf=$DEPSURF
else
  cargo build --release -q
  depsurf=${CARGO_TARGET_DIR:-target}/release/depsurf
fi

# Which helpers each program type may call, probed on each bootable image booted.
record_helpers() {
  "$depsurf" verify --record-helpers --dataset datasets/bundled --cache "$work/packages" \
    --format md > "$work/helpers.md"
  rm -f datasets/bundled/.lock
  local line='Helper tables: probed on the booted amd64 kernels by `depsurf verify --record-helpers`.'
  grep -qF "$line" datasets/bundled/PROVENANCE.md 2>/dev/null \
    || printf '\n%s\n' "$line" >> datasets/bundled/PROVENANCE.md
}
if [[ -n $helpers_only ]]; then
  record_helpers
  du -sh datasets/bundled
  exit 0
fi

# The images of the dataset (SPEC §2 groups are inferred from them):
#   Regular amd64: 5.10 (bullseye), 6.1 (bookworm, the default), 6.12 (trixie), 7.2 (sid)
#   Revision: 5.10 at several ABIs; Arch and Flavor: 6.1.0-47 on other arches and flavours.
releases=(
  5.10.0-32-amd64 5.10.0-43-amd64 5.10.0-46-amd64
  6.1.0-47-amd64 6.12.117+deb13-amd64 7.2.13+deb14-amd64
  6.1.0-47-arm64 6.1.0-47-armmp 6.1.0-47-powerpc64le 6.1.0-47-s390x 6.1.0-47-686-pae
  6.1.0-47-cloud-amd64 6.1.0-47-rt-amd64
)
"$depsurf" fetch --cache "$work/packages" "${releases[@]}" > "$work/packages.list"
mapfile -t packages < "$work/packages.list"
rm -rf datasets/bundled.new
"$depsurf" extract --dataset datasets/bundled.new --name bundled --default 6.1.0-47-amd64 \
  --callers count --compact \
  --tmpdir "$work" "${packages[@]}"
rm -rf datasets/bundled
mv datasets/bundled.new datasets/bundled
rm -f datasets/bundled/.lock
"$depsurf" dataset --dataset datasets/bundled > datasets/bundled/DATASET.txt
{
  echo "# Provenance of the bundled dataset"
  echo
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
  git diff --quiet HEAD -- crates 2>/dev/null || rev="$rev with uncommitted changes"
  echo "Built by \`datasets/build.sh\` on $(date -u +%Y-%m-%d) with depsurf $rev"
  echo "from these Debian packages (\`apt-get download\`, via \`depsurf fetch\`):"
  echo
  for p in "${packages[@]}"; do
    b=$(basename "$p" .deb)
    IFS=_ read -r name version arch <<<"$b"
    echo "- $name $version ($arch), sha256 \`$(sha256sum "$p" | cut -d" " -f1)\`"
  done
  echo
  echo "\`DATASET.txt\` lists the images, their sources and groups (\`depsurf dataset\`)."
} > datasets/bundled/PROVENANCE.md
record_helpers
du -sh datasets/bundled
