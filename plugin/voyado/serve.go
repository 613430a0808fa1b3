package voyado

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core/validate"
	"github.com/kassa-edge/kassa/plugin/httpx"
	"github.com/kassa-edge/kassa/plugin/internal/provider"
	"github.com/kassa-edge/kassa/plugin/store"
)

// kind is how a path is served.
type kind uint8

const (
	browserPath kind = iota // forwarded synchronously, without a key; CORS
	paymentPath             // v2 payment: secure with Api-Key, else browser if client_payments
	adminPath               // Admin API payment: secure only
)

// route is one Voyado path.
type route struct {
	kind kind
	id   string // endpoint id (for paymentPath: the secure one)
}

// Endpoint ids of the v2 payment notification.
const (
	securePaymentID = "voyado.secure-payment"
	clientPaymentID = "voyado.payment"
)

// routes are the cluster's paths kassa serves, matched exactly.
var routes = func() map[string]route {
	const v2, sf = "/api/v2/notifications/", "/api/storefront/v3/notifications/"
	m := map[string]route{
		v2 + "payment":                        {paymentPath, securePaymentID},
		"/api/admin/v4/notifications/payment": {adminPath, "voyado.admin.payment"},
		"/api/admin/v3/notifications/payment": {adminPath, "voyado.admin.payment"},
	}
	for _, n := range []string{"click", "non-esales-click", "adding-to-cart", "non-esales-adding-to-cart", "end"} {
		m[v2+n] = route{browserPath, "voyado." + n}
	}
	for _, n := range []string{"click", "add-to-cart", "add-favorite", "remove-favorite", "ad-impression",
		"remove-recent-searches", "remove-recently-viewed", "end"} {
		m[sf+n] = route{browserPath, "voyado.storefront." + n}
	}
	return m
}()

// Routes returns the paths the handler serves and their endpoint ids
// (for the v2 payment: the secure notification's).
func Routes() map[string]string {
	out := make(map[string]string, len(routes))
	for p, rt := range routes {
		out[p] = rt.id
	}
	return out
}

// ServeHTTP serves the Voyado paths and hands every other request to next,
// so the handler can sit at a site's root.
func (v *Voyado) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	rt, ok := routes[r.URL.Path]
	if !ok {
		return next.ServeHTTP(w, r)
	}
	switch rt.kind {
	case browserPath:
		if r.Method == http.MethodOptions {
			return v.preflight(w, r, opOf(rt.id))
		}
		return v.browser(w, r, rt.id)
	case paymentPath:
		if r.Method == http.MethodOptions {
			if v.ClientPayments {
				return v.preflight(w, r, opOf(clientPaymentID))
			}
			return v.noBrowser(w, r, opOf(rt.id))
		}
		if len(r.Header.Values(KeyHeader)) > 0 || !v.ClientPayments {
			return v.securePayment(w, r, rt.id)
		}
		return v.browser(w, r, clientPaymentID)
	default:
		if r.Method == http.MethodOptions {
			return v.noBrowser(w, r, opOf(rt.id))
		}
		return v.securePayment(w, r, rt.id)
	}
}

func opOf(id string) string { return strings.TrimPrefix(id, "voyado.") }

// keyOK compares the presented Api-Key with backend_key in constant time
// (digests make the lengths equal).
func (v *Voyado) keyOK(r *http.Request) bool {
	vs := r.Header.Values(KeyHeader)
	if !v.secure || len(vs) != 1 || vs[0] == "" {
		return false
	}
	d := sha256.Sum256([]byte(vs[0]))
	return subtle.ConstantTimeCompare(d[:], v.backendKey[:]) == 1
}

