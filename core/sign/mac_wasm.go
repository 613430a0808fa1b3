//go:build wasm

package sign

// The wasm build uses sha1.go (see there why).

type mac struct{ h *hmacSHA1 }

func newMAC(key []byte) mac { return mac{newHMACSHA1(key)} }

func (m mac) sum(msg []byte, out *[sha1Size]byte) { m.h.sum(msg, out) }

func sha1Sum(msg []byte) [sha1Size]byte { return pureSHA1(msg) }
