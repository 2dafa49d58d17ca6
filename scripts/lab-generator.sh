#!/usr/bin/env bash
# The lab's traffic generator: dpdk-testpmd as the memif SERVER that trawld connects
# to as a client, on its own CPU so generator and appliance never share one.
#
#   scripts/lab-generator.sh txonly [--cpu 0] [--size 64] [--socket /run/trawl-lab.sock]
#   scripts/lab-generator.sh replay FILE.pcap [--cpu 0] [--socket ...]
#
# txonly: testpmd builds 64-byte UDP frames itself (--txonly-multi-flow varies the
#         source address), the fastest source there is.
# replay: testpmd forwards (io) a net_pcap replay of FILE, looped from memory
#         (infinite_rx=1), so trawld sees a realistic mix its filters can select from
#         (perf/ and trawl-trafficgen make such files).
# testpmd prints port statistics every second; Ctrl-C prints totals (TX-dropped on the
# memif port = frames the receiver had no room for). Hugepages are used when mounted
# and free (scripts/lab-hugepages.sh), else --no-huge.
set -euo pipefail
mode=${1:-}
shift || true
file=""
if [ "$mode" = replay ]; then file=${1:?usage: lab-generator.sh replay FILE.pcap}; shift; fi
cpu=0 size=64 sock=/run/trawl-lab.sock
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) cpu=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --socket) sock=$2; shift 2 ;;
    *) echo "lab-generator.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
# --in-memory: no hugepage files left behind when the generator is killed.
if grep -q " hugetlbfs " /proc/mounts && [ "${free:-0}" -ge 512 ]; then mem=(--in-memory --socket-mem 1024); else mem=(--no-huge -m 1024); fi
# Main lcore and forwarding lcore both on $cpu: the main lcore only prints statistics.
eal=(--lcores "0@$cpu,1@$cpu" --no-pci --no-telemetry --file-prefix trawl-lab-gen "${mem[@]}"
     --vdev "net_memif0,role=server,socket=$sock,socket-abstract=no")
rm -f "$sock"
case "$mode" in
  txonly)
    exec dpdk-testpmd "${eal[@]}" -- --forward-mode=txonly --txpkts="$size" --txonly-multi-flow \
      --burst=64 --stats-period 1 ;;
  replay)
    exec dpdk-testpmd "${eal[@]}" --vdev "net_pcap0,rx_pcap=$file,infinite_rx=1" -- --forward-mode=io \
      --burst=64 --stats-period 1 --no-flush-rx --total-num-mbufs 131072 ;;
  *) echo "usage: lab-generator.sh txonly|replay FILE [--cpu N] [--size B] [--socket PATH]" >&2; exit 2 ;;
esac
