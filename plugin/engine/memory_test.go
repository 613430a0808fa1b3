package engine

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
)

// rssBytes is this process's resident set size (VmRSS).
func rssBytes(t *testing.T) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestHundredWarmInstances holds 100 wasm instances at once, each warmed
// by a Check sale (validate and sign) and a large Smarts invoice, and
// measures what they add to the process's RSS. Issue budget: under 1 GiB
// for 100. The figure is in BENCHMARKS.md.
func TestHundredWarmInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 100
	ctx := context.Background()
	cfg := testConfig()
	cfg.MaxInstances = n
	w, err := NewWasm(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	check := []byte(spec.Lookup("payneteasy.check-sale").Example)
	invoice := []byte(spec.Lookup("smarts.invoice").Example)

	runtime.GC()
	debug.FreeOSMemory()
	before := rssBytes(t)
	held := make([]*instance, 0, n)
	for range n {
		in, err := w.take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, in)
		for _, c := range []struct {
			fn   Func
			a    string
			b    []byte
			want string
		}{
			{FuncValidate, "payneteasy.check-sale", check, `{"valid":true`},
			{FuncValidate, "smarts.invoice", invoice, `{"valid":true`},
			{FuncSign, "dapi.check-sale", checkSaleFields, `{"signature":"`},
		} {
			out, err := in.call(ctx, c.fn, c.a, c.b)
			if err != nil || !strings.HasPrefix(string(out), c.want) {
				t.Fatalf("%s %s: %.80s %v", c.fn, c.a, out, err)
			}
		}
	}
	if idle, total := w.Stats(); total != n || idle != 0 {
		t.Fatalf("Stats: %d idle of %d, want 0 of %d", idle, total, n)
	}
	runtime.GC()
	debug.FreeOSMemory()
	after := rssBytes(t)
	var pages uint64
	for _, in := range held {
		pages += uint64(in.mem.Size()) / 65536
	}
	added := int64(after) - int64(before)
	t.Logf("100 warm instances: RSS %.1f -> %.1f MiB (+%.1f MiB, %.2f MiB per instance); linear memory %.1f MiB in all (%d pages per instance on average)",
		float64(before)/(1<<20), float64(after)/(1<<20), float64(added)/(1<<20), float64(added)/(1<<20)/n, float64(pages*65536)/(1<<20), pages/n)
	if added > 1<<30 {
		t.Errorf("100 warm instances added %.0f MiB of RSS, budget 1 GiB", float64(added)/(1<<20))
	}
	for _, in := range held {
		w.put(in)
	}
}
