package sign

import (
	"encoding/binary"
	"math/bits"
)

// A small SHA-1 for the WebAssembly build. crypto/sha1 links Go's FIPS 140
// module (SHA-2, SHA-3, DRBG), which adds about 570 KB to kassa.wasm and
// would push it over its 4 MiB budget. The native build keeps crypto/sha1
// and its assembly (mac_native.go); tests check this implementation
// against crypto/sha1 on every length from 0 to 300 bytes and by fuzzing,
// and the signature vectors run in both builds.

const (
	sha1Size  = 20
	sha1Block = 64
)

// sha1State is a running SHA-1. The zero value is not ready: use reset.
type sha1State struct {
	h   [5]uint32
	x   [sha1Block]byte
	nx  int
	len uint64
}

func (d *sha1State) reset() {
	d.h = [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}
	d.nx, d.len = 0, 0
}

func (d *sha1State) write(p []byte) {
	d.len += uint64(len(p))
	if d.nx > 0 {
		n := copy(d.x[d.nx:], p)
		d.nx += n
		if d.nx == sha1Block {
			d.block(d.x[:])
			d.nx = 0
		}
		p = p[n:]
	}
	for len(p) >= sha1Block {
		d.block(p[:sha1Block])
		p = p[sha1Block:]
	}
	if len(p) > 0 {
		d.nx = copy(d.x[:], p)
	}
}

// sum finishes a copy of d and writes the digest to out.
func (d sha1State) sum(out *[sha1Size]byte) {
	n := d.len
	var pad [sha1Block + 8]byte
	pad[0] = 0x80
	k := 56 - int(n%64)
	if k <= 0 {
		k += 64
	}
	binary.BigEndian.PutUint64(pad[k:], n<<3)
	d.write(pad[:k+8])
	for i, v := range d.h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
}

func (d *sha1State) block(p []byte) {
	var w [16]uint32
	for i := range w {
		w[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	a, b, c, dd, e := d.h[0], d.h[1], d.h[2], d.h[3], d.h[4]
	for i := 0; i < 80; i++ {
		if i >= 16 {
			t := w[(i-3)&15] ^ w[(i-8)&15] ^ w[(i-14)&15] ^ w[i&15]
			w[i&15] = bits.RotateLeft32(t, 1)
		}
		var f, k uint32
		switch {
		case i < 20:
			f, k = b&c|^b&dd, 0x5A827999
		case i < 40:
			f, k = b^c^dd, 0x6ED9EBA1
		case i < 60:
			f, k = b&c|b&dd|c&dd, 0x8F1BBCDC
		default:
			f, k = b^c^dd, 0xCA62C1D6
		}
		t := bits.RotateLeft32(a, 5) + f + e + w[i&15] + k
		a, b, c, dd, e = t, a, bits.RotateLeft32(b, 30), c, dd
	}
	d.h[0] += a
	d.h[1] += b
	d.h[2] += c
	d.h[3] += dd
	d.h[4] += e
}

// hmacSHA1 is HMAC-SHA1 with the keyed inner and outer states computed
// once, so each signature hashes only the message and one outer block.
type hmacSHA1 struct {
	inner, outer sha1State
}

func newHMACSHA1(key []byte) *hmacSHA1 {
	var k [sha1Block]byte
	if len(key) > sha1Block {
		var d sha1State
		d.reset()
		d.write(key)
		var s [sha1Size]byte
		d.sum(&s)
		copy(k[:], s[:])
	} else {
		copy(k[:], key)
	}
	m := &hmacSHA1{}
	m.inner.reset()
	m.outer.reset()
	for i := range k {
		k[i] ^= 0x36
	}
	m.inner.write(k[:])
	for i := range k {
		k[i] ^= 0x36 ^ 0x5c
	}
	m.outer.write(k[:])
	return m
}

func (m *hmacSHA1) sum(msg []byte, out *[sha1Size]byte) {
	in := m.inner
	in.write(msg)
	var s [sha1Size]byte
	in.sum(&s)
	o := m.outer
	o.write(s[:])
	o.sum(out)
}

func pureSHA1(msg []byte) (out [sha1Size]byte) {
	var d sha1State
	d.reset()
	d.write(msg)
	d.sum(&out)
	return out
}
