//go:build wasip1

// Command guest is kassa's core as a WebAssembly reactor (GOOS=wasip1,
// -buildmode=c-shared), committed as wasm/kassa.wasm. The exports and their
// calling convention are documented in wasm/README.md; this file is only the
// adapter between that ABI and package core.
package main

import (
	"runtime"
	"unsafe"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/jsonscan"
)

func main() {}

// init ends with a full garbage collection. Building the tables above
// allocates enough to start a collection cycle, and a reactor's goroutines
// run only inside export calls: the background mark workers would get no
// turn, calls that allocate nothing make no assists, so the cycle would
// stay in its mark phase for good, every pointer write in every call
// paying the write barrier (about a tenth of a Check sale's time,
// measured). runtime.GC blocks until the cycle is done.
func init() { runtime.GC() }

// An instance serves one call at a time, so one Core serves them all.
var c = core.New()

// live keeps every buffer handed to the host reachable: Go's collector does
// not move objects, so an address stays valid until kassa_free drops the
// buffer. Hosts hold two or three buffers, so a slice scanned linearly is
// cheaper than a map (whose iteration also draws random numbers).
var live [][]byte

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// pack returns a result as pointer<<32 | length.
func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(addr(b))<<32 | uint64(len(b))
}

// region returns the bytes [ptr, ptr+n) if they lie inside a live buffer.
// Host mistakes become an error result, never a trap or a stray read.
func region(ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	for _, b := range live {
		if off, ok := inside(b, ptr, uint64(n)); ok {
			return b[off : off+n : off+n], true
		}
	}
	return nil, false
}

var errBuffer = []byte(`{"error":"invalid buffer: pass memory returned by kassa_alloc"}`)

