#!/usr/bin/env bash
# CPU profile of kassa's Check sale under wrk load: starts bin/caddy with
# one engine (wasm or native), initiates a sale, checks it once, drives the
# same check with wrk for 12 s and takes a 9 s profile from Caddy's admin
# endpoint. Usage: bench/profile.sh [wasm|native]; then
#   go tool pprof -top bin/caddy bench-<engine>.pb.gz
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${1:-native}
command -v wrk >/dev/null || { echo "profile.sh needs wrk (apt-get install wrk)" >&2; exit 2; }
make -s build
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
set -a; . examples/demo.env; set +a
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
BACKEND=127.0.0.1:19080
bin/demo-backend -addr $BACKEND >"$work/backend.log" 2>&1 &
pids+=($!)
cat >"$work/Caddyfile" <<CF
{
	admin 127.0.0.1:19019
	log {
		level ERROR
	}
	kassa {
		engine $ENGINE
		store bolt $work/kassa.db
	}
}
http://127.0.0.1:18003 {
	kassa payneteasy {
		endpoint_id 1111
		control_key {env.PNE_CONTROL_KEY}
		gateway http://$BACKEND/paynet
	}
	reverse_proxy $BACKEND
}
CF
bin/caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do curl -s -o /dev/null http://127.0.0.1:18003/ && break; sleep 0.05; done
init=$(curl -sf -H 'Content-Type: application/json' http://127.0.0.1:18003/sale/initiate-sale \
	-d '{"consumer":{"device":{"serialNumber":"SN-BENCH"}},"transaction":{"amountCentis":1000,"currency":"EUR"},"session":{"accessToken":"bench-access-token-0123456789abcdef"}}')
inv=$(sed -E 's/.*"invoiceId":"([^"]+)".*/\1/' <<<"$init")
nonce=$(sed -E 's/.*"nonce":"([^"]+)".*/\1/' <<<"$init")
sig=$(sed -E 's/.*"signature":"([^"]+)".*/\1/' <<<"$init")
export BODY='{"consumer":{"device":{"serialNumber":"SN-BENCH"}},"session":{"accessToken":"bench-access-token-0123456789abcdef","nonce":"'$nonce'","signature":"'$sig'","token":"bench-token-0123456789"}}'
export HEADER_NAME= HEADER_VALUE= DELAY_MS=0
curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:18003/sale/$inv/check" -d "$BODY" >/dev/null
wrk -t1 -c32 -d12s -s bench/post.lua "http://127.0.0.1:18003/sale/$inv/check" >"$work/wrk.txt" &
w=$!
sleep 1
curl -sf "http://127.0.0.1:19019/debug/pprof/profile?seconds=9" >"bench-$ENGINE.pb.gz"
wait $w
grep -E 'Requests/sec|Non-2xx' "$work/wrk.txt" || true
echo "profile: bench-$ENGINE.pb.gz (go tool pprof -top bin/caddy bench-$ENGINE.pb.gz)"
