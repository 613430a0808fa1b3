package engine

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	kwasm "github.com/kassa-edge/kassa/wasm"
)

// TestHostPrimitives: the embedded module gets the host's check_json and
// hmac_sha1; PureGuest and any other module do not, and answer the same.
func TestHostPrimitives(t *testing.T) {
	ctx := context.Background()
	body := []byte(spec.Lookup("payneteasy.check-sale").Example)
	calls := func(w *Wasm) int64 {
		t.Helper()
		before := hostCalls.Load()
		if r, err := w.Validate(ctx, "payneteasy.check-sale", body); err != nil || !r.Valid {
			t.Fatalf("validate: %v %v", r, err)
		}
		if s, err := w.SignValues(ctx, "dapi.check-sale", checkSaleKey, &checkSaleValues); err != nil || s.Value != checkSaleSig {
			t.Fatalf("sign: %v %v", s, err)
		}
		if s, err := w.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil || s.Value != checkSaleSig {
			t.Fatalf("sign: %v %v", s, err)
		}
		return hostCalls.Load() - before
	}
	if n := calls(sharedW); n < 4 { // validate's check, SignValues' HMAC, Sign's fields check and HMAC
		t.Errorf("embedded module: %d host primitive calls, want at least 4", n)
	}
	if n := calls(sharedP); n != 0 {
		t.Errorf("PureGuest: %d host primitive calls", n)
	}
	// The same code with other bytes (a custom section appended) is not
	// the embedded module: the host cannot vouch for its rules.
	other := append(append([]byte(nil), kwasm.Module...), 0, 7, 5, 'o', 't', 'h', 'e', 'r', 1)
	w, err := NewWasm(ctx, WasmConfig{Module: other, CacheDir: cacheDir, MaxInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	if n := calls(w); n != 0 {
		t.Errorf("another module: %d host primitive calls", n)
	}
	// An invalid body: the host says "invalid", the guest scans for the
	// error's details; both engines agree with the native core.
	checkSame(t, FuncValidate, "payneteasy.check-sale", []byte(`{"a":1,"a":2}`))
	// More values than the index the host writes into the guest (guestTape):
	// the guest checks and walks the body itself.
	big := "[" + strings.Repeat(`{"id":"x"},`, guestTape) + `{"id":"x"}]`
	checkSame(t, FuncValidate, "smarts.product-search-name.response", []byte(big))
}

// TestSignValuesRefusesBadAmounts: an amount that is not digits is refused
// by every engine alike, as in the JSON and binary forms.
func TestSignValuesRefusesBadAmounts(t *testing.T) {
	ctx := context.Background()
	for _, amt := range []string{"-5", "12.5", "1e3", " 1", "１"} {
		v := checkSaleValues
		v[sign.AmountCentis] = amt
		for _, e := range []Engine{sharedN, sharedW, sharedP} {
			_, err := e.SignValues(ctx, "dapi.initiate-sale", checkSaleKey, &v)
			var ce *CoreError
			if !errors.As(err, &ce) || ce.Message != "amountCentis must be an integer amount in minor units" {
				t.Errorf("%s: amountCentis %q: %v", e.Name(), amt, err)
			}
		}
	}
}

// decodeSignatureOnly recognises the core's signature answer without a
// parse and gives anything else to gjson: both ways agree.
func TestDecodeSignatureOnly(t *testing.T) {
	hex40 := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		out  string
		want string
		err  bool
	}{
		{`{"signature":"` + hex40 + `"}`, hex40, false},
		{`{"signature":"` + strings.ToUpper(hex40) + `"}`, strings.ToUpper(hex40), false},
		{`{"signature":"\u0030` + hex40[1:] + `"}`, "0" + hex40[1:], false},
		{`{"signature": "` + hex40 + `"}`, hex40, false},
		{`{"signature":"abc"}`, "abc", false},
		{`{"signature":1}`, "", true},
		{`{"error":"bad key"}`, "", true},
		{`{}`, "", true},
	} {
		got, err := decodeSignatureOnly([]byte(c.out))
		if (err != nil) != c.err || got.Value != c.want {
			t.Errorf("%s: %q, %v", c.out, got.Value, err)
		}
	}
}

// TestValidateIndexed: over the caller's index the wasm engine asks the
// host for no check (it has one), and answers as over its own; an index
// larger than the guest's buffer (guestTape), or none, makes it Validate.
func TestValidateIndexed(t *testing.T) {
	ctx := context.Background()
	body := []byte(spec.Lookup("payneteasy.check-sale").Example)
	tape := make([]jsonscan.Entry, 64)
	n := jsonscan.Index(string(body), tape)
	if n == 0 {
		t.Fatal("the example did not index")
	}
	before := hostCalls.Load()
	r, err := sharedW.ValidateIndexed(ctx, "payneteasy.check-sale", body, tape[:n])
	if err != nil || !r.Valid {
		t.Fatalf("ValidateIndexed: %+v %v", r, err)
	}
	if d := hostCalls.Load() - before; d != 0 {
		t.Errorf("ValidateIndexed over the caller's index: %d host primitive calls, want 0", d)
	}
	before = hostCalls.Load()
	if r, err := sharedW.Validate(ctx, "payneteasy.check-sale", body); err != nil || !r.Valid {
		t.Fatalf("Validate: %+v %v", r, err)
	}
	if d := hostCalls.Load() - before; d != 1 {
		t.Errorf("Validate: %d host primitive calls, want 1 (its own check)", d)
	}
	// A body that breaks a rule, over its index: the same violations.
	bad := []byte(strings.Replace(string(body), `"nonce"`, `"nonce":7,"x"`, 1))
	n = jsonscan.Index(string(bad), tape)
	for _, e := range []Engine{sharedN, sharedW} {
		ri, err1 := e.ValidateIndexed(ctx, "payneteasy.check-sale", bad, tape[:n])
		rv, err2 := e.Validate(ctx, "payneteasy.check-sale", bad)
		if err1 != nil || err2 != nil || ri.Valid || !reflect.DeepEqual(ri, rv) {
			t.Errorf("%s: invalid body over its index %+v %v, Validate %+v %v", e.Name(), ri, err1, rv, err2)
		}
	}
	// Too many entries for the guest: it validates by its own check.
	big := []byte("[" + strings.Repeat(`{"id":"x"},`, guestTape) + `{"id":"x"}]`)
	huge := make([]jsonscan.Entry, 2*guestTape+4)
	if n = jsonscan.Index(string(big), huge); n <= guestTape {
		t.Fatalf("big body: %d entries", n)
	}
	ri, err1 := sharedW.ValidateIndexed(ctx, "smarts.product-search-name.response", big, huge[:n])
	rv, err2 := sharedN.Validate(ctx, "smarts.product-search-name.response", big)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(ri, rv) {
		t.Errorf("an index over guestTape: %+v %v, native %+v %v", ri, err1, rv, err2)
	}
}
