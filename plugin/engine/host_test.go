package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

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
