package engine

import (
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
)

// FuzzEngines feeds arbitrary (function, endpoint or operation, input) to
// both engines: the raw answers must be byte-identical, the decoded ones
// equal, and the wasm engine must never fail other than with a CoreError
// (no trap, no malformed answer). Run it with
//
//	go test -run XXX -fuzz FuzzEngines ./plugin/engine/
func FuzzEngines(f *testing.F) {
	for _, ep := range spec.All() {
		f.Add(uint8(FuncValidate), ep.ID, []byte(ep.Example))
	}
	f.Add(uint8(FuncValidateQuery), "payneteasy.callback",
		[]byte("status=approved&orderid=1&client_orderid=c1&control="+strings.Repeat("ab", 20)))
	f.Add(uint8(FuncValidateQuery), "voyado.end", []byte("a=%ff&b=%zz&&="))
	_, vecs := loadVectors(f)
	for _, v := range vecs {
		f.Add(uint8(FuncSign), v.op, v.fields)
		f.Add(uint8(FuncStringToSign), v.op, v.fields)
	}
	for _, op := range sign.Ops {
		f.Add(uint8(FuncSign), op.ID, []byte(`{"controlKey":"00","serialNumber":1,"nonce":null}`))
	}
	f.Fuzz(func(t *testing.T, fn uint8, name string, body []byte) {
		checkSame(t, Func(fn%uint8(numFuncs)), name, body)
	})
}
