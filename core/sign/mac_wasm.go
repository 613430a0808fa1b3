//go:build wasm

package sign

// The wasm build uses sha1.go (see there why).

type mac struct {
	h   *hmacSHA1
	key []byte // for HostHMAC
}

func newMAC(key []byte) mac { return mac{newHMACSHA1(key), append([]byte(nil), key...)} }

func (m mac) sum(msg []byte, out *[sha1Size]byte) {
	if HostHMAC != nil && HostHMAC(m.key, msg, out) {
		return
	}
	m.h.sum(msg, out)
}

func sha1Sum(msg []byte) [sha1Size]byte { return pureSHA1(msg) }
