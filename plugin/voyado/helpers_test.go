package voyado

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// recorded is one request a stand-in received.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// standIn is a loopback server standing in for a party (the merchant
// backend, the Voyado cluster): it records every request and answers with
// a handler the test can swap.
type standIn struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle func(w http.ResponseWriter, r *recorded)
}

func newStandIn(t *testing.T, h func(w http.ResponseWriter, r *recorded)) *standIn {
	s := &standIn{handle: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		h := s.handle
		s.mu.Unlock()
		h(w, &rec)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *standIn) setHandler(h func(w http.ResponseWriter, r *recorded)) {
	s.mu.Lock()
	s.handle = h
	s.mu.Unlock()
}

func (s *standIn) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// client sends requests to Caddy and keeps every answer, so a test can
// check that no secret ever reached a client.
type client struct {
	t    *testing.T
	base string
	mu   sync.Mutex
	seen []string
}

type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (c *client) do(method, path string, header map[string]string, body string) answer {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	var all strings.Builder
	for k, vs := range resp.Header {
		all.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	all.Write(b)
	c.mu.Lock()
	c.seen = append(c.seen, all.String())
	c.mu.Unlock()
	return answer{resp.StatusCode, resp.Header, b}
}

// everything returns every answer seen, headers and bodies.
func (c *client) everything() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.seen, "\n")
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storeKind is one of the two stores the e2e suite runs on.
type storeKind struct {
	name string
	line string            // the kassa store option
	env  map[string]string // environment for Caddy
	dsn  string
}

func boltStore() storeKind {
	return storeKind{name: "bolt", line: "store bolt {{DIR}}/kassa.db", env: map[string]string{}}
}

func postgresStore(t *testing.T) storeKind {
	dsn := pgtest.Start(t)
	return storeKind{name: "postgres", line: "store postgres {env.KASSA_PG_DSN}", env: map[string]string{"KASSA_PG_DSN": dsn}, dsn: dsn}
}

// open opens the store an instance used. For bolt the instance must have
// stopped (the file is locked while Caddy runs).
func (k storeKind) open(t *testing.T, in *testenv.Instance) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if k.name == "bolt" {
		st, err = store.OpenBolt(filepath.Join(in.Dir, "kassa.db"), store.BoltOptions{})
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		st, err = store.OpenPostgres(ctx, k.dsn, store.PostgresOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// wasmDir returns a fresh instance directory whose wazero compilation
// cache (under Caddy's data directory) is shared by every test run, so only
// the first run pays for compiling kassa.wasm.
func wasmDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testenv.ShareWazeroCache(t, dir)
	return dir
}
