package testenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
)

// The parties around a running kassa, for the Smarts and Voyado end-to-end
// tests: stand-ins for the servers kassa talks to, a client that keeps
// every answer, and the two stores the suites run on.

// Recorded is one request a stand-in received.
type Recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// StandIn is a loopback server standing in for a party (the merchant
// backend, the Smarts gateway, the Voyado cluster): it records every
// request and answers with a handler the test can swap.
type StandIn struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []Recorded
	handle func(w http.ResponseWriter, r *Recorded)
}

// NewStandIn starts a stand-in answering with h until the test ends.
func NewStandIn(t testing.TB, h func(w http.ResponseWriter, r *Recorded)) *StandIn {
	s := &StandIn{handle: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := Recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		h := s.handle
		s.mu.Unlock()
		h(w, &rec)
	}))
	t.Cleanup(s.Close)
	return s
}

// SetHandler swaps the handler for the requests to come.
func (s *StandIn) SetHandler(h func(w http.ResponseWriter, r *Recorded)) {
	s.mu.Lock()
	s.handle = h
	s.mu.Unlock()
}

// Requests returns a copy of the requests received so far.
func (s *StandIn) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.reqs...)
}

// Count returns how many requests arrived so far.
func (s *StandIn) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Client sends requests to Caddy and keeps every answer, so a test can
// check that no secret ever reached a client.
type Client struct {
	t    testing.TB
	base string
	mu   sync.Mutex
	seen []string
}

// NewClient returns a client for the site at base (Instance.URL).
func NewClient(t testing.TB, base string) *Client {
	return &Client{t: t, base: base}
}

// Answer is one answer a Client received.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request (a body is sent as application/json unless header
// says otherwise) and fails the test if no answer comes.
func (c *Client) Do(method, path string, header map[string]string, body string) Answer {
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
	return Answer{resp.StatusCode, resp.Header, b}
}

// Everything returns every answer seen, headers and bodies.
func (c *Client) Everything() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.seen, "\n")
}

// WaitFor polls cond until it holds, and fails the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StoreKind is one of the two stores the e2e suites run on.
type StoreKind struct {
	Name string
	Line string            // the kassa store option
	Env  map[string]string // environment for Caddy
	DSN  string
}

// BoltStore is a bbolt file in the instance's directory.
func BoltStore() StoreKind {
	return StoreKind{Name: "bolt", Line: "store bolt {{DIR}}/kassa.db", Env: map[string]string{}}
}

// PostgresStore is a fresh database on the test binary's PostgreSQL
// (pgtest; the package's TestMain calls pgtest.Stop).
func PostgresStore(t testing.TB) StoreKind {
	dsn := pgtest.Start(t)
	return StoreKind{Name: "postgres", Line: "store postgres {env.KASSA_PG_DSN}", Env: map[string]string{"KASSA_PG_DSN": dsn}, DSN: dsn}
}

// Open opens the store an instance used. For bolt the instance must have
// stopped (the file is locked while Caddy runs).
func (k StoreKind) Open(t testing.TB, in *Instance) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if k.Name == "bolt" {
		st, err = store.OpenBolt(filepath.Join(in.Dir, "kassa.db"), store.BoltOptions{})
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		st, err = store.OpenPostgres(ctx, k.DSN, store.PostgresOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Merge returns the union of maps (a later one wins), such as a suite's
// secrets and a store's environment.
func Merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// WasmDir returns a fresh instance directory whose wazero compilation
// cache (under Caddy's data directory) is shared by every test run, so only
// the first run pays for compiling kassa.wasm.
func WasmDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	ShareWazeroCache(t, dir)
	return dir
}
