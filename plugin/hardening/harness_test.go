package hardening_test

// The harness: one real bin/caddy with the three providers on one site,
// loopback stand-ins for every other party (merchant backend, Payneteasy
// gateway, events receiver, Smarts gateway, Voyado cluster), a client that
// checks every answer for secrets as it arrives, and store snapshots.
//
// Nothing here calls kassa code to sign or verify: signatures are
// recomputed with crypto/hmac and crypto/sha1 from the published recipes.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// long reports whether the long variants run (KASSA_LONG=1).
func long() bool { return os.Getenv("KASSA_LONG") == "1" }

// ---------------------------------------------------------------------------
// Secrets: distinctive values, so a leak is found by a plain search.

const (
	controlKey    = "7A3C0FFE-E1D5-4B2A-9C0D-4A5E5EC7E700"
	endpointID    = "1111"
	eventsKeyRaw  = "hardening-events-secret-32bytes!"
	nodeTokenA    = "hd-node-token-A-4f1c2e9b7a"
	nodeTokenB    = "hd-node-token-B-0d8e6f3a21"
	smartsAccess  = "HD-REAL-SMARTS-ACCESS-TOKEN-93b1"
	smartsBackend = "hd-smarts-backend-key-5e7d"
	voyadoAPIKey  = "HD-REAL-VOYADO-API-KEY-c0ffee42"
	voyadoBackend = "hd-voyado-backend-key-77aa"
)

var eventsSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(eventsKeyRaw))

// secret is one value that must never appear in logs, answers, metrics or
// the store. A presented secret is a credential clients send (node tokens,
// backend keys): Caddy's own debug and access logs record request headers,
// so it may appear in lines of Caddy's loggers (README: filter them), never
// in kassa's.
type secret struct {
	name, value string
	presented   bool
}

func baseSecrets() []secret {
	return []secret{
		{"control key", controlKey, false},
		{"control key (no dashes)", strings.ReplaceAll(controlKey, "-", ""), false},
		{"control key (lower case)", strings.ToLower(strings.ReplaceAll(controlKey, "-", "")), false},
		{"events secret", strings.TrimPrefix(eventsSecret, "whsec_"), false},
		{"events secret (raw)", eventsKeyRaw, false},
		{"smarts node token A", nodeTokenA, true},
		{"smarts node token B", nodeTokenB, true},
		{"smarts access token", smartsAccess, false},
		{"smarts backend key", smartsBackend, true},
		{"voyado api key", voyadoAPIKey, false},
		{"voyado backend key", voyadoBackend, true},
	}
}

// pgPassword extracts the password of a DSN.
func pgPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// ---------------------------------------------------------------------------
// Stand-ins.

// rec is one request a stand-in received.
type rec struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	At                     time.Time
	Status                 int // the answer given
}

// act is how a stand-in answers one request.
type act struct {
	status int
	body   string
	header map[string]string
	delay  time.Duration // before answering
	hang   bool          // never answer (until the caller gives up)
	reset  bool          // close the connection without an answer
}

// party is a loopback stand-in for one party. It counts requests by key
// (Idempotency-Key, webhook-id or path) and keeps them unless told not to.
type party struct {
	name string
	srv  *httptest.Server

	mu     sync.Mutex
	behave func(r *rec) act
	reqs   []rec
	keep   bool
	byKey  map[string]int
	total  atomic.Int64
	conns  atomic.Int64 // connections accepted
}

func newParty(t testing.TB, name string, behave func(r *rec) act) *party {
	p := &party{name: name, behave: behave, keep: true, byKey: map[string]int{}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ReadHeaderTimeout = 10 * time.Second
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *party) URL() string  { return p.srv.URL }
func (p *party) Host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

func (p *party) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc := rec{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, At: time.Now()}
	p.mu.Lock()
	behave := p.behave
	p.mu.Unlock()
	a := behave(&rc)
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
		}
	}
	if a.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(60 * time.Second):
		}
		return
	}
	if a.reset {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				c.Close()
				return
			}
		}
	}
	if a.status == 0 {
		a.status = 200
	}
	rc.Status = a.status
	p.total.Add(1)
	p.mu.Lock()
	if a.status >= 200 && a.status < 300 {
		p.byKey[keyOf(&rc)]++
	}
	if p.keep {
		p.reqs = append(p.reqs, rc)
	}
	p.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

