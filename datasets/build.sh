#!/usr/bin/env bash
# Rebuilds the bundled dataset (datasets/bundled) from Debian's kernel packages.
#
#   datasets/build.sh [WORKDIR]
#
# WORKDIR (default: $XDG_CACHE_HOME/depsurf/build) holds a private apt configuration that
# adds the bullseye, bookworm, trixie and sid suites (and their security suites) for every
# architecture the dataset covers, reusing the mirror this machine's apt sources name, and
# the downloaded packages. Nothing outside WORKDIR and datasets/bundled is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/depsurf/build}
mkdir -p "$work"/apt/{lists/partial,cache/archives/partial,sources.list.d,preferences.d} "$work/packages"

# The mirrors this machine already uses (deb822 or one-line sources).
sources=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' <<<"$sources")
[[ -n $mirror ]] || mirror=$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' <<<"$sources")
security=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' <<<"$sources")
[[ -n $security ]] || security=$(awk '/^deb / && $2 ~ /security/ {print $2; exit}' <<<"$sources")
[[ -n $mirror ]] || { echo "no Debian mirror found in /etc/apt sources" >&2; exit 2; }
cat > "$work/apt/sources.list.d/depsurf.sources" <<EOT
Types: deb
URIs: $mirror
Suites: bullseye bookworm trixie sid
Components: main
Architectures: amd64 arm64 armhf i386 ppc64el s390x
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
if [[ -n $security ]]; then cat >> "$work/apt/sources.list.d/depsurf.sources" <<EOT

Types: deb
URIs: $security
Suites: bullseye-security
Components: main
Architectures: amd64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi
cat > "$work/apt/apt.conf" <<EOT
Dir::State "$work/apt";
Dir::State::Lists "$work/apt/lists";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$work/apt/cache";
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$work/apt/sources.list.d";
Dir::Etc::PreferencesParts "$work/apt/preferences.d";
Dir::Cache::pkgcache "pkgcache.bin";
Dir::Cache::srcpkgcache "srcpkgcache.bin";
APT::Architectures { "amd64"; "arm64"; "armhf"; "i386"; "ppc64el"; "s390x"; };
EOT
export APT_CONFIG=$work/apt/apt.conf
apt-get update -q || echo "warning: some indexes failed; continuing with what was fetched" >&2

# The images of the dataset (SPEC §2 groups are inferred from them):
#   Regular amd64: 5.10 (bullseye), 6.1 (bookworm, the default), 6.12 (trixie), 7.2 (sid)
#   Revision: 5.10 at several ABIs; Arch and Flavor: 6.1.0-47 on other arches and flavours.
releases=(
  5.10.0-32-amd64 5.10.0-43-amd64 5.10.0-46-amd64
  6.1.0-47-amd64 6.12.117+deb13-amd64 7.2.13+deb14-amd64
  6.1.0-47-arm64 6.1.0-47-armmp 6.1.0-47-powerpc64le 6.1.0-47-s390x 6.1.0-47-686-pae
  6.1.0-47-cloud-amd64 6.1.0-47-rt-amd64
)
cargo build --release -q
depsurf=${CARGO_TARGET_DIR:-target}/release/depsurf
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
du -sh datasets/bundled
