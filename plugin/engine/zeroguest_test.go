//go:build kassa_zeroguest

package engine

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
)

// TestZeroGuest: in the experiment build the wasm engine's Check sale
// calls give the native answers without entering the guest, so the load
// test's checks are real ones and cost the guest nothing. A call that
// enters the guest leaves its input in the instance's memory: a marker in
// the body and in the signed values must not be there. Run by make test
// (go test -tags kassa_zeroguest).
func TestZeroGuest(t *testing.T) {
	ctx := context.Background()
	w, instances := tracked(t, WasmConfig{MaxInstances: 1})
	defer w.Close(ctx)
	const marker = "zeroguest-marker-5be1c07a"
	example := spec.Lookup("payneteasy.check-sale").Example
	good := []byte(strings.Replace(example, `"nonce":"`, `"nonce":"`+marker, 1))
	bad := []byte(strings.Replace(string(good), `"nonce"`, `"nonce":7,"x"`, 1))
	if bytes.Equal(good, []byte(example)) {
		t.Fatal("the marker is not in the body")
	}
	tape := make([]jsonscan.Entry, 64)
	for i, body := range [][]byte{good, bad} {
		n := jsonscan.Index(string(body), tape)
		rw, errW := w.ValidateIndexed(ctx, "payneteasy.check-sale", body, tape[:n])
		rn, errN := sharedN.Validate(ctx, "payneteasy.check-sale", body)
		if errW != nil || errN != nil || !reflect.DeepEqual(rw, rn) || rw.Valid != (i == 0) {
			t.Errorf("%s: wasm %+v %v, native %+v %v", body, rw, errW, rn, errN)
		}
	}
	v := checkSaleValues
	v[sign.Nonce] = marker
	sw, errW := w.SignValues(ctx, "dapi.check-sale", checkSaleKey, &v)
	sn, errN := sharedN.SignValues(ctx, "dapi.check-sale", checkSaleKey, &v)
	if errW != nil || errN != nil || sw != sn {
		t.Errorf("SignValues: wasm %+v %v, native %+v %v", sw, errW, sn, errN)
	}
	all := instances()
	if len(all) != 1 {
		t.Fatalf("%d instances, want the engine's first", len(all))
	}
	mem, ok := all[0].mem.Read(0, all[0].mem.Size())
	if !ok {
		t.Fatal("reading the instance's memory")
	}
	if bytes.Contains(mem, []byte(marker)) {
		t.Error("the marker is in the instance's memory: a call entered the guest")
	}
}
