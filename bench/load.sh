#!/usr/bin/env bash
# End-to-end load test on loopback, bounded in time: starts bin/caddy (one
# process per engine, both running throughout) and the demo backend, and
# measures side by side:
#   respond        plain Caddy `respond` (the ceiling), in the wasm Caddy
#   respond-native the same, in the native Caddy
#   echo           plain Caddy answering a POST with its own body
#                  (`respond {http.request.body}`, JSON headers), in the
#                  native Caddy: what any handler that reads a body and
#                  answers JSON reaches, kassa or not
#   proxy          plain `reverse_proxy` to the loopback backend
#   check-wasm     kassa Payneteasy Check sale, wasm engine
#   check-native   the same, native engine
#   search-wasm    kassa Smarts product search forwarded to the backend, wasm
#   search-native  the same, native
# The runs are interleaved: ROUNDS rounds, each driving every site in turn
# for DUR seconds (after a 1 s warm-up), so a slow phase of the machine
# touches every site alike; the table gives each site's median round, and
# the ratios are the medians of the rounds' own ratios, each site against
# `respond` in the same Caddy process (the two processes' heaps differ in
# size, and so do their collectors' paces). Then ROUNDS interleaved rounds
# at half each site's median rate, for the p99 under load.
# CPU per request is that Caddy's utime+stime over the requests served.
# Usage: bench/load.sh [seconds per run, default 5] [rounds, default 5]
# SITES="respond check-wasm ..." drives only those sites (a ratio needs its
# base: respond or respond-native, echo); GOTAGS builds bin/caddy with
# those tags (the kassa_zeroguest experiment, BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
ROUNDS=${2:-5}
THREADS=${THREADS:-1}
CONNS=${CONNS:-32}
# The sites (defined below, once the servers run), in the order driven.
NAMES=(respond respond-native echo proxy check-wasm check-native search-wasm search-native)
if [ -n "${SITES:-}" ]; then
	read -r -d '' -a picked <<<"$SITES" || true # every word, across lines
	declare -A seen=()
	for name in "${picked[@]}"; do
		[[ " ${NAMES[*]} " == *" $name "* ]] || { echo "bench/load.sh: no site $name (SITES takes: ${NAMES[*]})" >&2; exit 2; }
		[ -z "${seen[$name]:-}" ] || { echo "bench/load.sh: site $name given twice in SITES" >&2; exit 2; }
		seen[$name]=1
	done
	[ ${#picked[@]} -gt 0 ] || { echo "bench/load.sh: SITES names no site" >&2; exit 2; }
	NAMES=("${picked[@]}")
fi
. bench/lib.sh

caddyfile() { # $1 engine, $2 admin port, $3 port prefix
cat <<CF
{
	admin 127.0.0.1:$2
	log {
		level ERROR
	}
	kassa {
		engine $1
		store bolt $work/kassa-$1.db
	}
}
http://127.0.0.1:${3}1 {
	respond "ok"
}
http://127.0.0.1:${3}2 {
	reverse_proxy $BACKEND
}
http://127.0.0.1:${3}3 {
	kassa payneteasy {
		endpoint_id 1111
		control_key {env.PNE_CONTROL_KEY}
		gateway http://$BACKEND/paynet
	}
	reverse_proxy $BACKEND
}
http://127.0.0.1:${3}5 {
	header Content-Type application/json
	header Cache-Control no-store
	respond "{http.request.body}"
}
http://127.0.0.1:${3}4 {
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

declare -A PID
start_caddy() { # $1 engine, $2 admin port, $3 port prefix
	caddyfile "$@" >"$work/Caddyfile-$1"
	bin/caddy run --config "$work/Caddyfile-$1" --adapter caddyfile >"$work/caddy-$1.log" 2>&1 &
	PID[$1]=$!
	pids+=($!)
	for _ in $(seq 200); do curl -sf "http://127.0.0.1:${3}1/" >/dev/null && return; sleep 0.05; done
	echo "caddy ($1) did not start" >&2; cat "$work/caddy-$1.log" >&2; exit 1
}
start_caddy wasm 19019 1800
start_caddy native 19020 1801

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)

SEARCH='{"page":1,"limit":20,"request":{"type":"SELF_SERVICE","name":"milk","langCode":"ET"}}'
prepare_check http://127.0.0.1:18003
CHECK_WASM_URL=$CHECK_URL CHECK_WASM=$CHECK
prepare_check http://127.0.0.1:18013 # each engine has its own store file
CHECK_NATIVE_URL=$CHECK_URL CHECK_NATIVE=$CHECK

# The sites: name, engine (whose Caddy serves it), URL, body, header.
declare -A ENG URL BODYOF HDR
site() { ENG[$1]=$2 URL[$1]=$3 BODYOF[$1]=$4 HDR[$1]=${5:-}; }
site respond wasm http://127.0.0.1:18001/ '{}'
site respond-native native http://127.0.0.1:18011/ '{}'
site echo native http://127.0.0.1:18015/ "$CHECK_NATIVE"
site proxy wasm http://127.0.0.1:18002/product/search "$SEARCH"
site check-wasm wasm "$CHECK_WASM_URL" "$CHECK_WASM"
site check-native native "$CHECK_NATIVE_URL" "$CHECK_NATIVE"
site search-wasm wasm http://127.0.0.1:18004/product/search "$SEARCH" accessToken
site search-native native http://127.0.0.1:18014/product/search "$SEARCH" accessToken

