#!/usr/bin/env bash
# Start-up of the three scripts beside the az CLI, interleaved in one run: ./tests/bench/startup.sh [rounds]
# Each round times, in turn: every script's warm --help and no-sign-in dry run through ./jbang (fast path, with and
# without its class-data archive, and through JBang itself), and `az aks create --help` when az is installed.
# Prints medians, each one's ratio to az, and the load average. No AZURE_* variables, a temp HOME; nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-9}"
home="$(mktemp -d)"; trap 'rm -rf "$home"' EXIT
export JBANG_DIR="${JBANG_DIR:-$HOME/.jbang}" HOME="$home" AZURE_CONFIG_DIR="$home/.azure-cli" AZURE_CORE_COLLECT_TELEMETRY=no
for v in $(env | sed -n 's/^\(AZURE_[A-Za-z0-9_]*\|IDENTITY_[A-Z_]*\|MSI_[A-Z_]*\)=.*/\1/p'); do
  case "$v" in AZURE_CONFIG_DIR|AZURE_CORE_COLLECT_TELEMETRY) ;; *) unset "$v" ;; esac
done
ms() { local s e; s=$(date +%s%N); env "$@" >/dev/null 2>&1 </dev/null || true; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
labels=(); cmds=()
add() { labels+=("$1"); shift; cmds+=("$*"); }
for s in "provision.java --help" "teardown.java --help" "services.java --help" \
         "provision.java --prefix acme --dry-run" "teardown.java --prefix acme --dry-run" "services.java --prefix acme --dry-run --no-argo"; do
  add "./jbang $s" ./jbang $s
  add "  same, no class-data archive" JBANG_WRAPPER_NO_CDS=1 ./jbang $s
  add "  same, through JBang (no fast path)" JBANG_WRAPPER_NO_FAST=1 ./jbang $s
done
command -v az >/dev/null && add "az aks create --help ($(az version 2>/dev/null | sed -n 's/.*"azure-cli": "\(.*\)".*/\1/p'))" az aks create --help
declare -A times
for i in "${!cmds[@]}"; do ms ${cmds[$i]} >/dev/null; done   # warm-up: builds, keeps commands, makes archives
load0=$(cut -d' ' -f1 /proc/loadavg)
for ((r = 0; r < rounds; r++)); do
  for i in "${!cmds[@]}"; do times[$i]+="$(ms ${cmds[$i]}) "; done
done
azms=""
command -v az >/dev/null && azms=$(printf '%s\n' ${times[$((${#cmds[@]} - 1))]} | med)
printf "%-62s %9s %9s\n" "command (median of $rounds, interleaved)" "time" "÷ az"
for i in "${!cmds[@]}"; do
  m=$(printf '%s\n' ${times[$i]} | med)
  ratio="-"; [ -n "$azms" ] && ratio=$(echo "scale=2; $m / $azms" | bc)
  printf "%-62s %7.2f s %9s\n" "${labels[$i]}" "$(echo "$m/1000" | bc -l)" "$ratio"
done
echo "load average (1 min) before / after: $load0 / $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
