package smarts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
	"github.com/kassa-edge/kassa/plugin/httpx"
	"github.com/kassa-edge/kassa/plugin/internal/provider"
	"github.com/kassa-edge/kassa/plugin/store"
)

// nodeOp is one node endpoint Smarts calls.
type nodeOp struct {
	op   string // metrics label: the endpoint id without "smarts."
	id   string // request endpoint id
	resp string // response endpoint id, "" for void endpoints
}

// nodeOps maps node paths to their endpoints, gatewayOps gateway paths
// (relative to /gateway/) to theirs. Both come from the spec, so a path
// and its rules cannot drift apart.
var nodeOps, gatewayOps = func() (map[string]nodeOp, map[string]string) {
	node, gw := map[string]nodeOp{}, map[string]string{}
	for _, ep := range spec.All() {
		if ep.Provider != spec.Smarts || ep.Response || ep.Method != http.MethodPost {
			continue
		}
		switch {
		case ep.From == "smarts" && ep.To == "node":
			op := nodeOp{op: strings.TrimPrefix(ep.ID, "smarts."), id: ep.ID}
			if spec.Lookup(ep.ID+".response") != nil {
				op.resp = ep.ID + ".response"
			}
			node[ep.Path] = op
		case ep.To == "gateway":
			gw[strings.TrimPrefix(ep.Path, "/gateway/")] = ep.ID
		}
	}
	return node, gw
}()

// ServeHTTP routes the node's paths (relative to where the handler is
// mounted; use handle_path to strip a prefix).
func (s *Smarts) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	path := "/" + strings.Trim(r.URL.Path, "/")
	if rest, ok := strings.CutPrefix(path, "/gateway/"); ok {
		return s.gateway(w, r, rest)
	}
	switch path {
	case "/node/version", "/node/health":
		op := strings.TrimPrefix(path, "/node/")
		if !s.nodeAuthorized(r) {
			return s.unauthorized(w, "node-"+op)
		}
		r.Header.Del(s.NodeTokenHeader) // the backend's health check does not need it
		if r.Method != http.MethodGet {
			return s.methodNotAllowed(w, "node-"+op, http.MethodGet)
		}
		if op == "version" {
			s.count("node-version", "ok")
			httpx.WriteJSON(w, http.StatusOK, s.versionBody)
			return nil
		}
		return s.health(w, r, next)
	}
	op, ok := nodeOps[path]
	if !ok {
		s.fail(w, "unknown", http.StatusNotFound, "no such Smarts node endpoint", nil)
		return nil
	}
	if !s.nodeAuthorized(r) {
		return s.unauthorized(w, op.op)
	}
	// The node token is kassa's business: the backend does not need it, and
	// it would end up in the backend's access logs.
	r.Header.Del(s.NodeTokenHeader)
	if r.Method != http.MethodPost {
		return s.methodNotAllowed(w, op.op, http.MethodPost)
	}
	return s.node(w, r, next, op)
}

// nodeAuthorized compares the presented token with every configured one
// in constant time, without stopping at a match, so timing tells neither
// which token matched nor how much of one. Digests make the lengths equal.
func (s *Smarts) nodeAuthorized(r *http.Request) bool {
	got := r.Header.Get(s.NodeTokenHeader)
	d := sha256.Sum256([]byte(got))
	ok := 0
	for i := range s.nodeTokens {
		ok |= subtle.ConstantTimeCompare(d[:], s.nodeTokens[i][:])
	}
	return ok == 1 && got != ""
}

func (s *Smarts) backendAuthorized(r *http.Request) bool {
	got := r.Header.Get(BackendKeyHeader)
	d := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(d[:], s.backendKey[:]) == 1 && got != ""
}

