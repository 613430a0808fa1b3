package outbox_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kassa-edge/kassa/plugin/outbox"
	"github.com/kassa-edge/kassa/plugin/store"
)

// request is what a test server received.
type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// receiver is a loopback HTTP server that records requests and answers
// with reply (200 if nil).
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []request
	reply func(n int, w http.ResponseWriter, r *http.Request) // n: 1-based request number
}

func newReceiver(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{reply: reply}
	rc.Server = httptest.NewServer(rc)
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, request{r.Method, r.URL.Path, r.Header.Clone(), body})
	n := len(rc.reqs)
	rc.mu.Unlock()
	if rc.reply != nil {
		rc.reply(n, w, r)
	}
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func openStore(t *testing.T, path string) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newStore(t *testing.T) *store.Bolt {
	return openStore(t, filepath.Join(t.TempDir(), "kassa.db"))
}

// fastConfig retries within milliseconds so tests stay quick.
func fastConfig(t *testing.T, st store.Store, targets map[string]outbox.Target) outbox.Config {
	return outbox.Config{
		Store:        st,
		Targets:      targets,
		BaseDelay:    5 * time.Millisecond,
		MaxDelay:     40 * time.Millisecond,
		Lease:        10 * time.Second,
		PollInterval: 10 * time.Millisecond,
		Logger:       zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}
}

// start runs a worker until the test ends.
func start(t *testing.T, cfg outbox.Config) *outbox.Worker {
	t.Helper()
	w, err := outbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

func enqueue(t *testing.T, st store.Store, w *outbox.Worker, ds ...*store.Delivery) {
	t.Helper()
	err := st.Update(t.Context(), func(tx store.Tx) error {
		for _, d := range ds {
			if _, err := tx.Enqueue(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if w != nil {
		w.Notify()
	}
}

func delivery(id, url string) *store.Delivery {
	return &store.Delivery{
		ID: id, Target: "events", Method: http.MethodPost, URL: url,
		Header: map[string][]string{"Content-Type": {"application/json"}},
		Body:   []byte(`{"id":"` + id + `"}`),
	}
}

func get(t *testing.T, st store.Store, id string) *store.Delivery {
	t.Helper()
	var d *store.Delivery
	err := st.View(t.Context(), func(tx store.Tx) error {
		var err error
		d, err = tx.GetDelivery(id)
		return err
	})
	if err != nil {
		t.Fatalf("GetDelivery(%s): %v", id, err)
	}
	return d
}

// waitState waits until delivery id is in state and returns it.
func waitState(t *testing.T, st store.Store, id string, state store.State) *store.Delivery {
	t.Helper()
	var d *store.Delivery
	waitFor(t, 5*time.Second, func() bool {
		d = get(t, st, id)
		return d.State == state
	}, func() string { return fmt.Sprintf("delivery %s is %+v, want %s", id, d, state) })
	return d
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bearer is a Sender adding a credential at send time.
type bearer string

func (b bearer) Prepare(req *http.Request, _ *store.Delivery) error {
	req.Header.Set("Authorization", "Bearer "+string(b))
	return nil
}

type result struct {
	target, outcome string
	dur             time.Duration
}

func TestDelivered(t *testing.T) {
	rc := newReceiver(t, nil)
	st := newStore(t)
	var (
		mu      sync.Mutex
		results []result
	)
	cfg := fastConfig(t, st, map[string]outbox.Target{"events": {Sender: bearer("s3cret")}})
	// Only Notify can make this worker look at the store in time.
	cfg.PollInterval = time.Hour
	cfg.OnResult = func(target, outcome string, dur time.Duration) {
		mu.Lock()
		results = append(results, result{target, outcome, dur})
		mu.Unlock()
	}
	w := start(t, cfg)
	d := delivery("evt-1", rc.URL+"/hooks")
	d.Header["X-Kassa-Event"] = []string{"payment.succeeded"}
	enqueue(t, st, w, d)

	done := waitState(t, st, "evt-1", store.StateDone)
	if done.Attempts != 1 || done.DoneAt.IsZero() {
		t.Fatalf("delivered: %+v, want 1 attempt and DoneAt", done)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/hooks" || string(r.body) != `{"id":"evt-1"}` ||
		r.header.Get("X-Kassa-Event") != "payment.succeeded" || r.header.Get("Content-Type") != "application/json" ||
		r.header.Get("Authorization") != "Bearer s3cret" {
		t.Fatalf("server got %s %s %q with headers %v", r.method, r.path, r.body, r.header)
	}
	// The credential was added at send time, never stored.
	if _, ok := done.Header["Authorization"]; ok {
		t.Fatal("the stored delivery holds the Authorization header")
	}
	// OnResult runs after the result is stored.
	waitFor(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(results) > 0 },
		func() string { return "OnResult was not called" })
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(results) != 1 || results[0].target != "events" || results[0].outcome != outbox.OutcomeDelivered || results[0].dur <= 0 {
		t.Fatalf("OnResult calls: %+v, want one delivered for events", results)
	}
}

func TestServerErrorRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
	st := newStore(t)
	w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {}}))
	enqueue(t, st, w, delivery("evt-1", rc.URL))

	d := waitState(t, st, "evt-1", store.StateDone)
	if d.Attempts != 3 || d.LastError != "HTTP 503: busy" {
		t.Fatalf("delivered after %d attempts, last error %q; want 3, %q", d.Attempts, d.LastError, "HTTP 503: busy")
	}
	time.Sleep(50 * time.Millisecond) // several polls: nothing more is sent
	if n := len(rc.requests()); n != 3 {
		t.Fatalf("server got %d requests, want 3 (two 503s, one 200)", n)
	}
}

func TestPermanent4xxIsDead(t *testing.T) {
	long := strings.Repeat("x", 300)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, long)
	})
	st := newStore(t)
	w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {Policy: outbox.Policy{Permanent4xx: true}}}))
	enqueue(t, st, w, delivery("evt-1", rc.URL))

	d := waitState(t, st, "evt-1", store.StateDead)
	if want := "HTTP 422: " + long[:200]; d.LastError != want {
		t.Fatalf("dead reason %q, want %q", d.LastError, want)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("server got %d requests, want 1 (no retry)", n)
	}
}

