#!/usr/bin/env bash
# The daemon's responsiveness while it reconciles a large ban table: in a
# private network namespace, sockwatchd with [bans] reconcile_interval =
# 2s is given N bans (default 100,000) with `sockwatch block -f`; then
# `sockwatch status` is timed SAMPLES times (default 40), 0.25 s apart, so
# that several periodic reconciliations (a full read of the kernel's ban
# sets each) fall inside. A status answer waits for the daemon's loop:
# its latency shows how long the loop is held. Prints a markdown line.
#
# Usage: bench/reconcile.sh [BUILD] [N] [SAMPLES]   (as root)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-100000}
SAMPLES=${3:-40}
BENCH=reconcile
# shellcheck source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
[ "$N" -ge 1 ] && [ "$N" -le 130000 ] || die "N: 1 to 130000"

ip -n "$NS" addr add 198.19.255.1/32 dev lo
ban_list "$N"
daemon_conf "" "[bans]" "reconcile_interval = 2s"
swd_start
swc block --for 1h -f "$WORK/list" >/dev/null ||
    die "block -f failed: $(tail -3 "$WORK/log")"
sleep 2
status_latency "$(git -C "$(dirname "$0")" rev-parse --short HEAD \
    2>/dev/null || echo unknown)" "$N" "$SAMPLES"
swc metrics >"$WORK/metrics"
reconciles=$(awk '$1 == "sockwatch_nft_reconciles_total" { print $2 }' \
    "$WORK/metrics")
repairs=$(awk '$1 == "sockwatch_nft_repairs_total" { print $2 }' \
    "$WORK/metrics")
echo "reconcile.sh: ${reconciles:-?} reconciliations, ${repairs:-?} of them" \
    "repairs (nothing changed the table: 0 is right)" >&2
