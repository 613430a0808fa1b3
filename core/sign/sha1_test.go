package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"testing"
)

// The wasm build's SHA-1 and HMAC (sha1.go) against the standard library.

func TestPureSHA1(t *testing.T) {
	msg := make([]byte, 300)
	for i := range msg {
		msg[i] = byte(i*7 + 3)
	}
	for n := 0; n <= len(msg); n++ {
		if pureSHA1(msg[:n]) != sha1.Sum(msg[:n]) {
			t.Fatalf("SHA-1 differs at length %d", n)
		}
	}
	for _, klen := range []int{0, 1, 16, 63, 64, 65, 200} {
		key := msg[:klen]
		m := newHMACSHA1(key)
		for n := 0; n <= 200; n += 7 {
			var got [20]byte
			m.sum(msg[n:n+n/2], &got) // the same keyed state, reused
			h := hmac.New(sha1.New, key)
			h.Write(msg[n : n+n/2])
			if string(got[:]) != string(h.Sum(nil)) {
				t.Fatalf("HMAC differs: key %d bytes, message %d bytes", klen, n)
			}
		}
	}
}

func FuzzPureHMAC(f *testing.F) {
	f.Add([]byte("key"), []byte("message"))
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		var got [20]byte
		newHMACSHA1(key).sum(msg, &got)
		h := hmac.New(sha1.New, key)
		h.Write(msg)
		if string(got[:]) != string(h.Sum(nil)) {
			t.Fatalf("HMAC differs for key %x msg %x", key, msg)
		}
	})
}
