#!/usr/bin/env bash
# Analysis throughput (issue 7): records per second of `trawlctl analyze` with one and two
# threads on a capture of at least 1 GB, next to `tshark -q -z conv,ip` and `capinfos` on
# the same file, in one run on the same machine. Every tool reads the same file from the
# page cache (it is read once before the first timing), and each time is the wall time of
# the whole command: start-up, reading, analysis and output. Ratios are to tshark.
#
#   perf/analysis_bench.sh [--build DIR] [--file FILE | --size-mb N] [--mix imix|64|mixed|demo]
#                          [--flows N] [--keep] [--no-tshark]
#
# Without --file a capture of --size-mb (default 1100) is generated with trawl-trafficgen
# (--mix imix, --flows 50000, 20% IPv6) into a temporary directory and removed afterwards
# unless --keep. The line "CPUs available" says how much of the machine the run had: two
# threads cannot beat one on a machine whose second core is busy with something else.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
FILE=""
SIZE_MB=1100
MIX=imix
FLOWS=50000
KEEP=0
TSHARK=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --file) FILE=$2; shift 2 ;;
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --mix) MIX=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-tshark) TSHARK=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "analysis_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

TRAWLCTL="$BUILD/control/trawlctl"
TRAFFICGEN="$BUILD/perf/trawl-trafficgen"
for tool in "$TRAWLCTL" capinfos; do
  command -v "$tool" >/dev/null || { echo "analysis_bench: $tool not found (build first: ninja -C $BUILD)" >&2; exit 2; }
done
[ "$TSHARK" = 0 ] || command -v tshark >/dev/null || { echo "analysis_bench: tshark not found" >&2; exit 2; }

WORK=$(mktemp -d /tmp/trawl-analysis-bench-XXXXXX)
cleanup() { [ "$KEEP" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

if [ -z "$FILE" ]; then
  # Scale the packet count from a sample of the same mix.
  "$TRAFFICGEN" --mix "$MIX" --packets 20000 --flows "$FLOWS" --ipv6 20 --out "$WORK/sample.pcap" >/dev/null
  sample_bytes=$(stat -c %s "$WORK/sample.pcap")
  packets=$(( SIZE_MB * 1000000 / (sample_bytes / 20000) + 1 ))
  FILE="$WORK/capture.pcap"
  echo "generating $FILE: --mix $MIX --packets $packets --flows $FLOWS --ipv6 20" >&2
  "$TRAFFICGEN" --mix "$MIX" --packets "$packets" --flows "$FLOWS" --ipv6 20 --out "$FILE" >/dev/null
  rm -f "$WORK/sample.pcap"
fi
[ -r "$FILE" ] || { echo "analysis_bench: cannot read $FILE" >&2; exit 2; }

size=$(stat -c %s "$FILE")
cat "$FILE" > /dev/null  # into the page cache: every tool below reads memory, not the disk
records=$(capinfos -M -c -T "$FILE" 2>/dev/null | awk -F'\t' 'NR == 2 { print $2 }')
[ -n "$records" ] && [ "$records" -gt 0 ] || { echo "analysis_bench: capinfos cannot count $FILE" >&2; exit 1; }

# How many CPUs this run really has: two busy loops for one second, CPU time over wall time.
cpus=$(python3 - <<'EOF'
import os, resource, time
pids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        end = time.time() + 1.0
        while time.time() < end:
            pass
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f" % ((r.ru_utime + r.ru_stime) / 1.0))
EOF
)

# Runs a command once, discarding its output; prints its wall time in seconds.
wall() {
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || { echo "analysis_bench: failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

declare -a NAMES SECONDS_TAKEN
run() {
  local name=$1; shift
  NAMES+=("$name")
  SECONDS_TAKEN+=("$(wall "$@")")
}

[ "$TSHARK" = 0 ] || run "tshark -q -z conv,ip" tshark -q -r "$FILE" -z conv,ip
run "capinfos" capinfos "$FILE"
run "trawlctl analyze --threads 1" "$TRAWLCTL" analyze --threads 1 --table summary "$FILE"
run "trawlctl analyze --threads 2" "$TRAWLCTL" analyze --threads 2 --table summary "$FILE"

summary=$("$TRAWLCTL" analyze --threads 1 --json --top 1 "$FILE" | python3 -c \
  'import json,sys; s=json.load(sys.stdin)["summary"]; print("%d flows between %d addresses" % (s["flows"], s["addresses"]))')

printf '\nanalysis throughput: %s\n' "$FILE"
printf '  %s GB, %s records, %s; CPUs available to this run: %s of %s\n\n' \
  "$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1e9 }')" "$records" "$summary" "$cpus" "$(nproc)"
printf '  %-32s %9s %13s %10s\n' "tool" "seconds" "records/s" "vs tshark"
base=""
[ "$TSHARK" = 0 ] || base=$(awk -v r="$records" -v t="${SECONDS_TAKEN[0]}" 'BEGIN { printf "%.3f", r / t }')
for i in "${!NAMES[@]}"; do
  awk -v name="${NAMES[$i]}" -v r="$records" -v t="${SECONDS_TAKEN[$i]}" -v base="$base" 'BEGIN {
    rate = r / t
    ratio = base == "" ? "-" : sprintf("%.1fx", rate / base)
    printf "  %-32s %9.2f %13.0f %10s\n", name, t, rate, ratio
  }'
done