func TestNonPermanent4xxRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.NotFound(w, r)
		}
	})
	st := newStore(t)
	w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {}}))
	enqueue(t, st, w, delivery("evt-1", rc.URL))

	if d := waitState(t, st, "evt-1", store.StateDone); d.Attempts != 2 || !strings.HasPrefix(d.LastError, "HTTP 404") {
		t.Fatalf("delivered after %d attempts, last error %q; want 2 after a 404", d.Attempts, d.LastError)
	}
}

// 408, 425 and 429 say "later": retried even where a 4xx is final.
func TestTransient4xxRetriedUnderPermanent4xx(t *testing.T) {
	for _, code := range []int{http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests} {
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.WriteHeader(code)
			}
		})
		st := newStore(t)
		w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {Policy: outbox.Policy{Permanent4xx: true}}}))
		enqueue(t, st, w, delivery("evt-1", rc.URL))
		if d := waitState(t, st, "evt-1", store.StateDone); d.Attempts != 2 {
			t.Fatalf("HTTP %d: delivered after %d attempts, want 2", code, d.Attempts)
		}
	}
}

// An upstream that echoes the credential it refuses must not put it into
// the stored reason (which is logged and shown by the admin API), even
// where the 200-byte cut would split it.
func TestEchoedCredentialRedacted(t *testing.T) {
	const secret = "sk_live_0123456789abcdef"
	for _, pad := range []int{0, 180} { // 180: the cut falls inside the credential
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, strings.Repeat(".", pad)+"key "+r.Header.Get("Authorization")+" refused")
		})
		st := newStore(t)
		w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {Sender: bearer(secret), Policy: outbox.Policy{Permanent4xx: true}}}))
		enqueue(t, st, w, delivery("evt-1", rc.URL))
		d := waitState(t, st, "evt-1", store.StateDead)
		if strings.Contains(d.LastError, secret[:8]) {
			t.Fatalf("pad %d: the credential is in the stored reason: %q", pad, d.LastError)
		}
		if pad == 0 && !strings.Contains(d.LastError, "[redacted]") {
			t.Fatalf("reason %q, want the credential replaced by [redacted]", d.LastError)
		}
	}
}

func TestTimeoutRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
	st := newStore(t)
	cfg := fastConfig(t, st, map[string]outbox.Target{"events": {}})
	cfg.Client = &http.Client{Timeout: 100 * time.Millisecond}
	w := start(t, cfg)
	enqueue(t, st, w, delivery("evt-1", rc.URL))

	d := waitState(t, st, "evt-1", store.StateDone)
	if d.Attempts != 2 || !strings.Contains(d.LastError, "Timeout") {
		t.Fatalf("delivered after %d attempts, last error %q; want 2 after a timeout", d.Attempts, d.LastError)
	}
	if strings.Contains(d.LastError, rc.URL) {
		t.Fatalf("last error %q repeats the URL", d.LastError)
	}
}

func TestMaxAgeIsDead(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	})
	st := newStore(t)
	cfg := fastConfig(t, st, map[string]outbox.Target{"events": {}})
	cfg.MaxAge = time.Hour
	w := start(t, cfg)
	d := delivery("old", rc.URL)
	d.CreatedAt = time.Now().Add(-2 * time.Hour)
	enqueue(t, st, w, d, delivery("young", rc.URL))

	old := waitState(t, st, "old", store.StateDead)
	if !strings.HasPrefix(old.LastError, "gave up after 2h0m") || !strings.HasSuffix(old.LastError, "HTTP 500: down") {
		t.Fatalf("dead reason %q, want gave up after 2h... HTTP 500: down", old.LastError)
	}
	// A young delivery failing the same way keeps being retried.
	waitFor(t, 5*time.Second, func() bool { return get(t, st, "young").Attempts >= 3 },
		func() string { return "young delivery was not retried" })
	if y := get(t, st, "young"); y.State != store.StatePending {
		t.Fatalf("young delivery is %s, want pending", y.State)
	}
}

func TestUnknownTargetIsDead(t *testing.T) {
	rc := newReceiver(t, nil)
	st := newStore(t)
	w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {}}))
	d := delivery("evt-1", rc.URL)
	d.Target = "nope"
	enqueue(t, st, w, d)
	if got := waitState(t, st, "evt-1", store.StateDead); got.LastError != `unknown target "nope"` {
		t.Fatalf("dead reason %q", got.LastError)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("server got %d requests for an unknown target", n)
	}
}

func TestEnqueueTwiceDeliversOnce(t *testing.T) {
	rc := newReceiver(t, nil)
	st := newStore(t)
	w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {}}))
	enqueue(t, st, w, delivery("evt-1", rc.URL))
	second := delivery("evt-1", rc.URL)
	second.Body = []byte(`{"id":"changed"}`)
	enqueue(t, st, w, second)
	waitState(t, st, "evt-1", store.StateDone)
	enqueue(t, st, w, second) // also after delivery
	time.Sleep(50 * time.Millisecond)
	reqs := rc.requests()
	if len(reqs) != 1 || string(reqs[0].body) != `{"id":"evt-1"}` {
		t.Fatalf("server got %d requests (first body %q), want the original once", len(reqs), reqs[0].body)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
	})
	st := newStore(t)
	cfg := fastConfig(t, st, map[string]outbox.Target{"events": {}})
	cfg.Concurrency, cfg.Batch = 3, 2
	w := start(t, cfg)
	var ds []*store.Delivery
	for i := range 20 {
		ds = append(ds, delivery(fmt.Sprintf("evt-%02d", i), rc.URL))
	}
	enqueue(t, st, w, ds...)
	for _, d := range ds {
		waitState(t, st, d.ID, store.StateDone)
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrent requests %d, want 3 (Concurrency)", p)
	}
	if n := len(rc.requests()); n != 20 {
		t.Fatalf("server got %d requests, want 20", n)
	}
}

// Stop interrupts a hanging request and makes the delivery due at once
// for the next worker instead of waiting out the lease.
func TestStopReleasesInFlight(t *testing.T) {
	got := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		close(got)
		<-r.Context().Done()
	})
	st := newStore(t)
	cfg := fastConfig(t, st, map[string]outbox.Target{"events": {}})
	cfg.Lease = time.Hour
	w, err := outbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	enqueue(t, st, w, delivery("evt-1", rc.URL))
	<-got
	stopped := time.Now()
	w.Stop()
	if d := time.Since(stopped); d > 2*time.Second {
		t.Fatalf("Stop took %s", d)
	}
	d := get(t, st, "evt-1")
	if d.State != store.StatePending || d.NextAt.After(time.Now()) || d.Attempts != 1 {
		t.Fatalf("after Stop: %+v, want pending, due now, 1 attempt", d)
	}
	w.Stop() // again: no-op
}

