// Package adminapi is the admin.api.kassa module: read-only inspection of
// the running kassa app's store through Caddy's admin endpoint, and one
// repair action (requeueing a dead delivery). `caddy kassa invoices`,
// `invoice`, `deliveries`, `delivery` and `requeue` are its clients.
//
// Routes (JSON answers; errors are Caddy's {"error":"..."} with a status):
//
//	GET  /kassa/invoices?after=<key>&limit=<n>    archived Smarts invoices, key order
//	     -> {"invoices":[<invoice>...],"next":"<key>"}   (next only if more)
//	GET  /kassa/invoices/<id>                      -> <invoice>
//	GET  /kassa/deliveries?state=&target=&limit=&body=1
//	     -> {"deliveries":[<delivery>...]}        ordered by creation
//	GET  /kassa/deliveries/<id>[?body=1]           -> <delivery>
//	POST /kassa/deliveries/<id>/requeue            dead -> pending, due now
//	     -> <delivery>; 404 unknown id, 409 not dead
//
// A <delivery> is {"id","target","state","attempts","created","next",
// "done","lastError","method","url"} (times RFC 3339, UTC; done only when
// delivered) and, with ?body=1 only, "header" and "body". Deliveries hold
// no secrets by design (senders add credentials when they send); as a
// second line of defence, credential-like headers are shown as
// "[redacted]" anyway. A body that is JSON is embedded as JSON, any other
// body as a string. An <invoice> is {"id","receivedAt","invoice"}: the
// archive key (the invoice's id), when kassa archived it, and the invoice
// as Smarts sent it.
// Ids containing '/' are path-escaped (%2F) in the URL.
//
// The module finds the app of the running config at request time
// (caddy.ActiveContext), not when it is provisioned: Caddy provisions admin
// routers before the config's apps, and keeps the admin server across
// reloads only until the next one.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/kassa-edge/kassa/plugin/app"
	"github.com/kassa-edge/kassa/plugin/store"
)

func init() {
	caddy.RegisterModule(API{})
}

// Limits of the listings.
const (
	DefaultInvoiceLimit  = 50
	DefaultDeliveryLimit = 100
	MaxLimit             = 1000
)

// Backend is what the routes need from the kassa app (*app.App has it).
type Backend interface {
	Store() store.Store
	// Notify wakes the outbox worker (after a requeue).
	Notify()
}

// API is the admin.api.kassa module.
type API struct {
	// resolve finds the backend at request time; nil means the kassa app
	// of the running config. Tests set it.
	resolve func() (Backend, error)
	now     func() time.Time
}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.kassa", New: func() caddy.Module { return new(API) }}
}

// New returns an API over a fixed backend, for tests and embedding.
func New(b Backend) *API {
	return &API{resolve: func() (Backend, error) { return b, nil }}
}

// Routes returns the admin routes.
func (a *API) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/kassa/", Handler: caddy.AdminHandlerFunc(a.ServeHTTP)},
	}
}

// ServeHTTP serves every /kassa/ route (caddy.AdminHandler).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return apiErr(http.StatusBadRequest, "%v", err)
	}
	switch {
	case len(segs) == 1 && segs[0] == "invoices":
		if err := method(r, http.MethodGet); err != nil {
			return err
		}
		return a.listInvoices(w, r)
	case len(segs) == 2 && segs[0] == "invoices":
		if err := method(r, http.MethodGet); err != nil {
			return err
		}
		return a.getInvoice(w, r, segs[1])
	case len(segs) == 1 && segs[0] == "deliveries":
		if err := method(r, http.MethodGet); err != nil {
			return err
		}
		return a.listDeliveries(w, r)
	case len(segs) == 2 && segs[0] == "deliveries":
		if err := method(r, http.MethodGet); err != nil {
			return err
		}
		return a.getDelivery(w, r, segs[1])
	case len(segs) == 3 && segs[0] == "deliveries" && segs[2] == "requeue":
		if err := method(r, http.MethodPost); err != nil {
			return err
		}
		return a.requeue(w, r, segs[1])
	}
	return apiErr(http.StatusNotFound, "kassa admin: no route %s %s (see GET /kassa/invoices, /kassa/deliveries)", r.Method, r.URL.Path)
}

// segments splits the escaped path after /kassa/ into unescaped segments,
// ignoring one trailing slash.
func segments(escaped string) ([]string, error) {
	rest, ok := strings.CutPrefix(escaped, "/kassa/")
	if !ok {
		return nil, errors.New("kassa admin: path must start with /kassa/")
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return nil, nil
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("kassa admin: bad path segment %q: %v", p, err)
		}
		if s == "" {
			return nil, errors.New("kassa admin: empty path segment")
		}
		parts[i] = s
	}
	return parts, nil
}

