package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// The module is compiled once for the whole package (about two seconds):
// TestMain builds the shared engines, in a temporary cache directory that
// the other tests reuse.
var (
	cacheDir  string
	sharedW   *Wasm
	sharedP   *Wasm // the pure guest: no host primitives, as in a browser
	sharedN   Engine
	firstTook time.Duration
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kassa-engine-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cacheDir = dir
	ctx := context.Background()
	sharedW, err = NewWasm(ctx, testConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, "NewWasm:", err)
		return 1
	}
	firstTook = sharedW.comp.CompileTime()
	sharedP, err = NewWasm(ctx, WasmConfig{CacheDir: cacheDir, MaxInstances: 2, PureGuest: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "NewWasm (pure):", err)
		return 1
	}
	defer sharedP.Close(ctx)
	sharedN = NewNative()
	code := m.Run()
	if err := sharedW.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Close:", err)
		code = 1
	}
	return code
}

// testConfig is the configuration of the shared engine; engines made from
// it reuse the shared Compiled.
func testConfig() WasmConfig {
	return WasmConfig{CacheDir: cacheDir, MaxInstances: 4}
}

// vectors mirrors core/sign/testdata/vectors.json.
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

// vector is one published signature with its fields as kassa takes them.
type vector struct {
	op, sts, sig string
	classic      bool
	fields       []byte // with controlKey
}

func loadVectors(tb testing.TB) (string, []vector) {
	tb.Helper()
	b, err := os.ReadFile("../../core/sign/testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	withKey := func(f json.RawMessage) []byte {
		var m map[string]any
		if err := json.Unmarshal(f, &m); err != nil {
			tb.Fatal(err)
		}
		m["controlKey"] = v.ControlKey
		out, _ := json.Marshal(m)
		return out
	}
	var out []vector
	for _, d := range v.DAPI {
		out = append(out, vector{op: vectorOps[d.Operation], sts: d.StringToSign, sig: d.Signature, fields: withKey(d.Fields)})
	}
	for _, c := range v.Classic {
		out = append(out, vector{op: vectorOps[c.Operation], sts: c.StringToSign, sig: c.Control, classic: true, fields: withKey(c.Fields)})
	}
	for _, x := range out {
		if x.op == "" {
			tb.Fatalf("vector without a kassa operation: %+v", x)
		}
	}
	return v.ControlKey, out
}