func text(ptr, n uint32) (string, bool) {
	b, ok := region(ptr, n)
	if !ok {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

// kassa_alloc returns a buffer of size bytes that stays valid until
// kassa_free, or 0 when size is 0.
//
//go:wasmexport kassa_alloc
func kassaAlloc(size uint32) uint32 {
	if size == 0 {
		return 0
	}
	b := make([]byte, size)
	live = append(live, b)
	runtime.Gosched() // let a collection this allocation started finish (see init)
	return addr(b)
}

// kassa_free releases a buffer returned by kassa_alloc.
//
//go:wasmexport kassa_free
func kassaFree(ptr uint32) {
	for i, b := range live {
		if addr(b) == ptr {
			live[i] = live[len(live)-1]
			live[len(live)-1] = nil
			live = live[:len(live)-1]
			return
		}
	}
}

// kassa_version returns the core version string.
//
//go:wasmexport kassa_version
func kassaVersion() uint64 { return pack(version) }

var version = []byte(core.Version)

// kassa_endpoints returns the JSON list of endpoints and operations.
//
//go:wasmexport kassa_endpoints
func kassaEndpoints() uint64 { return pack(endpoints) }

var endpoints = core.Endpoints()

// call runs one of the core's functions on a name (an endpoint or an
// operation) and an input, both given as regions of live buffers, and
// returns its answer packed, after giving the collector a turn when the
// call allocated: errors and violations build their messages, and may have
// started a cycle that, for the reason given at init, only a scheduling
// point lets finish. Valid answers and signatures allocate nothing and
// skip it. Written as one function: under wasm every call is dear.
func call(namePtr, nameLen, inPtr, inLen uint32, fn export) uint64 {
	var out []byte
	// The engine passes both in one buffer, the most recent one: check
	// that first, without a call per region.
	if b := lastLive(); b != nil && nameLen > 0 && inLen > 0 {
		no, ok1 := inside(b, namePtr, uint64(nameLen))
		io, ok2 := inside(b, inPtr, uint64(inLen))
		if ok1 && ok2 {
			out = run(fn, unsafe.String(&b[no], nameLen), b[io:io+inLen:io+inLen])
		}
	}
	if out == nil {
		name, ok1 := text(namePtr, nameLen)
		in, ok2 := region(inPtr, inLen)
		if !ok1 || !ok2 {
			return pack(errBuffer)
		}
		out = run(fn, name, in)
	}
	if allocated(out) {
		runtime.Gosched()
	}
	return pack(out)
}

// allocated reports whether an answer may have allocated: it is not one
// of the answers built in place, {"signature":..., {"stringToSign":... or
// {"valid":true,... (every answer is longer than 10).
func allocated(out []byte) bool { return len(out) > 9 && out[2] != 's' && out[9] != 't' }

// lastLive returns the most recent live buffer, or nil.
func lastLive() []byte {
	if len(live) == 0 {
		return nil
	}
	return live[len(live)-1]
}

// inside returns the offset in b of the n bytes at ptr, if they lie in b:
// the test region makes of every live buffer, small enough to be inlined.
func inside(b []byte, ptr uint32, n uint64) (uint32, bool) {
	base := uint64(addr(b))
	return uint32(uint64(ptr) - base), uint64(ptr) >= base && uint64(ptr)+n <= base+uint64(len(b))
}

// export names the core function an export runs: a switch calls it
// directly, where a method value would cost an indirect call and a
// wrapper's.
type export uint8

const (
	validate export = iota
	validateQuery
	signJSON
	signBinary
	stringToSign
)

func run(fn export, name string, in []byte) []byte {
	switch fn {
	case validate:
		return c.Validate(name, in)
	case validateQuery:
		return c.ValidateQuery(name, in)
	case signJSON:
		return c.Sign(name, in)
	case signBinary:
		return c.SignBinary(name, in)
	}
	return c.StringToSign(name, in)
}

// kassa_validate validates a body as an endpoint.
//
//go:wasmexport kassa_validate
func kassaValidate(idPtr, idLen, bodyPtr, bodyLen uint32) uint64 {
	return call(idPtr, idLen, bodyPtr, bodyLen, validate)
}

// kassa_validate_indexed validates a body that the host has checked as
// strict JSON and indexed: the body's n index entries (jsonscan.Entry, 40
// bytes each, 8-byte aligned) are at tape (see wasm/README.md). It saves
// the call to the host's check_json that kassa_validate makes.
//
//go:wasmexport kassa_validate_indexed
func kassaValidateIndexed(idPtr, idLen, bodyPtr, bodyLen, tapePtr, n uint32) uint64 {
	if uint64(n)*jsonscan.EntrySize > 1<<31 || tapePtr%8 != 0 {
		return pack(errBuffer)
	}
	var name string
	var body, raw []byte
	// The engine writes all three into its one buffer, the most recent:
	// check that first, without a call per region (as call does).
	if b := lastLive(); b != nil && idLen > 0 && bodyLen > 0 {
		no, ok1 := inside(b, idPtr, uint64(idLen))
		bo, ok2 := inside(b, bodyPtr, uint64(bodyLen))
		to, ok3 := inside(b, tapePtr, uint64(n)*jsonscan.EntrySize)
		if ok1 && ok2 && ok3 {
			name = unsafe.String(&b[no], idLen)
			body = b[bo : bo+bodyLen : bo+bodyLen]
			raw = b[to : to+n*jsonscan.EntrySize]
		}
	}
	if body == nil {
		var ok1, ok2, ok3 bool
		name, ok1 = text(idPtr, idLen)
		body, ok2 = region(bodyPtr, bodyLen)
		raw, ok3 = region(tapePtr, n*jsonscan.EntrySize)
		if !ok1 || !ok2 || !ok3 {
			return pack(errBuffer)
		}
	}
	var tape []jsonscan.Entry
	if n > 0 {
		tape = unsafe.Slice((*jsonscan.Entry)(unsafe.Pointer(unsafe.SliceData(raw))), n)
	}
	out := c.ValidateIndexed(name, body, tape)
	if allocated(out) { // as in call
		runtime.Gosched()
	}
	return pack(out)
}

// kassa_validate_query validates a raw query string as an endpoint's
// query parameters.
//
//go:wasmexport kassa_validate_query
func kassaValidateQuery(idPtr, idLen, qPtr, qLen uint32) uint64 {
	return call(idPtr, idLen, qPtr, qLen, validateQuery)
}

// kassa_sign signs a JSON object of fields with an operation.
//
//go:wasmexport kassa_sign
func kassaSign(opPtr, opLen, fPtr, fLen uint32) uint64 {
	return call(opPtr, opLen, fPtr, fLen, signJSON)
}

// kassa_sign_binary signs fields in sign's binary form (see
// sign.AppendBinary) with an operation.
//
//go:wasmexport kassa_sign_binary
func kassaSignBinary(opPtr, opLen, fPtr, fLen uint32) uint64 {
	return call(opPtr, opLen, fPtr, fLen, signBinary)
}

// kassa_string_to_sign returns an operation's string to sign.
//
//go:wasmexport kassa_string_to_sign
func kassaStringToSign(opPtr, opLen, fPtr, fLen uint32) uint64 {
	return call(opPtr, opLen, fPtr, fLen, stringToSign)
}