func method(r *http.Request, want string) error {
	if r.Method == want || (want == http.MethodGet && r.Method == http.MethodHead) {
		return nil
	}
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("kassa admin: method %s not allowed, use %s", r.Method, want)}
}

func apiErr(status int, format string, args ...any) error {
	return caddy.APIError{HTTPStatus: status, Err: fmt.Errorf(format, args...)}
}

// backend returns the store of the running kassa app.
func (a *API) backend() (Backend, store.Store, error) {
	resolve := a.resolve
	if resolve == nil {
		resolve = activeApp
	}
	b, err := resolve()
	if err != nil {
		return nil, nil, err
	}
	st := b.Store()
	if st == nil {
		return nil, nil, apiErr(http.StatusServiceUnavailable, "kassa: the app has no store (not provisioned)")
	}
	return b, st, nil
}

// activeApp is the kassa app of the running config.
func activeApp() (Backend, error) {
	v, err := caddy.ActiveContext().AppIfConfigured("kassa")
	if errors.Is(err, caddy.ErrNotConfigured) {
		return nil, apiErr(http.StatusNotFound, "kassa is not configured in the running config (no kassa global option or handler)")
	}
	if err != nil {
		return nil, apiErr(http.StatusServiceUnavailable, "kassa: %v", err)
	}
	ka, ok := v.(*app.App)
	if !ok || ka == nil {
		return nil, apiErr(http.StatusServiceUnavailable, "kassa: app has unexpected type %T", v)
	}
	return ka, nil
}

// storeErr maps a store error to an API error.
func storeErr(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apiErr(http.StatusNotFound, "%s: not found", op)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return apiErr(http.StatusServiceUnavailable, "%s: %v", op, err)
	}
	return apiErr(http.StatusInternalServerError, "%s: %v", op, err)
}

func limit(q url.Values, def int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, apiErr(http.StatusBadRequest, "limit: %q is not a number from 1 to %d", s, MaxLimit)
	}
	return n, nil
}

func flag(q url.Values, name string) (bool, error) {
	switch s := q.Get(name); s {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, apiErr(http.StatusBadRequest, "%s: %q is not 1 or 0", name, s)
	}
}

// Invoice is one archived invoice.
type Invoice struct {
	// ID is the archive key: the invoice's id (package smarts, InvoiceKey).
	ID string `json:"id"`
	// ReceivedAt is when kassa archived it (RFC 3339), if recorded.
	ReceivedAt string `json:"receivedAt,omitempty"`
	// Invoice is the invoice as Smarts sent it.
	Invoice json.RawMessage `json:"invoice"`
}

// invoiceView reads an archive record: package smarts stores
// {"receivedAt":"...","invoice":<body>}; any other value is shown whole.
func invoiceView(key string, v []byte) Invoice {
	var rec struct {
		ReceivedAt string          `json:"receivedAt"`
		Invoice    json.RawMessage `json:"invoice"`
	}
	if json.Unmarshal(v, &rec) == nil && len(rec.Invoice) > 0 && rec.ReceivedAt != "" {
		return Invoice{ID: key, ReceivedAt: rec.ReceivedAt, Invoice: rec.Invoice}
	}
	return Invoice{ID: key, Invoice: asJSON(v)}
}

// InvoiceList is the answer of GET /kassa/invoices.
type InvoiceList struct {
	Invoices []Invoice `json:"invoices"`
	// Next is the `after` of the next page, empty on the last page.
	Next string `json:"next,omitempty"`
}

func (a *API) listInvoices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n, err := limit(q, DefaultInvoiceLimit)
	if err != nil {
		return err
	}
	_, st, err := a.backend()
	if err != nil {
		return err
	}
	var kvs []store.KV
	err = st.View(r.Context(), func(tx store.Tx) error {
		var err error
		kvs, err = tx.List(store.BucketInvoices, "", q.Get("after"), n+1)
		return err
	})
	if err != nil {
		return storeErr("list invoices", err)
	}
	out := InvoiceList{Invoices: make([]Invoice, 0, len(kvs))}
	if len(kvs) > n {
		kvs = kvs[:n]
		out.Next = kvs[n-1].Key
	}
	for _, kv := range kvs {
		out.Invoices = append(out.Invoices, invoiceView(kv.Key, kv.Value))
	}
	return writeJSON(w, out)
}

