//go:build kassa_zeroguest

package engine

// This file is built only with the kassa_zeroguest tag, for one
// experiment of BENCHMARKS.md: the wasm engine with a guest that costs
// nothing. Its Check sale calls (ValidateIndexed over the handler's
// index, SignValues) are answered by the native core, after the same
// admission checks and without taking an instance; everything else is
// unchanged, and the instances the engine started still hold their
// memory. A load test of that build measures the most any guest could
// reach in the wasm engine's Caddy:
//
//	GOTAGS=kassa_zeroguest SITES="respond respond-native echo check-wasm check-native" bench/load.sh 5 5
//
// Never deploy it: it runs the native engine under the wasm engine's name.

const zeroGuestBuild = true

var zeroGuest = NewNative()
