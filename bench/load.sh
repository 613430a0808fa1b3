#!/usr/bin/env bash
# End-to-end load test on loopback, bounded in time: starts bin/caddy and the
# demo backend, and measures side by side, in one run:
#   respond        plain Caddy `respond` (the ceiling)
#   proxy          plain `reverse_proxy` to the loopback backend
#   check-wasm     kassa Payneteasy Check sale, wasm engine
#   check-native   the same, native engine
#   search-wasm    kassa Smarts product search forwarded to the backend, wasm
#   search-native  the same, native
# For each: requests/s at full load, p50/p99, CPU per request (Caddy's
# utime+stime / requests), RSS, ratio to `respond`; then p99 at half the
# measured maximum rate. Usage: bench/load.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
THREADS=${THREADS:-1}
CONNS=${CONNS:-32}
. bench/lib.sh

caddyfile() { # $1 engine
cat <<CF
{
	admin 127.0.0.1:19019
	log {
		level ERROR
	}
	kassa {
		engine $1
		store bolt $work/kassa-$1.db
	}
}
http://127.0.0.1:18001 {
	respond "ok"
}
http://127.0.0.1:18002 {
	reverse_proxy $BACKEND
}
http://127.0.0.1:18003 {
	kassa payneteasy {
		endpoint_id 1111
		control_key {env.PNE_CONTROL_KEY}
		gateway http://$BACKEND/paynet
	}
	reverse_proxy $BACKEND
}
http://127.0.0.1:18004 {
	kassa smarts {
		node_token {env.SMARTS_NODE_TOKEN}
		access_token {env.SMARTS_ACCESS_TOKEN}
		backend_key {env.SMARTS_BACKEND_KEY}
		gateway http://$BACKEND/smarts-gateway
		version bench
	}
	reverse_proxy $BACKEND
}
CF
}

start_caddy() { # $1 engine
	caddyfile "$1" >"$work/Caddyfile"
	bin/caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy-$1.log" 2>&1 &
	CADDY=$!
	pids+=($CADDY)
	for _ in $(seq 200); do curl -sf http://127.0.0.1:18001/ >/dev/null && return; sleep 0.05; done
	echo "caddy did not start" >&2; cat "$work/caddy-$1.log" >&2; exit 1
}
stop_caddy() { kill "$CADDY"; wait "$CADDY" 2>/dev/null || true; }

cpu_ticks() { awk '{print $14+$15}' /proc/$CADDY/stat; }
rss_mib() { awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$CADDY/status; }
TICK=$(getconf CLK_TCK)

# run NAME URL BODY [HEADER_NAME HEADER_VALUE]: full load, then half rate.
declare -A RPS
results=()
run() {
	local name=$1 url=$2
	export BODY=$3 HEADER_NAME=${4:-} HEADER_VALUE=${5:-} DELAY_MS=0
	wrk -t"$THREADS" -c"$CONNS" -d2s -s bench/post.lua "$url" >/dev/null # warm-up
	local t0; t0=$(cpu_ticks)
	local out; out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/post.lua "$url")
	local t1; t1=$(cpu_ticks)
	local rps reqs p50 p99 non2xx
	rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
	reqs=$(awk '/requests in/{print $1}' <<<"$out")
	p50=$(awk '$1=="50%"{print $2}' <<<"$out")
	p99=$(awk '$1=="99%"{print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out")
	local cpu_us; cpu_us=$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v hz="$TICK" 'BEGIN{printf "%.1f", (b-a)/hz*1e6/n}')
	RPS[$name]=$rps
	# Half the measured rate: each connection waits so that CONNS
	# connections together send rps/2 requests per second.
	export DELAY_MS; DELAY_MS=$(awk -v c="$CONNS" -v r="$rps" 'BEGIN{printf "%d", c*1000/(r/2)}')
	local half; half=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/post.lua "$url")
	local hrps hp99
	hrps=$(awk '/Requests\/sec/{print $2}' <<<"$half")
	hp99=$(awk '$1=="99%"{print $2}' <<<"$half")
	results+=("$name|$rps|$p50|$p99|$cpu_us|$(rss_mib)|$hrps|$hp99|${non2xx:-0}")
}

SEARCH='{"page":1,"limit":20,"request":{"type":"SELF_SERVICE","name":"milk","langCode":"ET"}}'
start_caddy wasm
prepare_check http://127.0.0.1:18003
run respond http://127.0.0.1:18001/ '{}'
run proxy http://127.0.0.1:18002/product/search "$SEARCH"
run check-wasm "$CHECK_URL" "$CHECK"
run search-wasm http://127.0.0.1:18004/product/search "$SEARCH" accessToken "$SMARTS_NODE_TOKEN"
stop_caddy
start_caddy native
prepare_check http://127.0.0.1:18003 # each engine has its own store file
run check-native "$CHECK_URL" "$CHECK"
run search-native http://127.0.0.1:18004/product/search "$SEARCH" accessToken "$SMARTS_NODE_TOKEN"
stop_caddy

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t$THREADS -c$CONNS -d${DUR}s on loopback; $(go version | cut -d' ' -f3)"
echo
echo "| run | req/s | vs respond | p50 | p99 | CPU/req (µs) | RSS (MiB) | half-rate req/s | p99 at half rate | non-2xx |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do
	IFS='|' read -r name rps p50 p99 cpu rss hrps hp99 bad <<<"$r"
	ratio=$(awk -v a="$rps" -v b="${RPS[respond]}" 'BEGIN{printf "%.0f%%", 100*a/b}')
	echo "| $name | $rps | $ratio | $p50 | $p99 | $cpu | $rss | $hrps | $hp99 | $bad |"
done
echo
awk -v w="${RPS[check-wasm]}" -v n="${RPS[check-native]}" 'BEGIN{printf "check sale: wasm/native = %.0f%%\n", 100*w/n}'
