#!/usr/bin/env bash
# Modbus TCP benchmark: icsdrill serving a 1000-PLC plant (ticking in real time) against the
# libmodbus reference server and the raw TCP floor of ../shared/bench, in one interleaved run.
# FC 3 reads of 10 registers at 1, 8 and 64 connections spread over 100 endpoints. Also reports
# how long `icsdrill serve` takes to start 1000 endpoints and its memory.
#
#   benches/modbus.sh [SECONDS_PER_RUN] [REPS]
#   LOOPS=N benches/modbus.sh ...   serve on N event loops (`--event-loops`; default 0, one a core)
#
# Needs gcc, libmodbus-dev and pkg-config (installed here when missing). Traffic goes to
# 127.0.0.1 only, and every run ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; reps=${2:-3}; loops=${LOOPS:-0}
bench=${BENCH_DIR:-../shared/bench}
out=target/bench-modbus; mkdir -p "$out"
if ! pkg-config --exists libmodbus 2>/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc libmodbus-dev pkg-config >/dev/null
fi
OUT_DIR="$PWD/$out/bin" "$bench/build.sh" >/dev/null
cargo build --release --quiet
bin=target/release/icsdrill
$bin scenarios synthetic 1000 > "$out/synthetic-1000.yaml"

base=$(python3 -c "
import socket,random
for _ in range(200):
    b=random.randint(20000,50000); ok=True
    for p in range(b,b+1001):
        s=socket.socket()
        try: s.bind(('127.0.0.1',p))
        except OSError: ok=False
        s.close()
        if not ok: break
    if ok: print(b); break
")
start=$(date +%s.%N)
$bin serve "$out/synthetic-1000.yaml" --modbus-port "$base" --http-port 0 --max-connections 64 --request-rate 0 --event-loops "$loops" --no-routine-traffic --duration 3600 > "$out/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until grep -q "Press Ctrl-C" "$out/serve.log"; do
  kill -0 $pid 2>/dev/null || { cat "$out/serve.log"; exit 1; }
  sleep 0.01
done
ready=$(date +%s.%N)
sleep 1
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "icsdrill serve, 1000 PLC endpoints: ready in $(python3 -c "print(round($ready-$start,3))") s" \
     "(the binary reports $(grep -o 'started in [0-9]* ms' "$out/serve.log")); RSS $((rss_kib / 1024)) MiB idle"
REPS=$reps OUT_DIR="$PWD/$out/bin" "$bench/compare.sh" "$pid" "$base-$((base + 99))" "$secs" 1 8 64
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "RSS after the load: $((rss_kib / 1024)) MiB"