// securePayment validates a server-side payment notification and queues it
// for the cluster; the sender adds the real Api-Key at send time.
func (v *Voyado) securePayment(w http.ResponseWriter, r *http.Request, id string) error {
	op := opOf(id)
	if !v.keyOK(r) {
		msg := "Api-Key could not be validated"
		if len(r.Header.Values(KeyHeader)) == 0 {
			msg = "Api-Key required (the notification without Api-Key is disabled: client_payments off)"
		}
		v.fail(w, op, http.StatusForbidden, msg, nil)
		return nil
	}
	if r.Method != http.MethodPost {
		return v.methodNotAllowed(w, op, "POST")
	}
	key, ok := provider.IdempotencyKey(r)
	if !ok {
		v.fail(w, op, http.StatusBadRequest, "Idempotency-Key must be 1-255 printable ASCII characters", nil)
		return nil
	}
	body, ok := v.readValid(w, r, op, id)
	if !ok {
		return nil
	}
	header := map[string][]string{"Content-Type": {"application/json"}}
	if key != "" {
		header["Idempotency-Key"] = []string{key}
	} else {
		key = provider.RandomHex(16)
	}
	now := time.Now().UTC()
	d := &store.Delivery{ID: key, Target: v.target, Method: http.MethodPost, URL: v.clusterURL(r),
		Header: header, Body: body, CreatedAt: now, NextAt: now}
	err := v.st.Update(r.Context(), func(tx store.Tx) error { return provider.Enqueue(tx, d) })
	if errors.Is(err, provider.ErrKeyReused) {
		v.fail(w, op, http.StatusConflict, "Idempotency-Key already used for another request", nil)
		return nil
	}
	if err != nil {
		v.storeFailed(w, op, err)
		return nil
	}
	v.app.Notify()
	v.count(op, "ok")
	httpx.WriteJSON(w, http.StatusAccepted, jsonBody(map[string]string{"id": d.ID}))
	return nil
}

// browser validates a browser notification and forwards it synchronously,
// without any key, relaying the cluster's answer.
func (v *Voyado) browser(w http.ResponseWriter, r *http.Request, id string) error {
	op := opOf(id)
	v.cors(w, r)
	r.Header.Del(KeyHeader) // never accepted nor forwarded on browser paths
	if r.Method != http.MethodPost {
		return v.methodNotAllowed(w, op, "POST, OPTIONS")
	}
	body, ok := v.readValid(w, r, op, id)
	if !ok {
		return nil
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, v.clusterURL(r), bytes.NewReader(body))
	if err != nil {
		v.fail(w, op, http.StatusInternalServerError, "internal error", nil)
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || len(body) > 0 {
		req.Header.Set("Content-Type", forwardContentType(ct))
	}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
			code = http.StatusGatewayTimeout
		}
		v.logger.Warn("cluster unreachable", zap.String("op", op), zap.Error(unwrapURL(err)))
		v.fail(w, op, code, "the cluster did not answer", nil)
		return nil
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, v.limit+1))
	if err != nil || int64(len(ans)) > v.limit {
		v.fail(w, op, http.StatusBadGateway, "the cluster's answer could not be read", nil)
		return nil
	}
	v.count(op, provider.OutcomeOf(resp.StatusCode))
	if ct := resp.Header.Get("Content-Type"); ct != "" && len(ans) > 0 {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "no-store")
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		w.WriteHeader(resp.StatusCode)
		return nil
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(ans)))
	w.WriteHeader(resp.StatusCode)
	w.Write(ans)
	return nil
}

// unwrapURL drops the URL an *url.Error repeats (it has the query string).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// clusterURL is the cluster's URL for the request's path and query.
func (v *Voyado) clusterURL(r *http.Request) string {
	u := v.cluster + r.URL.Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// forwardContentType keeps what browsers send to avoid a preflight
// (text/plain) and names everything else JSON, which the body is.
func forwardContentType(ct string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "text/plain") {
		return "text/plain;charset=utf-8"
	}
	return "application/json"
}

func (v *Voyado) allowedOrigin(o string) bool {
	return o != "" && (v.anyOrigin || v.origins[strings.ToLower(o)])
}

