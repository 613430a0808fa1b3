package kassa_test

import (
	"bytes"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
)

const lifecycleCaddyfile = `{
	admin {{ADMIN}}
	kassa {
		engine wasm
		store bolt {{DIR}}/kassa.db
	}
}
http://127.0.0.1:{{PORT}} {
	handle_path /pne/* {
		route {
			kassa payneteasy {
				endpoint_id 1111
				control_key {env.PNE_CONTROL_KEY}
				gateway http://127.0.0.1:9/paynet
			}
			respond 500
		}
	}
}
`

var lifecycleEnv = map[string]string{"PNE_CONTROL_KEY": "B17F59B4-A7DC-41B4-8FF9-37D986B43D20"}

func rss(t testing.TB, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skip("no /proc: cannot read RSS")
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n * 1024
}

// exercise sends a request that goes through the core (a validation
// failure), so instances exist and are in use.
func exercise(t testing.TB, url string) {
	// A reload closes the old server's idle connections; a POST that races
	// that close on a kept-alive connection gets EOF (clients resend only
	// idempotent requests), so start on fresh connections.
	http.DefaultClient.CloseIdleConnections()
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest(http.MethodPost, url+"/pne/sale/x/check", strings.NewReader(`{"session":{}}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := testenv.Do(http.DefaultClient, req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	}
}

// TestReloadsKeepMemoryFlat reloads the config 50 times: the compiled
// module is shared (compiled once), instances of old configs are closed
// (memory stays flat), and requests keep working.
func TestReloadsKeepMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	in := testenv.Start(t, lifecycleCaddyfile, testenv.Options{Env: lifecycleEnv})
	exercise(t, in.URL)
	var after5 int64
	for i := 1; i <= 50; i++ {
		if err := in.Reload(); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		exercise(t, in.URL)
		if i == 5 {
			after5 = rss(t, in.PID())
		}
	}
	after50 := rss(t, in.PID())
	t.Logf("RSS after 5 reloads: %.1f MiB, after 50: %.1f MiB", float64(after5)/(1<<20), float64(after50)/(1<<20))
	// A leaked instance pool costs ~10 MiB per reload (450 MiB over 45).
	if grow := after50 - after5; grow > 40<<20 {
		t.Errorf("RSS grew by %.1f MiB over 45 reloads", float64(grow)/(1<<20))
	}
	ready := regexp.MustCompile(`"msg":"wasm engine ready","compiles":(\d+)`).FindAllStringSubmatch(in.Logs(), -1)
	if len(ready) != 51 {
		t.Fatalf("%d 'wasm engine ready' lines, want 51", len(ready))
	}
	for _, m := range ready {
		if m[1] != "1" {
			t.Fatalf("the module was compiled again on reload: compiles=%s", m[1])
		}
	}
}

// BenchmarkStartup measures how long bin/caddy takes from exec to its
// first answer through the wasm core: "cold" with an empty compilation
// cache, "warm" with the cache the previous start left.
func BenchmarkStartup(b *testing.B) {
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			if mode == "warm" {
				in := testenv.Start(b, lifecycleCaddyfile, testenv.Options{Env: lifecycleEnv, Dir: dir})
				exercise(b, in.URL)
				in.Stop()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				d := dir
				if mode == "cold" {
					d = b.TempDir()
				}
				b.StartTimer()
				start := time.Now()
				in := testenv.Start(b, lifecycleCaddyfile, testenv.Options{Env: lifecycleEnv, Dir: d})
				for {
					resp, err := http.Post(in.URL+"/pne/sale/x/check", "application/json", bytes.NewReader([]byte(`{}`)))
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 400 {
							break
						}
					}
					time.Sleep(5 * time.Millisecond)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-first-answer")
				b.StopTimer()
				in.Stop()
				b.StartTimer()
			}
		})
	}
}
