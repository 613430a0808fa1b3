package sign

import (
	"bytes"
	"strings"
	"testing"
)

func TestBinaryRoundTrip(t *testing.T) {
	var v Values
	v[SerialNumber], v[Nonce], v[EndpointID], v[InvoiceID] = "abcd", "5678xyz", "1111", "some\x00Uuid é"
	key := "B17F59B4-A7DC-41B4-8FF9-37D986B43D20"
	b := AppendBinary(nil, key, &v)
	if len(b) != BinarySize(key, &v) {
		t.Fatalf("BinarySize %d, AppendBinary wrote %d", BinarySize(key, &v), len(b))
	}
	var got Values
	k, err := ParseBinary(b, &got)
	if err != nil || k != key || got != v {
		t.Fatalf("round trip: %q %v %q", k, err, got)
	}
	// The same values as JSON fields sign the same.
	var s1, s2 Signer
	op := Lookup("dapi.check-sale")
	sig1, _, err1 := s1.Sign(op, k, &got)
	var p Parser
	var fromJSON Values
	k2, _ := p.Parse([]byte(`{"controlKey":"`+key+`","serialNumber":"abcd","nonce":"5678xyz","endpointId":"1111","invoiceId":"some\u0000Uuid é"}`), &fromJSON)
	sig2, _, err2 := s2.Sign(op, k2, &fromJSON)
	if err1 != nil || err2 != nil || !bytes.Equal(sig1, sig2) {
		t.Fatalf("binary %s %v, JSON %s %v", sig1, err1, sig2, err2)
	}
}

func TestBinaryRefused(t *testing.T) {
	rec := func(tag byte, s string) []byte { return appendRecord(nil, tag, s) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"short header", []byte{KeyTag, 1, 0}, "truncated"},
		{"length past the end", rec(KeyTag, "abcd")[:7], "truncated"},
		{"huge length", []byte{0, 0xff, 0xff, 0xff, 0xff, 'x'}, "truncated"},
		{"unknown tag", rec(byte(NumFields), "x"), "unknown binary tag"},
		{"tag twice", cat(rec(byte(Nonce), "a"), rec(byte(Nonce), "b")), "given twice"},
		{"key twice", cat(rec(KeyTag, "00"), rec(KeyTag, "11")), "given twice"},
		{"amount not digits", rec(byte(AmountCentis), "12.5"), "integer amount"},
	} {
		var v Values
		if _, err := ParseBinary(c.in, &v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	var v Values
	if k, err := ParseBinary(nil, &v); err != nil || k != "" || v != (Values{}) {
		t.Errorf("empty input: %q %v %v", k, err, v)
	}
}

// FuzzBinary: no input makes ParseBinary panic, and what it accepts
// encodes back to an input it reads the same way.
func FuzzBinary(f *testing.F) {
	var v Values
	v[Nonce], v[AmountCentis] = "n", "100"
	f.Add(AppendBinary(nil, "00ff", &v))
	f.Add([]byte{KeyTag, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		var a, b Values
		k, err := ParseBinary(in, &a)
		if err != nil {
			return
		}
		k2, err := ParseBinary(AppendBinary(nil, k, &a), &b)
		if err != nil || k2 != k || a != b {
			t.Fatalf("%q: re-encoded reads %q %v %q, first %q %q", in, k2, err, b, k, a)
		}
	})
}