// node validates Smarts' request, hands it to the merchant's backend and
// validates the backend's answer before passing it on.
func (s *Smarts) node(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, op nodeOp) error {
	body, ok := s.readValid(w, r, op.op, op.id)
	if !ok {
		return nil
	}
	if op.id == "smarts.invoice" {
		// Smarts keeps invoices for two months only: the copy is durable
		// before anything else happens, whatever the backend answers.
		if err := s.archive(r.Context(), body); err != nil {
			s.storeFailed(w, op.op, err)
			return nil
		}
	}
	ans, err := httpx.Capture(next, w, r, body, s.limit)
	if errors.Is(err, httpx.ErrTooLarge) {
		s.logger.Warn("backend answer larger than the body limit", zap.String("endpoint", op.id))
		s.fail(w, op.op, http.StatusBadGateway, "bad backend answer: larger than the body limit", nil)
		return nil
	}
	if err != nil {
		s.logger.Error("merchant backend failed", zap.String("endpoint", op.id), zap.Error(err))
		s.fail(w, op.op, http.StatusBadGateway, "the merchant backend did not answer", nil)
		return nil
	}
	if ans.Status < 200 || ans.Status > 299 {
		s.count(op.op, provider.OutcomeOf(ans.Status))
		relay(w, ans)
		return nil
	}
	if op.resp != "" {
		res, err := s.eng.Validate(r.Context(), op.resp, ans.Body)
		if err != nil {
			s.engineFailed(w, op.op, err)
			return nil
		}
		if !res.Valid {
			s.logger.Warn("bad backend answer", zap.String("endpoint", op.resp), zap.Int("status", ans.Status),
				zap.String("violations", provider.ViolationText(res.Violations)))
			s.fail(w, op.op, http.StatusBadGateway, "bad backend answer", res.Violations)
			return nil
		}
	}
	s.count(op.op, "ok")
	relay(w, ans)
	return nil
}

// invoiceRecord is what the archive keeps of one invoice:
// {"receivedAt":"<RFC 3339, UTC>","invoice":<the body, byte for byte>}.
// The body is strict JSON (validated), so it is embedded verbatim, not
// re-encoded (encoding/json would escape <, > and &).
func invoiceRecord(receivedAt time.Time, body []byte) []byte {
	b := make([]byte, 0, len(body)+64)
	b = append(b, `{"receivedAt":"`...)
	b = receivedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","invoice":`...)
	b = append(b, bytes.TrimSpace(body)...)
	return append(b, '}')
}

// InvoiceKey is the archive key of an invoice body: its id, or (when the
// id is absent, empty, longer than 200 bytes, not UTF-8 or holds a NUL,
// which no store accepts in a key) "sha256:" and the hex digest of the
// body.
func InvoiceKey(body []byte) string {
	if id := gjson.GetBytes(body, "id"); id.Type == gjson.String && id.Str != "" && len(id.Str) <= 200 && utf8.ValidString(id.Str) && !strings.ContainsRune(id.Str, 0) {
		return id.Str
	}
	d := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(d[:])
}

// archive stores the invoice once (a repeat keeps the first copy).
func (s *Smarts) archive(ctx context.Context, body []byte) error {
	rec := invoiceRecord(time.Now(), body)
	key := InvoiceKey(body)
	return s.st.Update(ctx, func(tx store.Tx) error {
		created, err := tx.Insert(store.BucketInvoices, key, rec, time.Time{})
		if err == nil && !created {
			s.logger.Debug("invoice already archived", zap.String("key", key))
		}
		return err
	})
}

