#!/usr/bin/env bash
# How many lines of deploybot's C would clang-format change (.clang-format at
# the root)? Only our own C is considered: util/ store/ git/ deploy/ notify/
# bot/ tests/unit/ bench/ — never tests/fakes/ or anything that is not .c/.h.
#
#   scripts/format-check.sh            prints "N of M lines would change (K files)";
#                                      exits 1 when N > 0
#   scripts/format-check.sh --list     also one "file: lines" per file that would change
#   scripts/format-check.sh --fix      formats those files in place
#   scripts/format-check.sh --style F  measures with style file F instead (how
#                                      .clang-format was chosen; never with --fix)
#
# The check formats into a temporary directory and compares; only --fix
# writes to the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0 list=0 style=.clang-format
while [ $# -gt 0 ]; do
  case "$1" in
    --fix) fix=1 ;;
    --list) list=1 ;;
    --style) style=$2; shift ;;
    *) echo "usage: $0 [--fix | --list | --style FILE]" >&2; exit 2 ;;
  esac
  shift
done
command -v clang-format >/dev/null || { echo "$0: clang-format is not installed" >&2; exit 2; }
[ -f "$style" ] || { echo "$0: no style file $style" >&2; exit 2; }
if [ "$fix" = 1 ] && [ "$style" != .clang-format ]; then
  echo "$0: --fix formats with .clang-format only" >&2; exit 2
fi

dirs=()
for d in util store git deploy notify bot tests/unit bench; do
  [ -d "$d" ] && dirs+=("$d")
done
mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | sort)

if [ "$fix" = 1 ]; then
  clang-format -i --style=file "${files[@]}"
  echo "formatted ${#files[@]} files"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
style=$(realpath "$style")
changed=0 total=0 nfiles=0
for f in "${files[@]}"; do
  clang-format --style="file:$style" "$f" >"$tmp/out"
  # Lines of the original that formatting removes or rewrites.
  n=$(diff "$f" "$tmp/out" | grep -c '^<' || true)
  total=$((total + $(wc -l <"$f")))
  if [ "$n" -gt 0 ]; then
    changed=$((changed + n)) nfiles=$((nfiles + 1))
    [ "$list" = 1 ] && echo "$f: $n"
  fi
done
echo "$changed of $total lines would change ($nfiles of ${#files[@]} files)"
[ "$changed" -eq 0 ]