// keyOf identifies a delivery: its idempotency key or webhook id.
func keyOf(r *rec) string {
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		return k
	}
	if k := r.Header.Get("webhook-id"); k != "" {
		return k
	}
	return r.Method + " " + r.Path
}

func (p *party) set(behave func(r *rec) act) {
	p.mu.Lock()
	p.behave = behave
	p.mu.Unlock()
}

// acked returns how many times each key was answered 2xx.
func (p *party) acked() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.byKey))
	for k, v := range p.byKey {
		out[k] = v
	}
	return out
}

func (p *party) requests() []rec {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rec(nil), p.reqs...)
}

func (p *party) count() int64 { return p.total.Load() }

// parties are all the stand-ins of one Caddy.
type parties struct {
	backend, gateway, events, smartsGW, cluster *party
}

// nodeExamples maps Smarts node paths to a valid answer from the spec.
var nodeExamples = func() map[string]string {
	m := map[string]string{"/node/health": `{"status":"UP"}`}
	for _, ep := range spec.All() {
		if ep.Provider == spec.Smarts && !ep.Response && ep.To == "node" && ep.Method == http.MethodPost {
			if r := spec.Lookup(ep.ID + ".response"); r != nil {
				m[ep.Path] = r.Example
			} else {
				m[ep.Path] = `{}`
			}
		}
	}
	return m
}()

// backendDefault approves initiates (with the invoiceId the test asked for
// in X-Test-Invoice) and answers Smarts node calls with the spec examples.
func backendDefault(r *rec) act {
	if strings.HasSuffix(r.Path, "/initiate-sale") || strings.HasSuffix(r.Path, "/initiate-transfer") || strings.HasSuffix(r.Path, "/initiate-verification") {
		if inv := r.Header.Get("X-Test-Invoice"); inv != "" {
			return act{status: 200, body: fmt.Sprintf(`{"invoiceId":%q}`, inv)}
		}
		return act{status: 200, body: `{}`}
	}
	if ex, ok := nodeExamples[r.Path]; ok {
		return act{status: 200, body: ex}
	}
	return act{status: 404, body: `{"message":"backend: no such path"}`}
}

