//go:build wasip1

package main

import (
	"unsafe"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
)

// The host primitives (wasm/README.md, "Imports"): a host may compute the
// core's two heaviest primitives natively, with the same rules, because
// Go's wasm code runs them about ten times slower. A host without them
// (a browser, a mobile runtime) answers "not provided" and the core runs
// its own.

// check_json: 1 when b is strict JSON (jsonscan's rules, maxDepth), 0 when
// not, 2 when the host does not provide the check.
//
//go:wasmimport kassa_host check_json
func hostCheckJSON(ptr, n, maxDepth uint32) uint32

// hmac_sha1: writes the 20-byte HMAC-SHA1 of msg keyed with key at out and
// returns 1, or returns 0 when the host does not provide it.
//
//go:wasmimport kassa_host hmac_sha1
func hostHMACSHA1(keyPtr, keyLen, msgPtr, msgLen, out uint32) uint32

func init() {
	jsonscan.HostCheck = func(b []byte, maxDepth int) (valid, answered bool) {
		if len(b) == 0 {
			return false, false
		}
		switch hostCheckJSON(addr(b), uint32(len(b)), uint32(maxDepth)) {
		case 1:
			return true, true
		case 0:
			return false, true
		}
		return false, false
	}
	sign.HostHMAC = func(key, msg []byte, out *[20]byte) bool {
		if len(key) == 0 || len(msg) == 0 {
			return false
		}
		return hostHMACSHA1(addr(key), uint32(len(key)), addr(msg), uint32(len(msg)), uint32(uintptr(unsafe.Pointer(out)))) == 1
	}
}
