//go:build !wasm

package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"hash"
)

// The native build uses the standard library, with its assembly.

type mac struct{ h hash.Hash }

func newMAC(key []byte) mac { return mac{hmac.New(sha1.New, key)} }

func (m mac) sum(msg []byte, out *[sha1Size]byte) {
	m.h.Reset()
	m.h.Write(msg)
	m.h.Sum(out[:0])
}

func sha1Sum(msg []byte) [sha1Size]byte { return sha1.Sum(msg) }
