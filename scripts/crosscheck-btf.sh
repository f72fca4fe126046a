#!/usr/bin/env bash
# Cross-checks depsurf's BTF reader against bpftool (libbpf) on real kernel packages.
#
#   scripts/crosscheck-btf.sh [--depsurf BIN] PACKAGE.deb|vmlinux|raw.btf ...
#
# For each input, `depsurf btf dump INPUT` must print exactly what bpftool prints:
#  * debug packages: bpftool reads the vmlinux that dpkg-deb unpacks, depsurf streams the .deb;
#  * image packages: depsurf finds the BTF inside the vmlinuz; bpftool reads the blob that
#    `depsurf btf extract` writes, and when the debug package of the same release is also
#    given, that blob must equal the .BTF section objcopy takes from its vmlinux;
#  * vmlinux or raw BTF files: both read the file.
# Prints a Markdown table: types per kind (from bpftool's dump) and whether the dumps match.
set -euo pipefail
depsurf=${DEPSURF:-target/release/depsurf}
if [[ ${1:-} == --depsurf ]]; then depsurf=$2; shift 2; fi
command -v bpftool >/dev/null || { echo "bpftool is needed (apt-get install bpftool)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A dbg_btf
kinds="INT PTR ARRAY STRUCT UNION ENUM ENUM64 FWD TYPEDEF VOLATILE CONST RESTRICT FUNC FUNC_PROTO VAR DATASEC FLOAT DECL_TAG TYPE_TAG"
printf '| input | release | types |'; for k in $kinds; do printf ' %s |' "$k"; done; printf ' dump |\n'
printf '|---|---|---|'; for k in $kinds; do printf -- '---|'; done; printf -- '---|\n'
fail=0
for input in "$@"; do
  name=$(basename "$input")
  release=$("$depsurf" inspect --json -q "$input" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["identity"]["release"] or "?")')
  if ! "$depsurf" btf dump -q "$input" > "$work/ours" 2>"$work/err"; then
    msg=$(sed 's/^depsurf: //' "$work/err")
    case $msg in
      *"has no BTF"*) echo "| $name | $release | no BTF: ${msg#*has no BTF } |" ;;
      *) echo "| $name | $release | ERROR: $msg |"; fail=1 ;;
    esac
    continue
  fi
  theirs_src=$input
  case $(head -c 8 "$input" | od -An -c | tr -d ' ') in
    '!<arch>\n')
      members=$(dpkg-deb --fsys-tarfile "$input" | tar t | grep -E '(/boot/vmlinux-|/lib/modules/[^/]+/vmlinux$)' || true)
      if [[ -n $members ]]; then
        rm -rf "$work/x"; mkdir "$work/x"
        dpkg-deb --fsys-tarfile "$input" | tar x -C "$work/x" $members 2>/dev/null || true
        theirs_src=$(find "$work/x" -type f -name 'vmlinux*' | head -1)
        objcopy -O binary --only-section=.BTF "$theirs_src" "$work/dbg-$release.btf"
        dbg_btf[$release]="$work/dbg-$release.btf"
      else
        "$depsurf" btf extract -q "$input" -o "$work/img-$release.btf"
        theirs_src="$work/img-$release.btf"
      fi ;;
  esac
  bpftool btf dump file "$theirs_src" > "$work/theirs"
  if cmp -s "$work/ours" "$work/theirs"; then verdict=identical; else verdict="DIFFERENT"; fail=1; fi
  if [[ -f $work/img-$release.btf && -n ${dbg_btf[$release]:-} ]]; then
    if cmp -s "$work/img-$release.btf" "${dbg_btf[$release]}"; then verdict="$verdict, blob = -dbg .BTF"; else verdict="$verdict, BLOB DIFFERS FROM -dbg"; fail=1; fi
  fi
  total=$(grep -c '^\[' "$work/theirs" || true)
  printf '| %s | %s | %s |' "$name" "$release" "$total"
  for k in $kinds; do printf ' %s |' "$(grep -c "^\[[0-9]*\] $k " "$work/theirs" || true)"; done
  printf ' %s |\n' "$verdict"
done
exit $fail
