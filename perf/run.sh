#!/usr/bin/env bash
# One command for every benchmark (DESIGN §4): builds a release tree, reserves
# hugepages, runs S1-S4 and the payload-pattern scenario, prints one table.
#
#   perf/run.sh                 full run (about 8 minutes on 2 vCPUs)
#   perf/run.sh --smoke         every scenario for a moment: checks the harness (CI)
#   perf/run.sh --only s1,s3 --seconds 10 --json out.json
#
# Run it on an otherwise idle machine: the figures are ratios against baselines
# measured in the same run, but a busy neighbour still moves them.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${TRAWL_PERF_BUILD:-build-perf}
smoke=0
for a in "$@"; do [ "$a" = "--smoke" ] && smoke=1; done

if ! command -v meson >/dev/null || ! command -v dpdk-testpmd >/dev/null; then
  bash scripts/install-deps.sh
fi
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" --buildtype=release
fi
ninja -C "$BUILD" control/trawld perf/trawl-trafficgen

if [ "$smoke" = 0 ]; then
  # 2 GiB of 2 MiB pages for trawld/testpmd/dpdk-dumpcap; without them the harness
  # falls back to --no-huge and says so (dpdk-dumpcap is then skipped).
  bash scripts/lab-hugepages.sh 1536 || echo "perf/run.sh: no hugepages, running with --no-huge" >&2
fi
exec python3 perf/bench.py --build "$BUILD" "$@"
