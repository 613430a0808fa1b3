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

// check_json: 0 when b is not strict JSON (jsonscan's rules, maxDepth),
// 1 when it is, 2 when the host does not provide the check, 3 when it is
// and the host wrote its index (jsonscan.Index) into the tapeCap entries at
// tape: entry 0's Next is then the number of entries.
//
//go:wasmimport kassa_host check_json
func hostCheckJSON(ptr, n, maxDepth, tape, tapeCap uint32) uint32

// hmac_sha1: writes the 20-byte HMAC-SHA1 of msg keyed with key at out and
// returns 1, or returns 0 when the host does not provide it.
//
//go:wasmimport kassa_host hmac_sha1
func hostHMACSHA1(keyPtr, keyLen, msgPtr, msgLen, out uint32) uint32

func init() {
	jsonscan.HostCheck = func(b []byte, maxDepth int, tape []jsonscan.Entry) (valid, answered bool, indexed int) {
		if len(b) == 0 {
			return false, false, 0
		}
		var tp uint32
		if len(tape) > 0 {
			tp = uint32(uintptr(unsafe.Pointer(&tape[0])))
		}
		switch hostCheckJSON(addr(b), uint32(len(b)), uint32(maxDepth), tp, uint32(len(tape))) {
		case 3:
			if len(tape) > 0 {
				return true, true, int(tape[0].Next) // validate.useIndex checks it
			}
			return true, true, 0
		case 1:
			return true, true, 0
		case 0:
			return false, true, 0
		}
		return false, false, 0
	}
	sign.HostHMAC = func(key, msg []byte, out *[20]byte) bool {
		if len(key) == 0 || len(msg) == 0 {
			return false
		}
		return hostHMACSHA1(addr(key), uint32(len(key)), addr(msg), uint32(len(msg)), uint32(uintptr(unsafe.Pointer(out)))) == 1
	}
}
