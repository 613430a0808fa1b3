package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/kassa-edge/kassa/plugin/store"
)

type fakeBackend struct {
	st       store.Store
	notified atomic.Int32
}

func (f *fakeBackend) Store() store.Store { return f.st }
func (f *fakeBackend) Notify()            { f.notified.Add(1) }

func newAPI(t *testing.T) (*API, *fakeBackend) {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "kassa.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := &fakeBackend{st: st}
	return New(b), b
}

// do serves one request and returns the status and body, mapping the
// handler's error as Caddy's admin server does.
func do(t *testing.T, a *API, method, target string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, target, nil)
	if err := a.ServeHTTP(w, r); err != nil {
		var ae caddy.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%s %s: error %v is not an APIError", method, target, err)
		}
		return ae.HTTPStatus, ae.Err.Error()
	}
	return w.Code, w.Body.String()
}

func TestRoutes(t *testing.T) {
	a, b := newAPI(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a.now = func() time.Time { return now }
	err := b.st.Update(ctx, func(tx store.Tx) error {
		for i, k := range []string{"a", "b", "c/d", "e"} {
			v := `{"n":` + string(rune('0'+i)) + `}`
			switch k {
			case "e":
				v = "not json"
			case "a":
				v = `{"receivedAt":"2026-01-02T03:04:05Z","invoice":{"id":"a"}}`
			}
			if err := tx.Put(store.BucketInvoices, k, []byte(v), time.Time{}); err != nil {
				return err
			}
		}
		for _, id := range []string{"d/1", "d2"} {
			if _, err := tx.Enqueue(&store.Delivery{ID: id, Target: "t", Method: "POST", URL: "http://x/y",
				Header: map[string][]string{"Api-Key": {"k"}, "X-Ok": {"1"}}, Body: []byte("<plain>"),
				CreatedAt: now.Add(-time.Hour), NextAt: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.st.Dead(ctx, "d/1", "gave up"); err != nil {
		t.Fatal(err)
	}

	code, body := do(t, a, "GET", "/kassa/invoices?limit=2")
	var list InvoiceList
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Invoices) != 2 || list.Next != "b" ||
		list.Invoices[0].ReceivedAt != "2026-01-02T03:04:05Z" || string(list.Invoices[0].Invoice) != `{"id":"a"}` {
		t.Fatalf("%d %s", code, body)
	}
	code, body = do(t, a, "GET", "/kassa/invoices?after=b")
	list = InvoiceList{}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Invoices) != 2 || list.Next != "" ||
		list.Invoices[0].ID != "c/d" || string(list.Invoices[1].Invoice) != `"not json"` {
		t.Fatalf("%d %s", code, body)
	}
	code, body = do(t, a, "GET", "/kassa/invoices/c%2Fd")
	if code != 200 || body != `{"id":"c/d","invoice":{"n":2}}`+"\n" {
		t.Fatalf("%d %s", code, body)
	}

	code, body = do(t, a, "GET", "/kassa/deliveries")
	if code != 200 || strings.Contains(body, `"body"`) || strings.Contains(body, `"header"`) {
		t.Fatalf("%d %s", code, body)
	}
	code, body = do(t, a, "GET", "/kassa/deliveries?state=dead&body=1")
	var dl DeliveryList
	if code != 200 || json.Unmarshal([]byte(body), &dl) != nil || len(dl.Deliveries) != 1 {
		t.Fatalf("%d %s", code, body)
	}
	d := dl.Deliveries[0]
	if d.ID != "d/1" || d.State != store.StateDead || d.LastError != "gave up" || string(d.Body) != `"<plain>"` ||
		d.Header["Api-Key"][0] != "[redacted]" || d.Header["X-Ok"][0] != "1" ||
		d.Created != "2026-01-02T02:04:05Z" {
		t.Fatalf("%+v", d)
	}

	code, body = do(t, a, "POST", "/kassa/deliveries/d2/requeue")
	if code != http.StatusConflict || !strings.Contains(body, "not dead") {
		t.Fatalf("%d %s", code, body)
	}
	code, body = do(t, a, "POST", "/kassa/deliveries/nope/requeue")
	if code != http.StatusNotFound || !strings.Contains(body, `no delivery "nope"`) {
		t.Fatalf("%d %s", code, body)
	}
	code, body = do(t, a, "POST", "/kassa/deliveries/d%2F1/requeue")
	if code != 200 || json.Unmarshal([]byte(body), &d) != nil || d.State != store.StatePending || d.Next != "2026-01-02T03:04:05Z" {
		t.Fatalf("%d %s", code, body)
	}
	if b.notified.Load() != 1 {
		t.Fatal("the worker was not notified")
	}

	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{"POST", "/kassa/invoices", 405},
		{"GET", "/kassa/deliveries/d2/requeue", 405},
		{"GET", "/kassa/invoices?limit=0", 400},
		{"GET", "/kassa/invoices?limit=1001", 400},
		{"GET", "/kassa/deliveries?state=gone", 400},
		{"GET", "/kassa/deliveries?body=yes", 400},
		{"GET", "/kassa/", 404},
		{"GET", "/kassa/receipts", 404},
		{"GET", "/kassa/invoices/nope", 404},
		{"GET", "/kassa/deliveries/nope", 404},
		{"GET", "/kassa/deliveries/d2", 200},
	} {
		if code, body := do(t, a, tc.method, tc.target); code != tc.code {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.target, code, body, tc.code)
		}
	}
}

// Without a running config there is no kassa app: a clear 404.
func TestNotConfigured(t *testing.T) {
	a := new(API)
	code, body := do(t, a, "GET", "/kassa/deliveries")
	if code != http.StatusNotFound || !strings.Contains(body, "not configured") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestModule(t *testing.T) {
	mi, err := caddy.GetModule("admin.api.kassa")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mi.New().(caddy.AdminRouter); !ok {
		t.Fatal("not an AdminRouter")
	}
}