// A store failing under the worker is logged and retried, never a panic;
// the worker still stops cleanly.
func TestStoreErrorsLogged(t *testing.T) {
	st := newStore(t)
	core, logs := observer.New(zap.ErrorLevel)
	cfg := fastConfig(t, st, map[string]outbox.Target{"events": {}})
	cfg.Logger = zap.New(core)
	w := start(t, cfg)
	st.Close()
	waitFor(t, 5*time.Second, func() bool { return logs.FilterMessageSnippet("claiming deliveries failed").Len() >= 2 },
		func() string { return fmt.Sprintf("logged %v", logs.All()) })
	entry := logs.FilterMessageSnippet("claiming deliveries failed").All()[0]
	if err, ok := entry.ContextMap()["error"].(string); !ok || !strings.Contains(err, store.ErrUnavailable.Error()) {
		t.Fatalf("logged error %v, want ErrUnavailable", entry.ContextMap())
	}
	w.Stop()
}

func TestNewNeedsStore(t *testing.T) {
	if _, err := outbox.New(outbox.Config{}); err == nil {
		t.Fatal("New without a store succeeded")
	}
	st := newStore(t)
	w := start(t, fastConfig(t, st, nil))
	if err := w.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
}

// reserveAddr returns a loopback address with nothing listening on it.
func reserveAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Deliveries enqueued while the receiver is down survive a worker stop
// and a store close: a new worker on the reopened store delivers all of
// them once the receiver is up. Repeats carry the same webhook-id.
func TestRestartDeliversEverything(t *testing.T) {
	const n = 200
	path := filepath.Join(t.TempDir(), "kassa.db")
	addr := reserveAddr(t)
	secret := "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg5MA=="
	signer, err := outbox.NewWebhookSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]outbox.Target{"events": {Sender: signer}}

	st1, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w1, err := outbox.New(fastConfig(t, st1, targets))
	if err != nil {
		t.Fatal(err)
	}
	if err := w1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ds []*store.Delivery
	for i := range n {
		ds = append(ds, delivery(fmt.Sprintf("evt-%03d", i), "http://"+addr+"/hooks"))
	}
	enqueue(t, st1, w1, ds...)
	// Let every delivery fail at least once against the closed port.
	waitFor(t, 10*time.Second, func() bool {
		var pending []*store.Delivery
		st1.View(t.Context(), func(tx store.Tx) error {
			var err error
			pending, err = tx.ListDeliveries(store.StatePending, "", 0)
			return err
		})
		for _, d := range pending {
			if d.Attempts == 0 {
				return false
			}
		}
		return len(pending) == n
	}, func() string { return "deliveries were not all attempted" })
	w1.Stop()
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openStore(t, path)
	var mu sync.Mutex
	bodies := make(map[string][]string) // webhook-id -> bodies received
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := outbox.VerifyWebhook(secret, r.Header, body, time.Minute, time.Now()); err != nil {
			t.Errorf("bad signature: %v", err)
		}
		mu.Lock()
		id := r.Header.Get("webhook-id")
		bodies[id] = append(bodies[id], string(body))
		mu.Unlock()
	})
	start(t, fastConfig(t, st2, targets))
	time.Sleep(20 * time.Millisecond) // the new worker meets the closed port too

	var l net.Listener
	waitFor(t, 5*time.Second, func() bool {
		l, err = net.Listen("tcp", addr)
		return err == nil
	}, func() string { return fmt.Sprintf("listen on %s again: %v", addr, err) })
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	for _, d := range ds {
		waitState(t, st2, d.ID, store.StateDone)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != n {
		t.Fatalf("received %d distinct webhook-ids, want %d", len(bodies), n)
	}
	for _, d := range ds {
		got := bodies[d.ID]
		if len(got) == 0 {
			t.Fatalf("%s never arrived", d.ID)
		}
		for _, b := range got {
			if b != string(d.Body) {
				t.Fatalf("webhook-id %s came with body %s, want %s", d.ID, b, d.Body)
			}
		}
	}
}