// health answers GET /node/health: the store, the engine and the backend
// (the next handler's GET /node/health, any 2xx is UP).
func (s *Smarts) health(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	timeout := time.Duration(s.HealthTimeout)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	storeErr, engineErr := s.app.Health(ctx)
	cancel()
	backendErr := s.backendHealth(w, r, next, timeout)
	status := func(part string, err error) map[string]string {
		if err != nil {
			s.logger.Warn("health check failed", zap.String("component", part), zap.Error(err))
			return map[string]string{"status": "DOWN"}
		}
		return map[string]string{"status": "UP"}
	}
	overall, code := "UP", http.StatusOK
	if storeErr != nil || engineErr != nil || backendErr != nil {
		overall, code = "DOWN", http.StatusServiceUnavailable
	}
	b := jsonBody(map[string]any{
		"status": overall,
		"components": map[string]any{
			"store":   status("store", storeErr),
			"engine":  status("engine", engineErr),
			"backend": status("backend", backendErr),
		},
	})
	s.count("node-health", provider.OutcomeOf(code))
	httpx.WriteJSON(w, code, b)
	return nil
}

func (s *Smarts) backendHealth(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	ans, err := httpx.Capture(next, w, r.WithContext(ctx), nil, s.limit)
	if err != nil {
		return err
	}
	if ans.Status < 200 || ans.Status > 299 {
		return errors.New("backend answered HTTP " + strconv.Itoa(ans.Status))
	}
	return nil
}

// gateway queues a call of the merchant's backend to the Smarts gateway.
func (s *Smarts) gateway(w http.ResponseWriter, r *http.Request, rest string) error {
	id := gatewayOps[rest]
	op := "gateway"
	if id != "" {
		op = strings.TrimPrefix(id, "smarts.")
	}
	if !s.relay {
		s.fail(w, op, http.StatusNotFound, "the gateway relay is not configured (access_token, backend_key)", nil)
		return nil
	}
	if !s.backendAuthorized(r) {
		s.fail(w, op, http.StatusForbidden, "forbidden", nil)
		return nil
	}
	if !safePath(rest) {
		s.fail(w, op, http.StatusNotFound, "invalid gateway path", nil)
		return nil
	}
	if r.Method != http.MethodPost {
		return s.methodNotAllowed(w, op, http.MethodPost)
	}
	// The query goes on to the gateway as it came: it must be a URL's
	// (printable ASCII, anything else percent-encoded), or the queued
	// delivery could not be stored.
	if !printableASCII(r.URL.RawQuery) {
		s.fail(w, op, http.StatusBadRequest, "invalid query string: only printable ASCII, anything else percent-encoded", nil)
		return nil
	}
	key, ok := provider.IdempotencyKey(r)
	if !ok {
		s.fail(w, op, http.StatusBadRequest, "Idempotency-Key must be 1-255 printable ASCII characters", nil)
		return nil
	}
	var body []byte
	if id != "" {
		if body, ok = s.readValid(w, r, op, id); !ok {
			return nil
		}
	} else {
		// Unpublished gateway calls: strict JSON (no duplicate keys, valid
		// UTF-8), checked by the core as the body of a no-body endpoint.
		if body, ok = s.readValid(w, r, op, "smarts.node-version"); !ok {
			return nil
		}
		if len(bytes.TrimSpace(body)) == 0 {
			s.fail(w, op, http.StatusBadRequest, "invalid request", []validate.Violation{{Rule: spec.RuleJSON, Message: "empty body: expected JSON"}})
			return nil
		}
	}
	u := s.gatewayBase + "/" + rest
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	header := map[string][]string{"Content-Type": {GatewayContentType}}
	if key != "" {
		header["Idempotency-Key"] = []string{key}
	} else {
		key = provider.RandomHex(16)
	}
	now := time.Now().UTC()
	d := &store.Delivery{ID: key, Target: s.target, Method: http.MethodPost, URL: u, Header: header, Body: body, CreatedAt: now, NextAt: now}
	err := s.st.Update(r.Context(), func(tx store.Tx) error { return provider.Enqueue(tx, d) })
	if errors.Is(err, provider.ErrKeyReused) {
		s.fail(w, op, http.StatusConflict, "Idempotency-Key already used for another request", nil)
		return nil
	}
	if err != nil {
		s.storeFailed(w, op, err)
		return nil
	}
	s.app.Notify()
	s.count(op, "ok")
	httpx.WriteJSON(w, http.StatusAccepted, jsonBody(map[string]string{"id": d.ID}))
	return nil
}