// cors sets the CORS answer headers of a browser path.
func (v *Voyado) cors(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); v.allowedOrigin(o) {
		h.Set("Access-Control-Allow-Origin", o)
	}
}

// preflight answers a CORS preflight: 204 for allowed origins, 403 for
// others (an OPTIONS without Origin is not a preflight: 204 with Allow).
func (v *Voyado) preflight(w http.ResponseWriter, r *http.Request, op string) error {
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Set("Allow", "POST, OPTIONS")
	o := r.Header.Get("Origin")
	if o == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if !v.allowedOrigin(o) {
		v.fail(w, op, http.StatusForbidden, "origin not allowed", nil)
		return nil
	}
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// noBrowser refuses an OPTIONS on a server-side path.
func (v *Voyado) noBrowser(w http.ResponseWriter, _ *http.Request, op string) error {
	w.Header().Set("Allow", "POST")
	v.fail(w, op, http.StatusForbidden, "server-side path: no browser access", nil)
	return nil
}

// readValid validates the query, then reads and validates the body. It
// answers the client itself and returns ok=false when the request cannot
// go on.
func (v *Voyado) readValid(w http.ResponseWriter, r *http.Request, op, id string) ([]byte, bool) {
	res, err := v.eng.ValidateQuery(r.Context(), id, r.URL.RawQuery)
	if err != nil {
		v.engineFailed(w, op, err)
		return nil, false
	}
	if !res.Valid {
		v.fail(w, op, http.StatusBadRequest, "invalid query", res.Violations)
		return nil, false
	}
	body, err := httpx.ReadBody(r, v.limit)
	if errors.Is(err, httpx.ErrTooLarge) {
		v.fail(w, op, http.StatusRequestEntityTooLarge, "body larger than the limit", nil)
		return nil, false
	}
	if err != nil {
		v.fail(w, op, http.StatusBadRequest, "could not read the body", nil)
		return nil, false
	}
	if !httpx.JSONContentType(r.Header.Get("Content-Type")) {
		v.fail(w, op, http.StatusUnsupportedMediaType, "Content-Type must be application/json or text/plain;charset=utf-8", nil)
		return nil, false
	}
	res, err = v.eng.Validate(r.Context(), id, body)
	if err != nil {
		v.engineFailed(w, op, err)
		return nil, false
	}
	if !res.Valid {
		v.fail(w, op, http.StatusBadRequest, "invalid body", res.Violations)
		return nil, false
	}
	return body, true
}

// errorBody is kassa's Voyado error shape: {"error","violations"}.
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
func (v *Voyado) fail(w http.ResponseWriter, op string, status int, msg string, vs []validate.Violation) {
	v.count(op, provider.OutcomeOf(status))
	if status >= 500 {
		v.logger.Error("request failed", zap.String("op", op), zap.Int("status", status), zap.String("message", msg))
	} else {
		v.logger.Debug("request refused", zap.String("op", op), zap.Int("status", status), zap.String("message", msg))
	}
	httpx.WriteJSON(w, status, errorBody(msg, vs))
}

func (v *Voyado) methodNotAllowed(w http.ResponseWriter, op, allow string) error {
	w.Header().Set("Allow", allow)
	v.fail(w, op, http.StatusMethodNotAllowed, "method not allowed, use POST", nil)
	return nil
}

func (v *Voyado) count(op, outcome string) {
	v.app.Metrics().Count("voyado", op, outcome)
}

func (v *Voyado) engineFailed(w http.ResponseWriter, op string, err error) {
	status, msg := provider.EngineFailure(v.logger, err)
	v.fail(w, op, status, msg, nil)
}

func (v *Voyado) storeFailed(w http.ResponseWriter, op string, err error) {
	status, msg := provider.StoreFailure(v.logger, op, err)
	v.fail(w, op, status, msg, nil)
}