func (a *API) getInvoice(w http.ResponseWriter, r *http.Request, id string) error {
	_, st, err := a.backend()
	if err != nil {
		return err
	}
	var v []byte
	err = st.View(r.Context(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(store.BucketInvoices, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return apiErr(http.StatusNotFound, "no invoice %q in the archive", id)
	}
	if err != nil {
		return storeErr("get invoice", err)
	}
	return writeJSON(w, invoiceView(id, v))
}

// Delivery is the view of one outbox delivery.
type Delivery struct {
	ID        string              `json:"id"`
	Target    string              `json:"target"`
	State     store.State         `json:"state"`
	Attempts  int                 `json:"attempts"`
	Created   string              `json:"created"`
	Next      string              `json:"next,omitempty"`
	Done      string              `json:"done,omitempty"`
	LastError string              `json:"lastError"`
	Method    string              `json:"method"`
	URL       string              `json:"url"`
	Header    map[string][]string `json:"header,omitempty"`
	Body      json.RawMessage     `json:"body,omitempty"`
}

// DeliveryList is the answer of GET /kassa/deliveries.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
}

// redactedHeaders are never shown, even with body=1 (lower case).
var redactedHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"api-key": true, "x-api-key": true, "accesstoken": true, "access-token": true,
	"x-access-token": true, "token": true, "x-auth-token": true,
}

func view(d *store.Delivery, withBody bool) Delivery {
	v := Delivery{
		ID: d.ID, Target: d.Target, State: d.State, Attempts: d.Attempts,
		Created: ts(d.CreatedAt), Next: ts(d.NextAt), Done: ts(d.DoneAt),
		LastError: d.LastError, Method: d.Method, URL: d.URL,
	}
	if withBody {
		if len(d.Header) > 0 {
			v.Header = make(map[string][]string, len(d.Header))
			for k, vals := range d.Header {
				if redactedHeaders[strings.ToLower(k)] {
					vals = []string{"[redacted]"}
				}
				v.Header[k] = vals
			}
		}
		if len(d.Body) > 0 {
			v.Body = asJSON(d.Body)
		}
	}
	return v
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n, err := limit(q, DefaultDeliveryLimit)
	if err != nil {
		return err
	}
	withBody, err := flag(q, "body")
	if err != nil {
		return err
	}
	state := store.State(q.Get("state"))
	switch state {
	case "", store.StatePending, store.StateDone, store.StateDead:
	default:
		return apiErr(http.StatusBadRequest, "state: %q is not pending, done or dead", state)
	}
	_, st, err := a.backend()
	if err != nil {
		return err
	}
	var ds []*store.Delivery
	err = st.View(r.Context(), func(tx store.Tx) error {
		var err error
		ds, err = tx.ListDeliveries(state, q.Get("target"), n)
		return err
	})
	if err != nil {
		return storeErr("list deliveries", err)
	}
	out := DeliveryList{Deliveries: make([]Delivery, 0, len(ds))}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, view(d, withBody))
	}
	return writeJSON(w, out)
}

func getDelivery(ctx context.Context, st store.Store, id string) (*store.Delivery, error) {
	var d *store.Delivery
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		d, err = tx.GetDelivery(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr(http.StatusNotFound, "no delivery %q", id)
	}
	if err != nil {
		return nil, storeErr("get delivery", err)
	}
	return d, nil
}

func (a *API) getDelivery(w http.ResponseWriter, r *http.Request, id string) error {
	withBody, err := flag(r.URL.Query(), "body")
	if err != nil {
		return err
	}
	_, st, err := a.backend()
	if err != nil {
		return err
	}
	d, err := getDelivery(r.Context(), st, id)
	if err != nil {
		return err
	}
	return writeJSON(w, view(d, withBody))
}

func (a *API) requeue(w http.ResponseWriter, r *http.Request, id string) error {
	b, st, err := a.backend()
	if err != nil {
		return err
	}
	d, err := getDelivery(r.Context(), st, id)
	if err != nil {
		return err
	}
	if d.State != store.StateDead {
		return apiErr(http.StatusConflict, "delivery %q is %s, not dead: only dead deliveries can be requeued", id, d.State)
	}
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	if err := st.Requeue(r.Context(), id, now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return apiErr(http.StatusNotFound, "no delivery %q", id)
		}
		if errors.Is(err, store.ErrUnavailable) {
			return storeErr("requeue", err)
		}
		// Another requeue (or the worker) changed it in between.
		return apiErr(http.StatusConflict, "requeue %q: %v", id, err)
	}
	// Read it back before the worker may claim it, then wake the worker.
	d, err = getDelivery(r.Context(), st, id)
	b.Notify()
	if err != nil {
		return err
	}
	return writeJSON(w, view(d, false))
}

// asJSON returns b if it is JSON, else b as a JSON string.
func asJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	var s bytes.Buffer
	enc := json.NewEncoder(&s)
	enc.SetEscapeHTML(false)
	enc.Encode(string(b))
	return bytes.TrimSuffix(s.Bytes(), []byte("\n"))
}

// writeJSON answers v as JSON, without HTML escaping, so stored documents
// come back as they were sent.
func writeJSON(w http.ResponseWriter, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return apiErr(http.StatusInternalServerError, "encoding answer: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(b.Bytes())
	return err
}

// Interface guards.
var (
	_ caddy.AdminRouter  = (*API)(nil)
	_ caddy.AdminHandler = (*API)(nil)
	_ Backend            = (*app.App)(nil)
)
