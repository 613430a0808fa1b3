package sign

import (
	"unsafe"

	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// vectors is ../shared/spec/vectors.json; a copy is kept in testdata so
// the repository tests itself without the workplace around it.
type vectors struct {
	ControlKey string `json:"controlKey"`
	DAPI       []struct {
		Operation    string          `json:"operation"`
		Fields       json.RawMessage `json:"fields"`
		StringToSign string          `json:"stringToSign"`
		Signature    string          `json:"signature"`
	} `json:"dapi"`
	Classic []struct {
		Operation    string          `json:"operation"`
		Fields       json.RawMessage `json:"fields"`
		StringToSign string          `json:"stringToSign"`
		Control      string          `json:"control"`
	} `json:"classic"`
}

// vectorOps maps the vector file's operation names to kassa's.
var vectorOps = map[string]string{
	"initiate-sale":             "dapi.initiate-sale",
	"check-sale":                "dapi.check-sale",
	"card-mapping-notification": "dapi.notification",
	"sale-control":              "classic.sale",
}

func loadVectors(t *testing.T) vectors {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func withKey(fields json.RawMessage, key string) []byte {
	var m map[string]any
	json.Unmarshal(fields, &m)
	m["controlKey"] = key
	b, _ := json.Marshal(m)
	return b
}

func TestVectors(t *testing.T) {
	vec := loadVectors(t)
	var s Signer
	var p Parser
	check := func(name string, fields json.RawMessage, wantSTS, wantSig string) {
		op := Lookup(vectorOps[name])
		if op == nil {
			t.Fatalf("no op for vector %s", name)
		}
		var v Values
		key, err := p.Parse(withKey(fields, vec.ControlKey), &v)
		if err != nil {
			t.Fatal(err)
		}
		sig, sts, err := s.Sign(op, key, &v)
		if err != nil {
			t.Fatal(err)
		}
		if string(sts) != wantSTS || string(sig) != wantSig {
			t.Errorf("%s: got %s / %s, want %s / %s", name, sts, sig, wantSTS, wantSig)
		}
		if ok, _ := s.Verify(op, key, &v, strings.ToLower(wantSig)); !ok {
			t.Errorf("%s: lower-case signature not verified", name)
		}
	}
	for _, d := range vec.DAPI {
		check(d.Operation, d.Fields, d.StringToSign, d.Signature)
	}
	for _, c := range vec.Classic {
		check(c.Operation, c.Fields, c.StringToSign, c.Control)
	}
}

// independent computes a DAPI signature with the standard library only.
func independent(key, msg string) string {
	k, _ := hex.DecodeString(strings.ReplaceAll(key, "-", ""))
	m := hmac.New(sha1.New, k)
	m.Write([]byte(msg))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func TestOperations(t *testing.T) {
	key := "b17f59b4-a7dc-41b4-8ff9-37d986b43d20" // lower case decodes the same
	v := Values{AccessToken: "AT", SerialNumber: "SN", EndpointID: "1111", Nonce: "N", InvoiceID: "INV", AmountCentis: "1000",
		Currency: "EUR", ServerCardID: "SRV", DestinationServerCardID: "DST", Status: "approved", OrderID: "42", ClientOrderID: "C1", Email: "a@b.c", AmountMinor: "1042"}
	want := map[string]string{
		"dapi.initiate-sale":         "ATSN1111NINV1000EUR",
		"dapi.initiate-transfer":     "ATSN1111NINV1000EUR",
		"dapi.initiate-verification": "ATSN1111NINVEUR",
		"dapi.check-sale":            "SNN1111INVSRV",
		"dapi.check-transfer":        "SNNDST1111INVSRV",
		"dapi.check-verification":    "SNN1111INV",
		"dapi.notification":          "N1111INV",
		"classic.callback":           "approved42C1",
		"classic.sale":               "1111C11042a@b.c",
	}
	var s Signer
	for _, op := range Ops {
		sig, sts, err := s.Sign(op, key, &v)
		if err != nil {
			t.Fatal(op.ID, err)
		}
		if op.Scheme == Classic {
			sts = sts[:len(sts)-len(key)]
		}
		if string(sts) != want[op.ID] {
			t.Errorf("%s: string to sign %q, want %q", op.ID, sts, want[op.ID])
		}
		var exp string
		if op.Scheme == DAPI {
			exp = independent(key, want[op.ID])
		} else {
			h := sha1.Sum([]byte(want[op.ID] + key))
			exp = hex.EncodeToString(h[:])
		}
		if string(sig) != exp {
			t.Errorf("%s: %s, want %s", op.ID, sig, exp)
		}
	}
	// Optional parts contribute nothing when absent.
	v2 := v
	v2[ServerCardID], v2[DestinationServerCardID] = "", ""
	sig, sts, _ := s.Sign(Lookup("dapi.check-transfer"), key, &v2)
	if string(sts) != "SNN1111INV" || string(sig) != independent(key, "SNN1111INV") {
		t.Errorf("check-transfer without cards: %s %s", sts, sig)
	}
}

func TestErrors(t *testing.T) {
	var s Signer
	op := Lookup("dapi.check-sale")
	v := Values{SerialNumber: "SN", Nonce: "N", EndpointID: "1", InvoiceID: "I"}
	if _, _, err := s.Sign(op, "", &v); err != ErrNoKey {
		t.Errorf("empty key: %v", err)
	}
	for _, bad := range []string{"XYZ", "ABC", "B17F59B4-A7DC-41B4-8FF9-37D986B43D2"} {
		_, _, err := s.Sign(op, bad, &v)
		if err != ErrBadKey {
			t.Errorf("key %q: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	v[Nonce] = ""
	if _, _, err := s.Sign(op, "AABB", &v); err == nil || err.Error() != "nonce is required" {
		t.Errorf("missing nonce: %v", err)
	}
	var p Parser
	for in, want := range map[string]string{
		`{"serialnumber":"x"}`:      `unknown field "serialnumber"`,
		`{"amountCentis":10.5}`:     "amountCentis must be a string or an integer",
		`{"amountCentis":"10.5"}`:   "amountCentis must be an integer amount in minor units",
		`{"nonce":true}`:            "nonce must be a string or an integer",
		`[1]`:                       "fields must be a JSON object",
		`{"nonce":"a","nonce":"b"}`: "duplicate key",
		`{"nonce":"a"`:              "fields:",
	} {
		var v Values
		_, err := p.Parse([]byte(in), &v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestEqualHex(t *testing.T) {
	w := []byte("6AB5507CD443DCA47A906619E53CF855956D9D64")
	for got, ok := range map[string]bool{
		"6AB5507CD443DCA47A906619E53CF855956D9D64":         true,
		"6ab5507cd443dca47a906619e53cf855956d9d64":         true,
		"6AB5507CD443DCA47A906619E53CF855956D9D65":         false,
		"6AB5507CD443DCA47A906619E53CF855956D9D6":          false,
		"\x16AB5507CD443DCA47A906619E53CF855956D9D64"[1:]:  false,
		"\x16" + "AB5507CD443DCA47A906619E53CF855956D9D64": false,
	} {
		if EqualHex(w, got) != ok {
			t.Errorf("EqualHex(%q) != %v", got, ok)
		}
	}
}

func FuzzSign(f *testing.F) {
	f.Add("dapi.check-sale", []byte(`{"controlKey":"B17F59B4-A7DC-41B4-8FF9-37D986B43D20","serialNumber":"abcd","nonce":"n","endpointId":1,"invoiceId":"i"}`))
	f.Fuzz(func(t *testing.T, opID string, body []byte) {
		op := Lookup(opID)
		if op == nil {
			op = Ops[len(body)%len(Ops)]
		}
		var p Parser
		var s Signer
		var v Values
		key, err := p.Parse(body, &v)
		if err != nil {
			return
		}
		sig, sts, err := s.Sign(op, key, &v)
		if err != nil {
			return
		}
		if op.Scheme == DAPI && string(sig) != independent(key, string(sts)) {
			t.Fatalf("signature differs from an independent HMAC: %s", body)
		}
	})
}

// The keyed state must not be reused for a different key that sits at the
// same address of a reused buffer.
func TestKeyBufferReuse(t *testing.T) {
	var s Signer
	op := Lookup("dapi.notification")
	v := Values{Nonce: "n", EndpointID: "e", InvoiceID: "i"}
	buf := []byte("00000000000000000000000000000000")
	sig1, _, _ := s.Sign(op, unsafeString(buf), &v)
	want1 := independent(string(buf), "nei")
	copy(buf, "11111111111111111111111111111111")
	sig2, _, _ := s.Sign(op, unsafeString(buf), &v)
	if string(sig2) != independent("11111111111111111111111111111111", "nei") || want1 == string(sig2) {
		t.Fatalf("signed with a stale key: %s", sig2)
	}
	_ = sig1
}

func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }

// TestEncodeHex checks the word-at-a-time hex encoder against
// encoding/hex on every byte value in every position, in both cases.
func TestEncodeHex(t *testing.T) {
	for b := 0; b < 256; b++ {
		var src [sha1Size]byte
		for i := range src {
			src[i] = byte(b + 37*i)
		}
		var dst [2 * sha1Size]byte
		encodeHex(&dst, &src, lowerHex)
		if want := hex.EncodeToString(src[:]); string(dst[:]) != want {
			t.Fatalf("lower %x: got %s", src, dst)
		}
		encodeHex(&dst, &src, upperHex)
		if want := strings.ToUpper(hex.EncodeToString(src[:])); string(dst[:]) != want {
			t.Fatalf("upper %x: got %s", src, dst)
		}
	}
}
