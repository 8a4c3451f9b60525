#!/usr/bin/env bash
# Start-up before/after in one run: ./tests/bench/startup-ab.sh <git-rev-before> [runs]
# Exports <rev> to a temp dir and times the same commands there and here, interleaved (so machine load hits both
# alike), through each tree's own ./jbang, with no AZURE_* variables and a temp HOME. Prints medians and after/before.
set -euo pipefail
cd "$(dirname "$0")/../.."
rev="$1"; runs="${2:-7}"
before="$(mktemp -d)"; home="$(mktemp -d)"
trap 'rm -rf "$before" "$home"' EXIT
git archive "$rev" | tar -x -C "$before"
export JBANG_DIR="${JBANG_DIR:-$HOME/.jbang}" HOME="$home"
for v in $(env | sed -n 's/^\(AZURE_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
t() { local s e; s=$(date +%s%N); (cd "$1" && shift && ./jbang "$@" >/dev/null 2>&1 </dev/null) || true; e=$(date +%s%N); echo "($e-$s)/1000000" | bc; }
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf "%-50s %9s %9s %7s\n" command before after ratio
while IFS= read -r cmd; do
  # shellcheck disable=SC2086
  t "$before" $cmd >/dev/null; t . $cmd >/dev/null   # warm-up (builds jars, makes archives)
  b=(); a=()
  for ((i = 0; i < runs; i++)); do b+=("$(t "$before" $cmd)"); a+=("$(t . $cmd)"); done
  mb=$(printf '%s\n' "${b[@]}" | med); ma=$(printf '%s\n' "${a[@]}" | med)
  printf "%-50s %7.2f s %7.2f s %7.2f\n" "$cmd" "$(echo "$mb/1000" | bc -l)" "$(echo "$ma/1000" | bc -l)" "$(echo "$ma/$mb" | bc -l)"
done <<'CMDS'
provision.java --help
teardown.java --help
services.java --help
provision.java --prefix acme --dry-run
teardown.java --prefix acme --dry-run
services.java --prefix acme --dry-run --no-argo
CMDS
