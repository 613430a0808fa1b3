//go:build kassa_zeroguest

package engine

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

// TestZeroGuest: in the experiment build the wasm engine's Check sale
// calls give the native answers without entering the guest (a signature
// made in the guest asks the host's hmac_sha1), so the load test's checks
// are real ones. Run by make test: go test -tags kassa_zeroguest.
func TestZeroGuest(t *testing.T) {
	ctx := context.Background()
	good := []byte(spec.Lookup("payneteasy.check-sale").Example)
	bad := []byte(strings.Replace(string(good), `"nonce"`, `"nonce":7,"x"`, 1))
	tape := make([]jsonscan.Entry, 64)
	for _, body := range [][]byte{good, bad} {
		n := jsonscan.Index(string(body), tape)
		rw, errW := sharedW.ValidateIndexed(ctx, "payneteasy.check-sale", body, tape[:n])
		rn, errN := sharedN.Validate(ctx, "payneteasy.check-sale", body)
		if errW != nil || errN != nil || !reflect.DeepEqual(rw, rn) {
			t.Errorf("%s: wasm %+v %v, native %+v %v", body, rw, errW, rn, errN)
		}
	}
	before := hostCalls.Load()
	s, err := sharedW.SignValues(ctx, "dapi.check-sale", checkSaleKey, &checkSaleValues)
	if err != nil || s.Value != checkSaleSig {
		t.Fatalf("SignValues: %+v %v, want %s", s, err, checkSaleSig)
	}
	if d := hostCalls.Load() - before; d != 0 {
		t.Errorf("SignValues made %d host primitive calls: the guest signed", d)
	}
}
