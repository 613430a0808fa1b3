# Shared by bench/load.sh and bench/profile.sh (sourced from the repository
# root): a work directory removed on exit, the demo secrets, the demo
# backend on $BACKEND, and prepare_check to set up a Check sale.
command -v wrk >/dev/null || { echo "$(basename "$0") needs wrk (apt-get install wrk)" >&2; exit 2; }
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

# prepare_check BASE_URL: initiates a sale on the Payneteasy site at
# BASE_URL and checks it once (the first check writes the session token,
# so the measured ones are the repeated, read-only kind). Sets CHECK_URL
# and CHECK (the body).
prepare_check() {
	local init inv nonce sig
	init=$(curl -sf -H 'Content-Type: application/json' "$1/sale/initiate-sale" \
		-d '{"consumer":{"device":{"serialNumber":"SN-BENCH"}},"transaction":{"amountCentis":1000,"currency":"EUR"},"session":{"accessToken":"bench-access-token-0123456789abcdef"}}')
	inv=$(sed -E 's/.*"invoiceId":"([^"]+)".*/\1/' <<<"$init")
	nonce=$(sed -E 's/.*"nonce":"([^"]+)".*/\1/' <<<"$init")
	sig=$(sed -E 's/.*"signature":"([^"]+)".*/\1/' <<<"$init")
	CHECK_URL="$1/sale/$inv/check"
	CHECK='{"consumer":{"device":{"serialNumber":"SN-BENCH"}},"session":{"accessToken":"bench-access-token-0123456789abcdef","nonce":"'$nonce'","signature":"'$sig'","token":"bench-token-0123456789"}}'
	curl -sf -H 'Content-Type: application/json' "$CHECK_URL" -d "$CHECK" >/dev/null
}
