package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"
	"sync/atomic"
	"unsafe"

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
	checkIndexed     = 3 // valid, and the index is written
	hmacNotProvided  = 0 // hmac_sha1
	hmacDone         = 1
)

func instantiateHost(ctx context.Context, rt wazero.Runtime, on *atomic.Bool) error {
	i32 := api.ValueTypeI32
	_, err := rt.NewHostModuleBuilder("kassa_host").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, s []uint64) {
			s[0] = hostCheckJSON(on, mod, uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3]), uint32(s[4]))
		}), []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len", "max_depth", "tape", "tape_cap").
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

// littleEndian: the host's byte order is wasm's, and its Entry layout is
// the ABI's.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1 && unsafe.Sizeof(jsonscan.Entry{}) == jsonscan.EntrySize
}()

// putTape writes index entries in the ABI's layout (wasm/README.md).
func putTape(dst []byte, tape []jsonscan.Entry) {
	if littleEndian {
		// jsonscan.Entry's memory is the ABI's layout on a little-endian
		// host (jsonscan.TestEntryLayout): one copy.
		copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(tape))), len(tape)*jsonscan.EntrySize))
		return
	}
	for i := range tape {
		e, d := &tape[i], dst[i*jsonscan.EntrySize:(i+1)*jsonscan.EntrySize]
		binary.LittleEndian.PutUint64(d[0:], e.Word)
		binary.LittleEndian.PutUint64(d[8:], e.Tail)
		binary.LittleEndian.PutUint32(d[16:], e.Key)
		binary.LittleEndian.PutUint32(d[20:], e.KeyLen)
		binary.LittleEndian.PutUint32(d[24:], e.Val)
		binary.LittleEndian.PutUint32(d[28:], e.End)
		binary.LittleEndian.PutUint32(d[32:], e.Next)
		binary.LittleEndian.PutUint32(d[36:], e.Flags)
	}
}

// maxTape bounds the index the host builds for a guest (entries).
const maxTape = 1 << 16

// hostScan is a host's scratch for check_json: a Scanner and an index.
type hostScan struct {
	s    jsonscan.Scanner
	tape []jsonscan.Entry
}

var scanners = sync.Pool{New: func() any { return new(hostScan) }}

// check checks b as strict JSON (nesting at most maxDepth) and indexes it
// in the same pass into up to tapeCap entries. It returns whether b is
// valid and its index, empty when the entries did not fit. The index is
// h's: valid until h's next use.
func (h *hostScan) check(b []byte, maxDepth, tapeCap int) (bool, []jsonscan.Entry) {
	if len(h.tape) < tapeCap {
		h.tape = make([]jsonscan.Entry, tapeCap)
	}
	h.s.MaxDepth, h.s.Tape = maxDepth, h.tape[:tapeCap]
	if h.s.Check(b) != nil {
		return false, nil
	}
	return true, h.tape[:h.s.Indexed]
}

func hostCheckJSON(on *atomic.Bool, mod api.Module, ptr, n, maxDepth, tapePtr, tapeCap uint32) uint64 {
	if !on.Load() {
		return checkNotProvided
	}
	mem := mod.Memory()
	b, ok := mem.Read(ptr, n) // a view of guest memory, not a copy
	if !ok || maxDepth == 0 || maxDepth > maxHostDepth {
		return checkNotProvided
	}
	hostCalls.Add(1)
	h := scanners.Get().(*hostScan)
	defer scanners.Put(h)
	// The index is built in the same pass, when the guest gave room for
	// one (and kept only if it fits there).
	valid, tape := h.check(b, int(maxDepth), int(min(tapeCap, maxTape)))
	if !valid {
		return checkInvalid
	}
	dst, ok := mem.Read(tapePtr, uint32(len(tape))*jsonscan.EntrySize)
	if len(tape) == 0 || !ok {
		return checkValid
	}
	putTape(dst, tape)
	return checkIndexed
}

// hostMAC is a keyed HMAC-SHA1 kept for its key: signing with the same
// control key only resets it.
type hostMAC struct {
	key []byte
	h   hash.Hash
	sum [sha1.Size]byte // Sum's buffer: a local one escapes (an interface call), one allocation per signature
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
	copy(dst, m.h.Sum(m.sum[:0]))
	macs.Put(m)
	return hmacDone
}