// printableASCII reports whether s has only the bytes 0x21 to 0x7e.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// safePath reports whether a gateway path (without the leading slash) is
// made of plain segments: no empty, "." or ".." segment, no characters
// that would need escaping.
func safePath(p string) bool {
	if p == "" || len(p) > 512 {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
				return false
			}
		}
	}
	return true
}

// readValid reads and validates a request body. It answers the client
// itself and returns ok=false when the request cannot go on.
func (s *Smarts) readValid(w http.ResponseWriter, r *http.Request, op, endpoint string) ([]byte, bool) {
	body, err := httpx.ReadBody(r, s.limit)
	if errors.Is(err, httpx.ErrTooLarge) {
		s.fail(w, op, http.StatusRequestEntityTooLarge, "body larger than the limit", nil)
		return nil, false
	}
	if err != nil {
		s.fail(w, op, http.StatusBadRequest, "could not read the body", nil)
		return nil, false
	}
	if !httpx.JSONContentType(r.Header.Get("Content-Type")) {
		s.fail(w, op, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return nil, false
	}
	res, err := s.eng.Validate(r.Context(), endpoint, body)
	if err != nil {
		s.engineFailed(w, op, err)
		return nil, false
	}
	if !res.Valid {
		s.fail(w, op, http.StatusBadRequest, "invalid request", res.Violations)
		return nil, false
	}
	return body, true
}

// relay passes the backend's captured answer on unchanged.
func relay(w http.ResponseWriter, ans *httpx.Captured) {
	h := w.Header()
	for k, v := range ans.Header {
		h[k] = v
	}
	h.Del("Content-Length")
	if ans.Status == http.StatusNoContent || ans.Status == http.StatusNotModified {
		w.WriteHeader(ans.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(ans.Body)))
	w.WriteHeader(ans.Status)
	w.Write(ans.Body)
}

// errorBody is kassa's Smarts error shape: {"error","violations"}.
func errorBody(msg string, vs []validate.Violation) []byte {
	const most = 20
	if len(vs) > most {
		vs = vs[:most]
	}
	return jsonBody(struct {
		Error      string               `json:"error"`
		Violations []validate.Violation `json:"violations,omitempty"`
	}{msg, vs})
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps and structs of strings
	}
	return b
}

// fail answers with the error shape and counts the outcome.
func (s *Smarts) fail(w http.ResponseWriter, op string, status int, msg string, vs []validate.Violation) {
	s.count(op, provider.OutcomeOf(status))
	if status >= 500 {
		s.logger.Error("request failed", zap.String("op", op), zap.Int("status", status), zap.String("message", msg))
	} else {
		s.logger.Debug("request refused", zap.String("op", op), zap.Int("status", status), zap.String("message", msg))
	}
	httpx.WriteJSON(w, status, errorBody(msg, vs))
}

func (s *Smarts) unauthorized(w http.ResponseWriter, op string) error {
	s.fail(w, op, http.StatusUnauthorized, "unauthorized", nil)
	return nil
}

func (s *Smarts) methodNotAllowed(w http.ResponseWriter, op, allow string) error {
	w.Header().Set("Allow", allow)
	s.fail(w, op, http.StatusMethodNotAllowed, "method not allowed, use "+allow, nil)
	return nil
}

func (s *Smarts) count(op, outcome string) {
	s.app.Metrics().Count("smarts", op, outcome)
}

func (s *Smarts) engineFailed(w http.ResponseWriter, op string, err error) {
	status, msg := provider.EngineFailure(s.logger, err)
	s.fail(w, op, status, msg, nil)
}

func (s *Smarts) storeFailed(w http.ResponseWriter, op string, err error) {
	status, msg := provider.StoreFailure(s.logger, op, err)
	s.fail(w, op, status, msg, nil)
}
