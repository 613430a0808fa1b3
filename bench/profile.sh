#!/usr/bin/env bash
# CPU profile of kassa's Check sale under wrk load: starts bin/caddy with
# one engine (wasm or native), initiates a sale, checks it once, drives the
# same check with wrk for 12 s and takes a 9 s profile from Caddy's admin
# endpoint. Usage: bench/profile.sh [wasm|native|respond]; then
#   go tool pprof -top bin/caddy bench-<engine>.pb.gz
# `respond` profiles plain Caddy's `respond` under the same load instead:
# the baseline a Check sale's profile is read against.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-native}
ENGINE=$WHAT
[ "$WHAT" = respond ] && ENGINE=native
. bench/lib.sh
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
http://127.0.0.1:18001 {
	respond "ok"
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
prepare_check http://127.0.0.1:18003
export BODY=$CHECK HEADER_NAME= HEADER_VALUE= DELAY_MS=0
URL=$CHECK_URL
[ "$WHAT" = respond ] && BODY='{}' URL=http://127.0.0.1:18001/
wrk -t1 -c32 -d12s -s bench/post.lua "$URL" >"$work/wrk.txt" &
w=$!
sleep 1
curl -sf "http://127.0.0.1:19019/debug/pprof/profile?seconds=9" >"bench-$WHAT.pb.gz"
wait $w
grep -E 'Requests/sec|Non-2xx' "$work/wrk.txt" || true
[ -z "${GOTAGS:-}" ] || echo "bin/caddy built with -tags $GOTAGS"
echo "profile: bench-$WHAT.pb.gz (go tool pprof -top bin/caddy bench-$WHAT.pb.gz)"
