// Command guest times the core's parts inside one process, so the same
// code can be measured natively and as a WebAssembly command under wazero,
// without the engine around it (no export entry, no copies):
//
//	go run ./bench/guest
//	GOOS=wasip1 GOARCH=wasm go build -o /tmp/guest.wasm ./bench/guest && go run ./bench/wasirun /tmp/guest.wasm
//
// or `make bench-guest`. Results are in BENCHMARKS.md.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
	"github.com/tidwall/gjson"
)

func bench(name string, n int, f func()) {
	for i := 0; i < n/10; i++ {
		f()
	}
	t := time.Now()
	for i := 0; i < n; i++ {
		f()
	}
	fmt.Fprintf(os.Stdout, "%-28s %8.0f ns\n", name, float64(time.Since(t).Nanoseconds())/float64(n))
}

func walk(r gjson.Result) int {
	n := 1
	if !r.IsObject() && !r.IsArray() {
		return 1
	}
	r.ForEach(func(k, v gjson.Result) bool {
		n += walk(v)
		return true
	})
	return n
}

func main() {
	c := core.New()
	var sc jsonscan.Scanner
	var v validate.Validator
	var p sign.Parser
	var vals sign.Values
	body := []byte(spec.Lookup("payneteasy.check-sale").Example)
	inv := []byte(spec.Lookup("smarts.invoice").Example)
	fields := []byte(`{"controlKey":"B17F59B4-A7DC-41B4-8FF9-37D986B43D20","serialNumber":"abcd","nonce":"5678xyz","endpointId":"1111","invoiceId":"someUuid"}`)
	n := 20000
	bench("core.Validate check-sale", n, func() { c.Validate("payneteasy.check-sale", body) })
	bench("validate.Validate", n, func() { v.Validate("payneteasy.check-sale", body) })
	bench("jsonscan.Check", n, func() { sc.Check(body) })
	bench("gjson walk", n, func() { walk(gjson.ParseBytes(body)) })
	bench("gjson.GetBytes 1 path", n, func() { gjson.GetBytes(body, "session.signature") })
	bench("core.Validate invoice", n/10, func() { c.Validate("smarts.invoice", inv) })
	bench("jsonscan.Check invoice", n/10, func() { sc.Check(inv) })
	bench("gjson walk invoice", n/10, func() { walk(gjson.ParseBytes(inv)) })
	bench("core.Sign", n, func() { c.Sign("dapi.check-sale", fields) })
	bench("sign.Parser.Parse", n, func() { p.Parse(fields, &vals) })
	bench("core.Validate unknown", n, func() { c.Validate("nope", body) })
	bench("spec.Lookup", n, func() { spec.Lookup("payneteasy.check-sale") })
}
