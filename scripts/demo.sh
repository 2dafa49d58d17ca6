#!/usr/bin/env bash
# README command (1): install, build, and run trawld on the embedded default — a
# net_pcap replay, no NIC, no hugepages — with the sessions of conf/demo.yaml; create
# one more session with trawlctl; then show what was captured.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -d build ] || meson setup build --buildtype=release
ninja -C build control/trawld control/trawlctl perf/trawl-trafficgen

DEMO=/tmp/trawl-demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
./build/perf/trawl-trafficgen --mix demo --packets 30000 --gap-us 100 --seed 7 --out "$DEMO/traffic.pcap"

TRAWLCTL=./build/control/trawlctl
echo "== starting trawld (log: $DEMO/trawld.log)"
./build/control/trawld --config conf/demo.yaml >"$DEMO/trawld.log" 2>&1 &
TRAWLD=$!
trap 'kill $TRAWLD 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:9077/healthz >/dev/null && break
  kill -0 $TRAWLD 2>/dev/null || { cat "$DEMO/trawld.log"; exit 1; }
  sleep 0.1
done

echo "== one more session, created with trawlctl: SSH, both directions, 50,000 packets"
$TRAWLCTL create ssh --proto tcp --dport 22 --max-packets 50000 --format pcapng
sleep 2

echo; echo "== sessions"
$TRAWLCTL list
echo; echo "== files of 'web'"
$TRAWLCTL files web
echo; echo "== ports"
$TRAWLCTL ports
echo; echo "== a few metrics"
curl -s http://127.0.0.1:9077/metrics | grep -E '^trawl_(session_packets_total|port_rx_packets_total|ring_full_drops_total)'

echo; echo "== stopping trawld (SIGTERM: drain, flush, close)"
kill -TERM $TRAWLD
wait $TRAWLD
trap - EXIT

echo; echo "== capinfos of every file"
for f in "$DEMO"/captures/*/*.pcap*; do
  capinfos -c -s -u "$f" | sed -n '1,4p'
done
echo; echo "Captures are in $DEMO/captures; open them with wireshark or tshark -r."
