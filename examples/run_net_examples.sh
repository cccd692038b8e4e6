#!/usr/bin/env bash
# Runs the page-title listings (17-1 to 17-5) against page_server on
# 127.0.0.1, and the echo server demo. Usage: run_net_examples.sh BIN_DIR
set -euo pipefail
bin="$1"
urls="$(mktemp)"
"$bin/page_server" --seconds 20 > "$urls" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$urls"' EXIT
for _ in $(seq 100); do
  [ "$(wc -l < "$urls")" -ge 2 ] && break
  sleep 0.05
done
fast="$(sed -n 1p "$urls")"
slow="$(sed -n 2p "$urls")"
for ex in listing_17_01 listing_17_02 listing_17_03 listing_17_04; do
  echo "== $ex $fast"
  "$bin/$ex" "$fast"
done
echo "== listing_17_05 $slow $fast"
"$bin/listing_17_05" "$slow" "$fast"
echo "== echo_server"
"$bin/echo_server"
