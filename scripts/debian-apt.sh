#!/usr/bin/env bash
# A private apt configuration for downloading Debian's kernel packages, beside the
# machine's own (which it does not touch), and its package indexes.
#
#   scripts/debian-apt.sh WORKDIR [SUITES [ARCHES [SECURITY_SUITES]]]
#
# Writes WORKDIR/apt/apt.conf (then `export APT_CONFIG=WORKDIR/apt/apt.conf` and use
# `apt-get download` or `depsurf fetch`) with the suites SUITES (default: "bullseye bookworm
# trixie sid") for the architectures ARCHES (default: "amd64 arm64 armhf i386 ppc64el
# s390x"), and SECURITY_SUITES (default: "bullseye-security") for amd64, all from the
# mirrors this machine's apt sources already name, then runs `apt-get update` on it.
# Nothing outside WORKDIR is written. Used by datasets/build.sh and .ci/run.
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 WORKDIR [SUITES [ARCHES [SECURITY_SUITES]]]" >&2
  exit 2
fi
work=$1
suites=${2:-bullseye bookworm trixie sid}
arches=${3:-amd64 arm64 armhf i386 ppc64el s390x}
security_suites=${4-bullseye-security}
mkdir -p "$work"/apt/{lists/partial,cache/archives/partial,sources.list.d,preferences.d}

# The mirrors this machine already uses (deb822 or one-line sources).
sources=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' <<<"$sources")
[[ -n $mirror ]] || mirror=$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' <<<"$sources")
security=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' <<<"$sources")
[[ -n $security ]] || security=$(awk '/^deb / && $2 ~ /security/ {print $2; exit}' <<<"$sources")
[[ -n $mirror ]] || { echo "$0: no Debian mirror found in /etc/apt sources" >&2; exit 2; }
cat > "$work/apt/sources.list.d/depsurf.sources" <<EOT
Types: deb
URIs: $mirror
Suites: $suites
Components: main
Architectures: $arches
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
if [[ -n $security && -n $security_suites ]]; then cat >> "$work/apt/sources.list.d/depsurf.sources" <<EOT

Types: deb
URIs: $security
Suites: $security_suites
Components: main
Architectures: amd64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi
apt_arches=$(for a in $arches; do printf '"%s"; ' "$a"; done)
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
APT::Architectures { ${apt_arches}};
EOT
APT_CONFIG=$work/apt/apt.conf apt-get update -q \
  || echo "$0: warning: some indexes failed; continuing with what was fetched" >&2
