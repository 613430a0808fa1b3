package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"hash"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/kassa-edge/kassa/core/jsonscan"
)

// The host module "kassa_host": native implementations of the core's two
// heaviest primitives, which the guest imports (wasm/README.md, "Imports";
// wasm/guest/host.go). Go's wasm code runs them about ten times slower than
// the same Go code compiled natively, and natively they are this very
// package code (jsonscan) or the standard library's HMAC-SHA1 with its
// assembly, so the answers do not change, only their cost.
//
// They answer only when on is set: for the embedded module (built from the
// same source as this host, so its rules are this host's rules) unless
// WasmConfig.PureGuest asks for the guest's own code. Otherwise they say
// "not provided" and the guest computes everything itself, as in a browser.

// The answers (wasm/README.md).
const (
	checkInvalid     = 0 // check_json: not strict JSON
	checkValid       = 1
	checkNotProvided = 2
	hmacNotProvided  = 0 // hmac_sha1
	hmacDone         = 1
)

func instantiateHost(ctx context.Context, rt wazero.Runtime, on *atomic.Bool) error {
	i32 := api.ValueTypeI32
	_, err := rt.NewHostModuleBuilder("kassa_host").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, s []uint64) {
			s[0] = hostCheckJSON(on, mod, uint32(s[0]), uint32(s[1]), uint32(s[2]))
		}), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len", "max_depth").
		Export("check_json").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, s []uint64) {
			s[0] = hostHMACSHA1(on, mod, uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3]), uint32(s[4]))
		}), []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("key_ptr", "key_len", "msg_ptr", "msg_len", "out_ptr").
		Export("hmac_sha1").
		Instantiate(ctx)
	return err
}

// maxHostDepth bounds the nesting the host scans for a guest: the scan
// recurses, and the proxy's stack is not the guest's to exhaust (the core
// asks for jsonscan.DefaultMaxDepth, 64).
const maxHostDepth = 1024

// hostCalls counts the primitives answered, for tests.
var hostCalls atomic.Int64

var scanners = sync.Pool{New: func() any { return new(jsonscan.Scanner) }}

func hostCheckJSON(on *atomic.Bool, mod api.Module, ptr, n, maxDepth uint32) uint64 {
	if !on.Load() {
		return checkNotProvided
	}
	b, ok := mod.Memory().Read(ptr, n) // a view of guest memory, not a copy
	if !ok || maxDepth == 0 || maxDepth > maxHostDepth {
		return checkNotProvided
	}
	hostCalls.Add(1)
	s := scanners.Get().(*jsonscan.Scanner)
	s.MaxDepth = int(maxDepth)
	valid := s.Check(b) == nil
	scanners.Put(s)
	if valid {
		return checkValid
	}
	return checkInvalid
}

// hostMAC is a keyed HMAC-SHA1 kept for its key: signing with the same
// control key only resets it.
type hostMAC struct {
	key []byte
	h   hash.Hash
}

var macs = sync.Pool{New: func() any { return new(hostMAC) }}

func hostHMACSHA1(on *atomic.Bool, mod api.Module, keyPtr, keyLen, msgPtr, msgLen, out uint32) uint64 {
	if !on.Load() {
		return hmacNotProvided
	}
	mem := mod.Memory()
	key, ok1 := mem.Read(keyPtr, keyLen)
	msg, ok2 := mem.Read(msgPtr, msgLen)
	dst, ok3 := mem.Read(out, sha1.Size)
	if !ok1 || !ok2 || !ok3 || keyLen == 0 {
		return hmacNotProvided
	}
	hostCalls.Add(1)
	m := macs.Get().(*hostMAC)
	if m.h == nil || subtle.ConstantTimeCompare(m.key, key) != 1 {
		m.key = append(m.key[:0], key...)
		m.h = hmac.New(sha1.New, m.key)
	} else {
		m.h.Reset()
	}
	m.h.Write(msg)
	var sum [sha1.Size]byte
	copy(dst, m.h.Sum(sum[:0]))
	macs.Put(m)
	return hmacDone
}
