package payneteasy

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/plugin/engine"
	"github.com/kassa-edge/kassa/plugin/httpx"
	"github.com/kassa-edge/kassa/plugin/internal/provider"
	"github.com/kassa-edge/kassa/plugin/store"
)

// flows are the DAPI flows by their path segment, with the names a check
// of each uses (built once, not concatenated per request).
var flows = map[string]*flowNames{"sale": namesOf("sale"), "transfer": namesOf("transfer"), "verification": namesOf("verification")}

type flowNames struct {
	check         string // the check's metric endpoint label
	checkEndpoint string // its request's spec endpoint
	checkSign     string // its signature's operation
}

func namesOf(flow string) *flowNames {
	return &flowNames{check: "check-" + flow, checkEndpoint: "payneteasy.check-" + flow, checkSign: "dapi.check-" + flow}
}

// ServeHTTP routes the provider's paths (relative to where the handler is
// mounted; use handle_path to strip a prefix).
func (p *Payneteasy) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	path := strings.Trim(r.URL.Path, "/")
	var segs [7]string
	parts := segs[:splitPath(path, &segs)]
	switch {
	case path == "callback":
		if r.Method != http.MethodGet {
			return p.methodNotAllowed(w, "GET")
		}
		return p.callback(w, r)
	case len(parts) == 2 && flows[parts[0]] != nil && parts[1] == "initiate-"+parts[0]:
		if r.Method != http.MethodPost {
			return p.methodNotAllowed(w, "POST")
		}
		return p.initiate(w, r, next, parts[0])
	case len(parts) == 2 && flows[parts[0]] != nil && parts[1] == "notification":
		if r.Method != http.MethodPost {
			return p.methodNotAllowed(w, "POST")
		}
		return p.notification(w, r, parts[0])
	case len(parts) == 3 && flows[parts[0]] != nil && parts[2] == "check":
		if r.Method != http.MethodPost {
			return p.methodNotAllowed(w, "POST")
		}
		return p.check(w, r, parts[0], parts[1])
	case len(parts) == 6 && parts[0] == "dapi" && parts[1] == "v1" && flows[parts[2]] != nil && parts[5] == "status":
		if r.Method != http.MethodPost {
			return p.methodNotAllowed(w, "POST")
		}
		return p.status(w, r, parts[2], parts[3], parts[4])
	case len(parts) == 5 && parts[0] == "dapi" && parts[1] == "v1" && flows[parts[2]] != nil:
		p.fail(w, r, "perform", http.StatusNotFound, "FILTERED", "kassa.perform_not_relayed",
			"kassa never relays Perform: card data goes from the app straight to the gateway", "")
		return nil
	}
	p.fail(w, r, "unknown", http.StatusNotFound, "INVALID_REQUEST", "kassa.not_found", "no such Payneteasy endpoint", "")
	return nil
}

// splitPath splits path at '/' into segs, as strings.Split would, without
// allocating, and returns the number of segments; a path with more
// segments than segs holds (no endpoint has that many) gives 0, which no
// route matches.
func splitPath(path string, segs *[7]string) int {
	for n := 0; ; n++ {
		if n == len(segs) {
			return 0
		}
		i := strings.IndexByte(path, '/')
		if i < 0 {
			segs[n] = path
			return n + 1
		}
		segs[n], path = path[:i], path[i+1:]
	}
}

func (p *Payneteasy) methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	httpx.WriteJSON(w, http.StatusMethodNotAllowed, errorBody("INVALID_REQUEST", "kassa.method", "method not allowed, use "+allow, ""))
	return nil
}

// errorBody renders the DAPI error shape.
func errorBody(cause, code, msg, invoiceID string) []byte {
	b := append([]byte(nil), `{"error":{"cause":`...)
	b = core.AppendString(b, cause)
	b = append(b, `,"code":`...)
	b = core.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = core.AppendString(b, msg)
	b = append(b, '}')
	if invoiceID != "" {
		b = append(b, `,"invoiceId":`...)
		b = core.AppendString(b, invoiceID)
	}
	return append(b, '}')
}

// fail answers with the DAPI error shape and counts the outcome.
func (p *Payneteasy) fail(w http.ResponseWriter, r *http.Request, op string, status int, cause, code, msg, invoiceID string) {
	p.count(op, outcomeOf(status))
	if status >= 500 {
		p.logger.Error("request failed", zap.String("op", op), zap.Int("status", status), zap.String("code", code), zap.String("message", msg))
	} else {
		p.logger.Debug("request refused", zap.String("op", op), zap.Int("status", status), zap.String("code", code), zap.String("message", msg))
	}
	httpx.WriteJSON(w, status, errorBody(cause, code, msg, invoiceID))
}

func outcomeOf(status int) string {
	switch {
	case status < 300:
		return "ok"
	case status == 400 || status == 413 || status == 415:
		return "invalid"
	case status == 401:
		return "unauthorized"
	case status == 403:
		return "forbidden"
	case status == 404:
		return "not_found"
	case status == 502 || status == 504:
		return "upstream_error"
	case status == 503:
		return "unavailable"
	}
	return "error"
}