# drive NAME SECONDS DELAY_MS: runs wrk on a site; prints "rps p50 p99
# cpu_us non2xx" (latencies in ms).
drive() {
	local name=$1 pid=${PID[${ENG[$1]}]}
	export BODY=${BODYOF[$name]} HEADER_NAME=${HDR[$name]} HEADER_VALUE=
	[ -n "$HEADER_NAME" ] && HEADER_VALUE=$SMARTS_NODE_TOKEN
	export DELAY_MS=$3
	local t0 t1 out
	t0=$(cpu_ticks "$pid")
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$2s" --latency -s bench/post.lua "${URL[$name]}")
	t1=$(cpu_ticks "$pid")
	awk -v a="$t0" -v b="$t1" -v hz="$TICK" '
		function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
		/Requests\/sec/ { rps=$2 } /requests in/ { n=$1 } $1=="50%" { p50=ms($2) } $1=="99%" { p99=ms($2) } /Non-2xx/ { bad=$5 }
		END { printf "%s %.3f %.3f %.1f %d\n", rps, p50, p99, (b-a)/hz*1e6/n, bad }' <<<"$out"
}

declare -A ROWS
for r in $(seq "$ROUNDS"); do
	for name in "${NAMES[@]}"; do
		DELAY_MS=0
		export BODY=${BODYOF[$name]}
		drive "$name" 1 0 >/dev/null # warm-up
		ROWS[$name]+="$(drive "$name" "$DUR" 0)"$'\n'
	done
	echo "round $r of $ROUNDS done" >&2
done

# col ROUNDS COLUMN: one column of a site's rounds (a ROWS or HALF entry).
col() { awk -v c="$2" 'NF{print $c}' <<<"$1"; }
# med: the median of the numbers on standard input.
med() { sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
# per_round ROUNDS_A ROUNDS_B COLUMN SCALE: A's column over B's, round by
# round (paired), times SCALE.
per_round() { paste <(col "$1" "$3") <(col "$2" "$3") | awk -v k="$4" '{print k*$1/$2}'; }
# median COLUMN NAME: the median of a column over a site's rounds.
median() { col "${ROWS[$2]}" "$1" | med; }
# ratio A B: the median over rounds of A's rate over B's, in percent;
# ratio_range A B: the lowest and highest round.
# Both print n/a when SITES left either site out.
ran() { [ -n "${ROWS[$1]:-}" ] && [ -n "${ROWS[$2]:-}" ]; }
ratio() { if ran "$1" "$2"; then printf "%.0f%%" "$(per_round "${ROWS[$1]}" "${ROWS[$2]}" 1 100 | med)"; else printf "n/a"; fi; }
ratio_range() {
	if ran "$1" "$2"; then
		per_round "${ROWS[$1]}" "${ROWS[$2]}" 1 100 | sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.0f-%.0f%%", lo, hi}'
	else printf "n/a"; fi
}

declare -A HALF DELAY
for name in "${NAMES[@]}"; do
	# Half the median rate: each connection waits so that CONNS
	# connections together send rps/2 requests per second.
	DELAY[$name]=$(awk -v c="$CONNS" -v r="$(median 1 "$name")" 'BEGIN{printf "%d", c*1000/(r/2)}')
done
for r in $(seq "$ROUNDS"); do
	for name in "${NAMES[@]}"; do
		HALF[$name]+="$(drive "$name" "$DUR" "${DELAY[$name]}")"$'\n'
	done
	echo "half-rate round $r of $ROUNDS done" >&2
done
# hmedian COLUMN NAME, hratio A B: median, and paired ratio of the p99, over
# the half-rate rounds.
hmedian() { col "${HALF[$2]}" "$1" | med; }
hratio() { if ran "$1" "$2"; then printf "%.2fx" "$(per_round "${HALF[$1]}" "${HALF[$2]}" 3 1 | med)"; else printf "n/a"; fi; }
base() { if [ "${ENG[$1]}" = native ]; then echo respond-native; else echo respond; fi; }

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t$THREADS -c$CONNS, $ROUNDS interleaved rounds of ${DUR}s per site, on loopback; $(go version | cut -d' ' -f3)${GOTAGS:+; bin/caddy built with -tags $GOTAGS}"
echo
echo "| run | req/s | vs respond, same Caddy (rounds) | p50 | p99 | CPU/req (µs) | RSS (MiB) | half-rate req/s | p99 at half rate | vs respond's | non-2xx |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for name in "${NAMES[@]}"; do
	b=$(base "$name")
	bad=$(awk '{s+=$5} END{print s+0}' <<<"${ROWS[$name]}${HALF[$name]}")
	printf "| %s | %.0f | %s (%s) | %.2f ms | %.2f ms | %s | %s | %.0f | %.2f ms | %s | %s |\n" "$name" "$(median 1 "$name")" \
		"$(ratio "$name" "$b")" "$(ratio_range "$name" "$b")" "$(median 2 "$name")" "$(median 3 "$name")" \
		"$(median 4 "$name")" "$(rss_mib "${PID[${ENG[$name]}]}")" "$(hmedian 1 "$name")" "$(hmedian 3 "$name")" \
		"$(hratio "$name" "$b")" "$bad"
done
echo
echo "echo (plain Caddy reading the body and answering it) / respond-native = $(ratio echo respond-native) (rounds $(ratio_range echo respond-native)); check-native / echo = $(ratio check-native echo) (rounds $(ratio_range check-native echo)); check-wasm / echo = $(ratio check-wasm echo) (rounds $(ratio_range check-wasm echo))"
echo "check sale: wasm/native = $(ratio check-wasm check-native) (rounds $(ratio_range check-wasm check-native)); check-wasm / respond-native = $(ratio check-wasm respond-native) (rounds $(ratio_range check-wasm respond-native)); check-native / respond (wasm Caddy) = $(ratio check-native respond) (rounds $(ratio_range check-native respond))"