// gatewayDefault answers a status relay: APPROVED, for the invoice and
// token asked about.
func gatewayDefault(r *rec) act {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	if len(parts) < 7 {
		return act{status: 404, body: `{"error":{"cause":"INVALID_REQUEST","code":"gw.path","message":"no such path"}}`}
	}
	var in struct{ Session struct{ Token string } }
	json.Unmarshal(r.Body, &in)
	return act{status: 200, body: fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"APPROVED","bankOrderId":"bank-%s"}`, parts[5], in.Session.Token, parts[5])}
}

func ok200(*rec) act { return act{status: 200} }
func ok204(*rec) act { return act{status: 204} }

func newParties(t testing.TB) *parties {
	return &parties{
		backend:  newParty(t, "backend", backendDefault),
		gateway:  newParty(t, "gateway", gatewayDefault),
		events:   newParty(t, "events", ok204),
		smartsGW: newParty(t, "smarts gateway", ok200),
		cluster:  newParty(t, "cluster", ok204),
	}
}

// events returns the events receiver's deliveries whose signature verifies,
// decoded.
type event struct {
	ID   string
	Type string
	Data map[string]any
}

func (ps *parties) verifiedEvents(t testing.TB) []event {
	t.Helper()
	var out []event
	for _, r := range ps.events.requests() {
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		m := hmac.New(sha256.New, []byte(eventsKeyRaw))
		m.Write([]byte(id + "." + ts + "."))
		m.Write(r.Body)
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		if !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+want+" ") {
			t.Errorf("event %s: signature %q does not verify", id, r.Header.Get("webhook-signature"))
			continue
		}
		var ev struct {
			ID   string
			Type string
			Data map[string]any
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil || ev.ID != id {
			t.Errorf("event %s: body %s", id, r.Body)
			continue
		}
		out = append(out, event{ID: ev.ID, Type: ev.Type, Data: ev.Data})
	}
	return out
}

// ---------------------------------------------------------------------------
// Caddy.

// config varies the one site every test runs.
type config struct {
	Engine string // native (default) or wasm
	Store  string // bolt (default) or postgres
	DSN    string // postgres
	// BoltPath overrides {{DIR}}/kassa.db.
	BoltPath string
	Global   string // extra global options
	Outbox   string // the outbox block's body
	Level    string // log level (default INFO)
	// Placeholders of secrets that a test rotates (default {env.*}).
	SmartsTokens  []string
	VoyadoBackend string
	// Timeouts towards the parties.
	UpstreamTimeout string // backend response_header_timeout, gateway_timeout, cluster_timeout (default 2s)
	// Files are written into the instance directory before Caddy starts
	// (secrets read with {file.{{DIR}}/<name>}).
	Files map[string]string
}

const siteTemplate = `{
	admin {{ADMIN}}
	log {
		level {{LEVEL}}
	}
	{{GLOBAL}}
	kassa {
		engine {{ENGINE}}
		store {{STORE}}
		outbox {
			{{OUTBOX}}
		}
	}
}
http://127.0.0.1:{{PORT}} {
	handle_path /pne/* {
		kassa payneteasy {
			endpoint_id ` + endpointID + `
			control_key {env.PNE_CONTROL_KEY}
			gateway {{GATEWAY}}/paynet
			events {{EVENTS}}/events
			events_secret {env.KASSA_EVENTS_SECRET}
			gateway_timeout {{TIMEOUT}}
		}
		reverse_proxy {{BACKEND}} {
			transport http {
				dial_timeout 1s
				response_header_timeout {{TIMEOUT}}
			}
		}
	}
	handle_path /smarts/* {
		kassa smarts {
			{{NODE_TOKENS}}
			access_token {env.SMARTS_ACCESS_TOKEN}
			backend_key {env.SMARTS_BACKEND_KEY}
			gateway {{SMARTSGW}}/v1
			health_timeout 1s
		}
		reverse_proxy {{BACKEND}} {
			transport http {
				dial_timeout 1s
				response_header_timeout {{TIMEOUT}}
			}
		}
	}
	handle /api/* {
		kassa voyado {
			api_key {env.VOYADO_API_KEY}
			backend_key {{VOYADO_BACKEND}}
			cluster {{CLUSTER}}
			cors_origins https://shop.example
			cluster_timeout {{TIMEOUT}}
		}
		respond "no such Voyado path" 404
	}
	handle {
		respond "not found" 404
	}
}
`

func (c config) caddyfile(ps *parties) string {
	if c.Engine == "" {
		c.Engine = "native"
	}
	st := "bolt {{DIR}}/kassa.db"
	if c.BoltPath != "" {
		st = "bolt " + c.BoltPath
	}
	if c.Store == "postgres" {
		st = "postgres {env.KASSA_PG_DSN}"
	}
	if c.Outbox == "" {
		c.Outbox = "base_delay 50ms\n\t\t\tmax_delay 500ms\n\t\t\ttimeout 2s"
	}
	if c.Level == "" {
		c.Level = "INFO"
	}
	if len(c.SmartsTokens) == 0 {
		c.SmartsTokens = []string{"{env.SMARTS_NODE_TOKEN}", "{env.SMARTS_NODE_TOKEN_NEXT}"}
	}
	var tokens []string
	for _, tk := range c.SmartsTokens {
		tokens = append(tokens, "node_token "+tk)
	}
	if c.VoyadoBackend == "" {
		c.VoyadoBackend = "{env.VOYADO_BACKEND_KEY}"
	}
	if c.UpstreamTimeout == "" {
		c.UpstreamTimeout = "2s"
	}
	return strings.NewReplacer(
		"{{LEVEL}}", c.Level, "{{GLOBAL}}", c.Global, "{{ENGINE}}", c.Engine, "{{STORE}}", st,
		"{{OUTBOX}}", c.Outbox, "{{GATEWAY}}", ps.gateway.URL(), "{{EVENTS}}", ps.events.URL(),
		"{{BACKEND}}", ps.backend.Host(), "{{SMARTSGW}}", ps.smartsGW.URL(), "{{CLUSTER}}", ps.cluster.URL(),
		"{{NODE_TOKENS}}", strings.Join(tokens, "\n\t\t\t"), "{{VOYADO_BACKEND}}", c.VoyadoBackend,
		"{{TIMEOUT}}", c.UpstreamTimeout,
	).Replace(siteTemplate)
}

func secretEnv(dsn string) map[string]string {
	m := map[string]string{
		"PNE_CONTROL_KEY":        controlKey,
		"KASSA_EVENTS_SECRET":    eventsSecret,
		"SMARTS_NODE_TOKEN":      nodeTokenA,
		"SMARTS_NODE_TOKEN_NEXT": nodeTokenB,
		"SMARTS_ACCESS_TOKEN":    smartsAccess,
		"SMARTS_BACKEND_KEY":     smartsBackend,
		"VOYADO_API_KEY":         voyadoAPIKey,
		"VOYADO_BACKEND_KEY":     voyadoBackend,
	}
	if dsn != "" {
		m["KASSA_PG_DSN"] = dsn
	}
	return m
}

// node is one running Caddy with its parties and a client that checks
// every answer for secrets.
type node struct {
	t   testing.TB
	in  *testenv.Instance
	cfg config
	ps  *parties
	hc  *http.Client
	// reloadedAt is when the config was last reloaded (see doCtx).
	reloadedAt time.Time

	secrets []secret
	mu      sync.Mutex
	leaks   []string
}

// start runs Caddy on cfg. When the test ends, caddy.log, the answers seen,
// the admin /metrics output and (bolt) the store file are searched for
// every secret.
func start(t testing.TB, cfg config, ps *parties) *node {
	t.Helper()
	dir := t.TempDir()
	if cfg.Engine == "wasm" {
		testenv.ShareWazeroCache(t, dir)
	}
	n := &node{t: t, cfg: cfg, ps: ps, secrets: baseSecrets()}
	if pw := pgPassword(cfg.DSN); pw != "" {
		n.secrets = append(n.secrets, secret{"postgres password", pw, false})
	}
	n.hc = &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Runs after Caddy has stopped (cleanups run last-registered first).
	t.Cleanup(func() {
		n.hc.CloseIdleConnections()
		n.scanLog(filepath.Join(dir, "caddy.log"))
		if keep := os.Getenv("KASSA_KEEP_LOGS"); keep != "" { // a directory to copy caddy.log to
			if b, err := os.ReadFile(filepath.Join(dir, "caddy.log")); err == nil {
				os.MkdirAll(keep, 0o700)
				os.WriteFile(filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_")+".caddy.log"), b, 0o600)
			}
		}
		if cfg.Store != "postgres" {
			p := cfg.BoltPath
			if p == "" {
				p = filepath.Join(dir, "kassa.db")
			}
			n.scanFile(p, "the bolt file")
		}
		n.reportLeaks()
	})
	for name, content := range cfg.Files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n.in = testenv.Start(t, cfg.caddyfile(ps), testenv.Options{Env: secretEnv(cfg.DSN), Dir: dir})
	t.Cleanup(func() {
		if n.alive() {
			n.scanBytes(n.metrics(), "admin /metrics")
			n.scanBytes(n.admin("/kassa/deliveries"), "admin /kassa/deliveries")
			n.scanBytes(n.admin("/config/"), "admin /config/")
		}
		if t.Failed() {
			logs := n.in.Logs()
			if len(logs) > 6000 {
				logs = "...\n" + logs[len(logs)-6000:]
			}
			t.Logf("caddy log (%s):\n%s", n.in.Dir, logs)
		}
	})
	return n
}

// reload rewrites the Caddyfile for cfg and loads it through the admin API.
func (n *node) reload(cfg config) error {
	cf := strings.NewReplacer("{{PORT}}", strconv.Itoa(n.in.Port), "{{ADMIN}}", n.in.Admin, "{{DIR}}", n.in.Dir).Replace(cfg.caddyfile(n.ps))
	if err := os.WriteFile(n.in.Config, []byte(cf), 0o600); err != nil {
		return err
	}
	n.cfg = cfg
	err := n.in.Reload()
	n.reloadedAt = time.Now()
	// The old server closes its idle connections once the new one runs; a
	// POST that races that close gets EOF (a client may not resend a POST
	// by itself), so the next request starts on a new connection.
	n.hc.CloseIdleConnections()
	return err
}

func (n *node) URL() string { return n.in.URL }

// scanBytes records every secret found in b.
func (n *node) scanBytes(b []byte, where string) {
	for _, s := range n.secrets {
		if i := bytes.Index(b, []byte(s.value)); i >= 0 {
			lo, hi := max(0, i-80), min(len(b), i+len(s.value)+80)
			n.mu.Lock()
			n.leaks = append(n.leaks, fmt.Sprintf("%s in %s: …%s…", s.name, where, bytes.ReplaceAll(b[lo:hi], []byte(s.value), []byte("<"+s.name+">"))))
			n.mu.Unlock()
		}
	}
}

// scanLog searches caddy.log line by line: kassa's lines (and any line
// that is not JSON) for every secret, the lines of Caddy's own loggers for
// the secrets clients never present.
func (n *node) scanLog(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	all := n.secrets
	var real []secret
	for _, s := range all {
		if !s.presented {
			real = append(real, s)
		}
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var l struct{ Logger string }
		n.secrets = all
		if json.Unmarshal(line, &l) == nil && !strings.HasPrefix(l.Logger, "kassa") {
			n.secrets = real
		}
		n.scanBytes(line, "caddy.log")
	}
	n.secrets = all
}

func (n *node) scanFile(path, where string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	n.scanBytes(b, where)
}

func (n *node) reportLeaks() {
	n.mu.Lock()
	defer n.mu.Unlock()
	seen := map[string]bool{}
	for _, l := range n.leaks {
		if !seen[l] {
			seen[l] = true
			n.t.Errorf("secret leaked: %s", l)
		}
	}
}

// alive reports whether the Caddy process exists and answers.
func (n *node) alive() bool {
	if err := syscall.Kill(n.in.PID(), 0); err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.in.Port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (n *node) mustBeAlive(what string) {
	n.t.Helper()
	if !n.alive() {
		n.t.Fatalf("caddy is not alive after %s", what)
	}
	r := n.do("POST", "/pne/sale/initiate-sale", nil, []byte(`{}`)) // validated by the core, refused
	if r.Err != nil || r.Status != 400 {
		n.t.Fatalf("caddy does not answer after %s: %v %d %s", what, r.Err, r.Status, r.Body)
	}
}

// admin GETs a path of the admin API.
func (n *node) admin(path string) []byte {
	resp, err := n.hc.Get("http://" + n.in.Admin + path)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func (n *node) metrics() []byte { return n.admin("/metrics") }

// pending counts the outbox's pending deliveries (admin API), -1 if the
// answer cannot be read.
func (n *node) pending() int {
	var out struct{ Deliveries []json.RawMessage }
	if json.Unmarshal(n.admin("/kassa/deliveries?state=pending&limit=1000"), &out) != nil {
		return -1
	}
	return len(out.Deliveries)
}

// drained waits until the outbox has nothing pending.
func (n *node) drained(timeout time.Duration) {
	n.t.Helper()
	testenv.WaitFor(n.t, timeout, "the outbox to drain", func() bool { return n.pending() == 0 })
}

var metricLine = regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+)$`)

// metric returns the sum of a metric's samples whose labels contain every
// given label pair text (e.g. `outcome="ok"`).
func metric(text []byte, name string, labels ...string) float64 {
	sum := 0.0
	for _, m := range metricLine.FindAllSubmatch(text, -1) {
		if string(m[1]) != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && bytes.Contains(m[2], []byte(l))
		}
		if ok {
			v, _ := strconv.ParseFloat(string(m[3]), 64)
			sum += v
		}
	}
	return sum
}

// resp is one answer (or the transport error).
type resp struct {
	Status int
	Header http.Header
	Body   []byte
	Dur    time.Duration
	Err    error
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// do sends a request to Caddy (path relative to the site) and checks the
// answer for secrets. A JSON body gets Content-Type application/json
// unless the header sets one.
func (n *node) do(method, path string, h http.Header, body []byte) resp {
	return n.doCtx(context.Background(), method, path, h, body)
}

func (n *node) doCtx(ctx context.Context, method, path string, h http.Header, body []byte) resp {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.in.URL+path, rd)
	if err != nil {
		return resp{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range h {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	start := time.Now()
	res, err := n.hc.Do(req)
	if err != nil && time.Since(n.reloadedAt) < 5*time.Second && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		// Right after a reload, the old server still accepts on the
		// shared listener until it shuts down, and then closes what it
		// accepted: a client resends such a request (it was never
		// read). Only then, and once.
		n.hc.CloseIdleConnections()
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		res, err = n.hc.Do(req)
	}
	if err != nil {
		return resp{Err: err, Dur: time.Since(start)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Header: res.Header, Body: b, Dur: time.Since(start), Err: err}
	var all bytes.Buffer
	for k, vs := range res.Header {
		fmt.Fprintf(&all, "%s: %s\n", k, strings.Join(vs, ","))
	}
	all.Write(b)
	n.scanBytes(all.Bytes(), method+" "+path+" answer")
	return r
}

// ---------------------------------------------------------------------------
// Requests of each provider.

// pneApp is one app user: a device and an access token.
type pneApp struct{ Serial, AccessToken string }

func newPneApp() pneApp { return pneApp{Serial: "SN-" + randHex(4), AccessToken: randHex(20)} }

func (a pneApp) initiateBody(amount int64) []byte {
	return []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"transaction":{"amountCentis":%d,"currency":"EUR"},"session":{"accessToken":%q}}`,
		a.Serial, amount, a.AccessToken))
}

func (a pneApp) checkBody(nonce, sig, token string) []byte {
	return []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"session":{"accessToken":%q,"nonce":%q,"signature":%q,"token":%q}}`,
		a.Serial, a.AccessToken, nonce, sig, token))
}

func (a pneApp) notificationBody(token, serverCard string) []byte {
	return []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"session":{"accessToken":%q,"token":%q},"sourceCard":{"bin":411111,"reference":{"serverCardId":%q,"uniqueReferenceCardId":7}}}`,
		a.Serial, a.AccessToken, token, serverCard))
}

// pneSession is what the app holds after an initiate.
type pneSession struct{ Invoice, Nonce, Signature string }

// initiate asks for a sale with the given invoiceId (the backend sets it).
func (n *node) initiate(a pneApp, inv string, amount int64) (pneSession, resp) {
	r := n.do("POST", "/pne/sale/initiate-sale", hdr("X-Test-Invoice", inv), a.initiateBody(amount))
	var out struct {
		InvoiceID string
		Session   struct{ Nonce, Signature string }
	}
	json.Unmarshal(r.Body, &out)
	return pneSession{out.InvoiceID, out.Session.Nonce, out.Session.Signature}, r
}

func (n *node) mustInitiate(a pneApp, inv string) pneSession {
	n.t.Helper()
	s, r := n.initiate(a, inv, 1000)
	if r.Err != nil || r.Status != 200 || s.Invoice != inv {
		n.t.Fatalf("initiate %s: %v %d %s", inv, r.Err, r.Status, r.Body)
	}
	if want := dapiSign(a.AccessToken, a.Serial, endpointID, s.Nonce, inv, "1000", "EUR"); s.Signature != want {
		n.t.Fatalf("initiate %s: signature %s, want %s", inv, s.Signature, want)
	}
	return s
}

// callbackQuery is a classic callback with a valid control.
func callbackQuery(status, orderID, clientOrderID string) string {
	return fmt.Sprintf("status=%s&type=sale&orderid=%s&merchant_order=%s&client_orderid=%s&amount=10.00&control=%s",
		status, orderID, clientOrderID, clientOrderID, classicControl(status, orderID, clientOrderID))
}

// dapiSign and classicControl are the spec's recipes (testenv) with this
// suite's control key.
func dapiSign(parts ...string) string { return testenv.DAPISign(controlKey, parts...) }

func classicControl(status, orderID, clientOrderID string) string {
	return testenv.ClassicControl(controlKey, status, orderID, clientOrderID)
}

const (
	v2Query    = "esales.market=SE&esales.customerKey=c-1&esales.sessionKey=s-1"
	adminQuery = "market=SE&customerKey=c-1&sessionKey=s-1"
	v2Payment  = "/api/v2/notifications/payment"
)

func paymentBody(i int) []byte {
	return []byte(fmt.Sprintf(`{"lines":[{"productKey":"P-%06d","quantity":%d,"sellingPrice":10.5,"cost":4.25}]}`, i, i%7+1))
}

// pay sends a Voyado secure payment with the backend key.
func (n *node) pay(idem string, body []byte) resp {
	h := hdr("Api-Key", voyadoBackend)
	if idem != "" {
		h.Set("Idempotency-Key", idem)
	}
	return n.do("POST", v2Payment+"?"+v2Query, h, body)
}

var controlResult = spec.Lookup("smarts.purchase-control-result").Example

// relay queues a Smarts gateway call with the backend key.
func (n *node) relay(idem string) resp {
	h := hdr("accessToken", smartsBackend)
	if idem != "" {
		h.Set("Idempotency-Key", idem)
	}
	return n.do("POST", "/smarts/gateway/control/result", h, []byte(controlResult))
}

// ---------------------------------------------------------------------------
// Answer shapes.

// dapiError checks the DAPI error shape and returns error.code.
func dapiError(r resp) (code string, err error) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "", fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	for k := range top {
		if k != "error" && k != "invoiceId" {
			return "", fmt.Errorf("unexpected key %q", k)
		}
	}
	var e struct{ Cause, Code, Message *string }
	if json.Unmarshal(top["error"], &e) != nil || e.Cause == nil || e.Code == nil || e.Message == nil || *e.Code == "" {
		return "", fmt.Errorf("error is not {cause, code, message}")
	}
	return *e.Cause + "/" + *e.Code, nil
}

// ---------------------------------------------------------------------------
// Stores.

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func openBolt(t testing.TB, path string) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(path, store.BoltOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	return st
}

func openPostgres(t testing.TB, dsn string) *store.Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := store.OpenPostgres(ctx, dsn, store.PostgresOptions{MaxConns: 2})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// deliveriesByState counts the outbox's deliveries by state.
func deliveriesByState(t testing.TB, st store.Store) map[store.State]int {
	t.Helper()
	out := map[store.State]int{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		ds, err := tx.ListDeliveries("", "", 0)
		for _, d := range ds {
			out[d.State]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ---------------------------------------------------------------------------
// Small utilities.

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// percentile of sorted durations.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

func sortDurations(ds []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