func (p *Payneteasy) count(op, outcome string) {
	p.app.Metrics().Count("payneteasy", op, outcome)
}

// readValid reads and validates a request body. It answers the client
// itself and returns ok=false when the request cannot go on.
func (p *Payneteasy) readValid(w http.ResponseWriter, r *http.Request, op, endpoint, invoiceID string) ([]byte, bool) {
	body, _, ok := p.readIndexed(w, r, op, endpoint, invoiceID, nil) // no index: Validate
	return body, ok
}

// readIndexed is readValid that also checks and indexes the body into ix
// (when not nil) before the validation, which then runs over that index:
// the caller reads the body's fields from the same index (see bodyIndex)
// instead of scanning the body again. tape is nil when the body did not
// index (the validation then checked it, and the caller scans).
func (p *Payneteasy) readIndexed(w http.ResponseWriter, r *http.Request, op, endpoint, invoiceID string, ix *bodyIndex) (body []byte, tape []jsonscan.Entry, ok bool) {
	body, err := httpx.ReadBody(r, p.limit)
	if errors.Is(err, httpx.ErrTooLarge) {
		p.fail(w, r, op, http.StatusRequestEntityTooLarge, "INVALID_REQUEST", "kassa.too_large", "body larger than the limit", invoiceID)
		return nil, nil, false
	}
	if err != nil {
		p.fail(w, r, op, http.StatusBadRequest, "INVALID_REQUEST", "kassa.read", "could not read the body", invoiceID)
		return nil, nil, false
	}
	if !httpx.JSONContentType(r.Header.Get("Content-Type")) {
		p.fail(w, r, op, http.StatusUnsupportedMediaType, "INVALID_REQUEST", "kassa.content_type", "Content-Type must be application/json", invoiceID)
		return nil, nil, false
	}
	if ix != nil {
		tape = ix.index(body)
	}
	res, err := p.eng.ValidateIndexed(r.Context(), endpoint, body, tape) // without a tape, Validate
	if err != nil {
		p.engineFailed(w, r, op, err, invoiceID)
		return nil, nil, false
	}
	if !res.Valid {
		p.fail(w, r, op, http.StatusBadRequest, "INVALID_REQUEST", "kassa.invalid", provider.ViolationText(res.Violations), invoiceID)
		return nil, nil, false
	}
	return body, tape, true
}

// bodyIndex checks and indexes a request body (jsonscan) once, for the
// validation and then for the handler's own reading of its fields: on the
// Check sale's hot path the body's bytes are scanned once, natively, in
// either engine, when the body indexes (strict JSON of at most
// indexEntries values; any other body is validated and read by scanning,
// as before). Pooled: a Scanner keeps its buffers.
type bodyIndex struct {
	s    jsonscan.Scanner
	tape [indexEntries]jsonscan.Entry
}

// indexEntries bounds the values of an indexed body: a Check sale has
// about twenty; a larger body is validated and read by scanning.
const indexEntries = 128

var bodyIndexes = sync.Pool{New: func() any { return new(bodyIndex) }}

// index returns body's index, or nil when body is not strict JSON (the
// validation reports why) or has more than indexEntries values.
func (ix *bodyIndex) index(body []byte) []jsonscan.Entry {
	ix.s.Tape = ix.tape[:]
	if ix.s.Check(body) != nil || ix.s.Indexed == 0 {
		return nil
	}
	return ix.tape[:ix.s.Indexed]
}

func (p *Payneteasy) engineFailed(w http.ResponseWriter, r *http.Request, op string, err error, invoiceID string) {
	var ce *engine.CoreError
	if errors.As(err, &ce) {
		p.fail(w, r, op, http.StatusInternalServerError, "SERVER_FAILED", "kassa.core", ce.Message, invoiceID)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		p.fail(w, r, op, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "kassa.busy", "the core is busy, try again", invoiceID)
		return
	}
	p.logger.Error("engine call failed", zap.Error(err))
	p.fail(w, r, op, http.StatusInternalServerError, "SERVER_FAILED", "kassa.engine", "internal error", invoiceID)
}

// storeFailed maps a store error: an unreachable store is 503 (the gateway
// retries), anything else 500.
func (p *Payneteasy) storeFailed(w http.ResponseWriter, r *http.Request, op string, err error, invoiceID string) {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		p.logger.Error("store unavailable", zap.String("op", op), zap.Error(err))
		p.fail(w, r, op, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "kassa.store_unavailable", "state store unavailable, try again", invoiceID)
		return
	}
	p.logger.Error("store failed", zap.String("op", op), zap.Error(err))
	p.fail(w, r, op, http.StatusInternalServerError, "SERVER_FAILED", "kassa.store", "internal error", invoiceID)
}

// sign returns the signature of an operation over v, with the control key.
func (p *Payneteasy) sign(ctx context.Context, op string, v *sign.Values) (string, error) {
	s, err := p.eng.SignValues(ctx, op, p.key, v)
	return s.Value, err
}

// isJSONObject reports whether b (trimmed) looks like a JSON object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}
