#!/usr/bin/env bash
# What a task start saves with the stack's task image: ./tests/bench/task-start.sh [--data FILE] [--wheels DIR] [--tasks N] [--runs N]
# Reads the figures of tests/bench/task-start.tsv (image bytes, the packages Metaflow installs); with --wheels DIR (a
# wheelhouse made by `pip download`), counts its wheels and bytes and times `pip install` of the named packages from it into
# a fresh virtual environment, with Metaflow's flags and --no-index (no network: it measures the install, not the download).
# A name DIR cannot satisfy is left out of the timing and said so. Prints per task start and for a foreach of N tasks:
# image bytes pulled (cold node, warm node), package bytes downloaded, packages installed, install time. Unknown inputs
# print as "?". Talks to nothing: no registry, no package index.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=tests/bench/task-start.tsv; wheels=""; tasks=200; runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --wheels) wheels="$2"; shift 2 ;;
    --tasks) tasks="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: $0 [--data FILE] [--wheels DIR] [--tasks N] [--runs N]" >&2; exit 2 ;;
  esac
done
get() { awk -F'\t' -v k="$1" '$1 == k { print $2; exit }' "$data"; }
image_default=$(get image_default_bytes); image_task=$(get image_task_bytes)
named=$(get packages_named); wheels_count=$(get wheels_count); wheels_bytes=$(get wheels_bytes); install=$(get install_seconds)
timed_names=""; missing=""

if [ -n "$wheels" ]; then
  [ -d "$wheels" ] || { echo "error: no directory $wheels" >&2; echo "Make one with: pip download -d DIR $named" >&2; exit 2; }
  wheels_count=$(find "$wheels" -maxdepth 1 -name '*.whl' | wc -l)
  wheels_bytes=$(find "$wheels" -maxdepth 1 -name '*.whl' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  venv=$(mktemp -d); trap 'rm -rf "$venv"' EXIT
  for n in $named; do   # which names the wheelhouse can install (with their dependencies)
    python3 -m venv "$venv/probe" && "$venv/probe/bin/pip" install -qqq --no-index --find-links "$wheels" --dry-run "$n" >/dev/null 2>&1 \
      && timed_names="$timed_names $n" || missing="$missing $n"
    rm -rf "$venv/probe"
  done
  if [ -n "$timed_names" ]; then
    times=()
    for ((r = 0; r < runs; r++)); do
      python3 -m venv "$venv/env"
      s=$(date +%s%N)
      "$venv/env/bin/python" -m pip install -qqq --no-compile --no-cache-dir --disable-pip-version-check --no-index --find-links "$wheels" $timed_names
      e=$(date +%s%N)
      times+=("$(((e - s) / 1000000))")
      installed=$("$venv/env/bin/python" -m pip list --format=freeze 2>/dev/null | grep -v -E '^(pip|setuptools)==' | wc -l)
      rm -rf "$venv/env"
    done
    install=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.2f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000}')
    wheels_count="$installed"
  fi
fi

num() { [[ "$1" =~ ^[0-9.]+$ ]]; }
mb() { num "$1" && awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}' || echo "?"; }
times_n() { num "$1" && awk -v v="$1" -v n="$2" -v u="$3" 'BEGIN {printf (u == "" ? "%d" : "%.1f %s"), v * n / (u == "MB" ? 1e6 : 1), u}' || echo "?"; }
n_named=$(echo "$named" | wc -w)

echo "Task start on the stack: Metaflow's default image (python:X.Y, packages installed at start) vs the stack's task image"
[ -n "$missing" ] && echo "note: the wheelhouse lacks$missing: figures marked * cover only$timed_names"
star=""; [ -n "$missing" ] && star="*"
printf "%-46s %24s %18s\n" "per task start" "default python:X.Y" "task image"
printf "%-46s %24s %18s\n" "image bytes pulled, node without the image" "$(mb "$image_default")" "$(mb "$image_task")"
printf "%-46s %24s %18s\n" "image bytes pulled, node that has it" "0" "0"
printf "%-46s %24s %18s\n" "package bytes downloaded (pip --no-cache-dir)" "$(mb "$wheels_bytes")$star" "0"
printf "%-46s %24s %18s\n" "packages installed (Metaflow names $n_named)" "${wheels_count}$star" "0"
printf "%-46s %24s %18s\n" "pip install time, local wheels (median)" "${install} s$star" "0 s (skipped)"
printf "%-46s %24s %18s\n" "foreach of $tasks tasks: package bytes" "$(times_n "$wheels_bytes" "$tasks" MB)$star" "0"
printf "%-46s %24s %18s\n" "foreach of $tasks tasks: package installs" "$(times_n "$wheels_count" "$tasks" "")$star" "0"
printf "%-46s %24s %18s\n" "foreach of $tasks tasks: install time" "$(times_n "$install" "$tasks" s)$star" "0 s"
echo "inputs: $data${wheels:+; wheels: $wheels ($runs timed installs, $(python3 --version 2>&1))}; ? = not known here (see the file)"
