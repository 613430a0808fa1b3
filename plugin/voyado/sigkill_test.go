package voyado

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
)

// The outbox's attempt timeout is 1s, so a delivery claimed by the killed
// process is due again after its lease (timeout + 30s).
const sigkillTemplate = `{
	admin {{ADMIN}}
	kassa {
		engine native
		%[1]s
		outbox {
			base_delay %[2]s
			max_delay  %[3]s
			timeout    1s
		}
	}
}

http://127.0.0.1:{{PORT}} {
	kassa voyado {
		api_key     {env.VOYADO_API_KEY}
		backend_key {env.VOYADO_BACKEND_KEY}
		cluster     %[4]s
	}
}
`

const sigkillPayments = 1000

func TestE2ESigkillBolt(t *testing.T) {
	t.Parallel()
	runSigkill(t, testenv.BoltStore())
}

func TestE2ESigkillPostgres(t *testing.T) {
	t.Parallel()
	runSigkill(t, testenv.PostgresStore(t))
}

// runSigkill queues payments while the cluster is down, kills Caddy with
// SIGKILL, starts a new Caddy on the same data, brings the cluster up, and
// checks that every acknowledged payment arrives (a duplicate only ever
// under its own idempotency key).
func runSigkill(t *testing.T, k testenv.StoreKind) {
	cl := newCluster(t)
	cl.setDown(true)
	env := testenv.Merge(secretEnv, k.Env)
	// Slow retries while down: the queue, not the retry loop, is under test.
	in := testenv.Start(t, fmt.Sprintf(sigkillTemplate, k.Line, "1s", "2s", cl.URL), testenv.Options{Env: env})

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	post := func(i int) error {
		body := fmt.Sprintf(`{"lines":[{"productKey":"P-%04d","quantity":%d,"sellingPrice":10.5,"cost":4.25}]}`, i, i%7+1)
		req, _ := http.NewRequestWithContext(context.Background(), "POST", in.URL+"/api/v2/notifications/payment?"+v2Query, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Api-Key", backendKey)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%04d", i))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf(`{"id":"k-%04d"}`, i); resp.StatusCode != 202 || string(b) != want {
			return fmt.Errorf("payment %d: %d %s", i, resp.StatusCode, b)
		}
		return nil
	}
	start := time.Now()
	jobs := make(chan int)
	errs := make(chan error, sigkillPayments)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := post(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range sigkillPayments {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d payments acknowledged in %s; the cluster refused %d attempts meanwhile", sigkillPayments, time.Since(start).Round(time.Millisecond), cl.Count())
	if n := len(cl.acceptedWhere(func(testenv.Recorded) bool { return true })); n != 0 {
		t.Fatalf("the cluster accepted %d while down", n)
	}

	in.Kill()
	start = time.Now()
	in2 := testenv.Start(t, fmt.Sprintf(sigkillTemplate, k.Line, "50ms", "500ms", cl.URL), testenv.Options{Dir: in.Dir, Port: in.Port, Env: env})
	cl.setDown(false)

	distinct := func() map[string]testenv.Recorded {
		m := map[string]testenv.Recorded{}
		for _, r := range cl.acceptedWhere(func(testenv.Recorded) bool { return true }) {
			m[r.Header.Get("Idempotency-Key")] = r
		}
		return m
	}
	// Deliveries in flight at the kill are leased until timeout + 30s.
	testenv.WaitFor(t, 60*time.Second, "every payment delivered", func() bool { return len(distinct()) == sigkillPayments })
	t.Logf("all delivered %s after the restart", time.Since(start).Round(time.Millisecond))

	accepted := cl.acceptedWhere(func(testenv.Recorded) bool { return true })
	for _, r := range accepted {
		var i int
		if _, err := fmt.Sscanf(r.Header.Get("Idempotency-Key"), "k-%04d", &i); err != nil || i < 0 || i >= sigkillPayments {
			t.Fatalf("unexpected delivery %q", r.Header.Get("Idempotency-Key"))
		}
		if !strings.Contains(string(r.Body), fmt.Sprintf(`"P-%04d"`, i)) {
			t.Fatalf("k-%04d carried another payment: %s", i, r.Body)
		}
		if r.Header.Get("Api-Key") != apiKey || r.RawQuery != v2Query || r.Path != "/api/v2/notifications/payment" {
			t.Fatalf("k-%04d: %s?%s Api-Key %q", i, r.Path, r.RawQuery, r.Header.Get("Api-Key"))
		}
	}
	t.Logf("%d deliveries for %d payments (%d duplicates, each under its own key)", len(accepted), sigkillPayments, len(accepted)-sigkillPayments)

	in2.Stop()
	st := k.Open(t, in2)
	err := st.View(t.Context(), func(tx store.Tx) error {
		all, err := tx.ListDeliveries("", "", 0)
		if err != nil {
			return err
		}
		states := map[store.State]int{}
		for _, d := range all {
			states[d.State]++
		}
		if len(all) != sigkillPayments || states[store.StateDone] != sigkillPayments {
			t.Errorf("stored deliveries by state: %v, want %d done", states, sigkillPayments)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if logs := in2.Logs(); strings.Contains(logs, apiKey) || strings.Contains(logs, backendKey) {
		t.Error("a key is in caddy.log")
	}
}
