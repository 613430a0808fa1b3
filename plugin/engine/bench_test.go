package engine

import (
	"context"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
)

// Run with
//
//	go test -run XXX -bench . -benchtime 2s ./plugin/engine/

// benchEngine names an engine for the benchmarks: native, wasm (with the
// host primitives, as the proxy runs it) and wasm-pure (without them, as a
// browser runs it).
type benchEngine struct {
	name string
	Engine
}

func engines() []benchEngine {
	return []benchEngine{{"native", sharedN}, {"wasm", sharedW}, {"wasm-pure", sharedP}}
}

// checkSaleValues are checkSaleFields as the proxy holds them.
var checkSaleKey, checkSaleValues = func() (string, sign.Values) {
	var v sign.Values
	v[sign.SerialNumber], v[sign.Nonce], v[sign.EndpointID], v[sign.InvoiceID] = "abcd", "5678xyz", "1111", "someUuid"
	return "B17F59B4-A7DC-41B4-8FF9-37D986B43D20", v
}()

// checkSale is one Check sale, as the proxy makes it: validate the
// gateway's request, sign the answer from the values the proxy holds.
func checkSale(b *testing.B, ctx context.Context, e Engine, body []byte) {
	r, err := e.Validate(ctx, "payneteasy.check-sale", body)
	if err != nil || !r.Valid {
		b.Fatal(r, err)
	}
	s, err := e.SignValues(ctx, "dapi.check-sale", checkSaleKey, &checkSaleValues)
	if err != nil || s.Value != checkSaleSig {
		b.Fatal(s, err)
	}
}

// BenchmarkCheckSale is the proxy's hot path for a DAPI Check sale,
// called as the proxy calls it: validate the gateway's request, sign the
// answer from the values the proxy holds (SignValues).
func BenchmarkCheckSale(b *testing.B) {
	ctx := context.Background()
	body := []byte(spec.Lookup("payneteasy.check-sale").Example)
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				checkSale(b, ctx, e, body)
			}
		})
	}
}

// BenchmarkCheckSaleRatio measures the figure, wasm / native for
// BenchmarkCheckSale, with the two engines interleaved in batches of 200
// calls: on a shared machine the speed drifts by tens of percent over
// seconds, and a ratio of two figures taken seconds apart drifts with it.
// It reports both per-call times and their ratio.
func BenchmarkCheckSaleRatio(b *testing.B) {
	ctx := context.Background()
	body := []byte(spec.Lookup("payneteasy.check-sale").Example)
	run := func(e Engine, n int) time.Duration {
		t := time.Now()
		for range n {
			checkSale(b, ctx, e, body)
		}
		return time.Since(t)
	}
	run(sharedN, 200) // warm both
	run(sharedW, 200)
	var tn, tw time.Duration
	calls := 0
	for b.Loop() {
		tn += run(sharedN, 200)
		tw += run(sharedW, 200)
		calls += 200
	}
	b.ReportMetric(float64(tn.Nanoseconds())/float64(calls), "native-ns/op")
	b.ReportMetric(float64(tw.Nanoseconds())/float64(calls), "wasm-ns/op")
	b.ReportMetric(float64(tw)/float64(tn), "wasm/native")
}

// BenchmarkCheckSaleParallel is BenchmarkCheckSale from GOMAXPROCS
// goroutines (the wasm engine's pool has 4 instances).
func BenchmarkCheckSaleParallel(b *testing.B) {
	ctx := context.Background()
	body := []byte(spec.Lookup("payneteasy.check-sale").Example)
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Validate(ctx, "payneteasy.check-sale", body); err != nil {
						b.Error(err)
						return
					}
					if _, err := e.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkValidate validates a few endpoints' examples, and one invalid
// body (decoding violations).
func BenchmarkValidate(b *testing.B) {
	ctx := context.Background()
	cases := []struct{ name, id, body string }{
		{"payneteasy.check-sale", "payneteasy.check-sale", spec.Lookup("payneteasy.check-sale").Example},
		{"payneteasy.perform-sale", "payneteasy.perform-sale", spec.Lookup("payneteasy.perform-sale").Example},
		{"smarts.invoice", "smarts.invoice", spec.Lookup("smarts.invoice").Example},
		{"voyado.storefront.click", "voyado.storefront.click", spec.Lookup("voyado.storefront.click").Example},
		{"invalid", "payneteasy.check-sale", `{"consumer":{"device":{"serialNumber":""}},"session":{"accessToken":1}}`},
	}
	for _, e := range engines() {
		for _, c := range cases {
			body := []byte(c.body)
			b.Run(e.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					if _, err := e.Validate(ctx, c.id, body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSign signs a Check sale answer (DAPI, HMAC-SHA1) from a JSON
// fields object (Sign, as the CLI and the JavaScript API do) and from
// values (SignValues, as the proxy does).
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	for _, e := range engines() {
		b.Run(e.name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Sign(ctx, "dapi.check-sale", checkSaleFields); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(e.name+"/values", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.SignValues(ctx, "dapi.check-sale", checkSaleKey, &checkSaleValues); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCall is the bare cost of a call into an instance: the export
// kassa_version, no input, no decoding.
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	in, err := sharedW.take(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer sharedW.put(in)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.info(ctx, exportVersion); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawExport calls the guest's exports directly on an instance,
// inputs already in its buffer, answer not copied: the guest's own cost.
// The difference to BenchmarkValidate/wasm and BenchmarkSign/wasm is the
// engine's host-side overhead.
func BenchmarkRawExport(b *testing.B) {
	ctx := context.Background()
	in, err := sharedW.take(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer sharedW.put(in)
	run := func(fn Func, a string, p []byte) func(b *testing.B) {
		return func(b *testing.B) {
			dst, ok := in.mem.Read(in.buf, uint32(len(a)+len(p)))
			if !ok {
				b.Fatal("buffer")
			}
			copy(dst, a)
			copy(dst[len(a):], p)
			s := in.stack
			b.ReportAllocs()
			for b.Loop() {
				s[0], s[1] = uint64(in.buf), uint64(len(a))
				s[2], s[3] = uint64(in.buf)+uint64(len(a)), uint64(len(p))
				if err := in.fns[fn].CallWithStack(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("validate/payneteasy.check-sale", run(FuncValidate, "payneteasy.check-sale", []byte(spec.Lookup("payneteasy.check-sale").Example)))
	b.Run("validate/unknown-endpoint", run(FuncValidate, "x", nil))
	// Same buffer every time: only safe here because the key never changes.
	b.Run("sign/dapi.check-sale", run(FuncSign, "dapi.check-sale", checkSaleFields))
}
