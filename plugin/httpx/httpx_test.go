package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// more is a body that goes on past its declared length (net/http's own
// body stops there; others need not).
type more struct{ io.Reader }

func (more) Close() error { return nil }

func TestReadBody(t *testing.T) {
	const limit = 16
	body := func(s string, declared int64) *http.Request {
		r := httptest.NewRequest("POST", "/", strings.NewReader(s))
		r.ContentLength = declared
		return r
	}
	chunked := func(s string) *http.Request { return body(s, -1) }
	for _, c := range []struct {
		name string
		r    *http.Request
		want string
		err  error
	}{
		{"declared", body(`{"a":1}`, 7), `{"a":1}`, nil},
		{"declared, at the limit", body(strings.Repeat("x", limit), limit), strings.Repeat("x", limit), nil},
		{"declared over the limit", body(strings.Repeat("x", limit+1), limit+1), "", ErrTooLarge},
		{"empty", body("", 0), "", nil},
		{"unknown length", chunked(`{"a":1}`), `{"a":1}`, nil},
		{"unknown length, at the limit", chunked(strings.Repeat("x", limit)), strings.Repeat("x", limit), nil},
		{"unknown length over the limit", chunked(strings.Repeat("x", limit+1)), "", ErrTooLarge},
		{"shorter than declared", body(`{"a"`, 7), "", io.ErrUnexpectedEOF},
	} {
		got, err := ReadBody(c.r, limit)
		if !errors.Is(err, c.err) || (err == nil && string(got) != c.want) {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
	// A body longer than it declared is read on, to the limit.
	r := httptest.NewRequest("POST", "/", nil)
	r.Body, r.ContentLength = more{strings.NewReader("0123456789")}, 4
	if got, err := ReadBody(r, limit); err != nil || string(got) != "0123456789" {
		t.Errorf("longer than declared: %q, %v", got, err)
	}
	r.Body, r.ContentLength = more{bytes.NewReader(make([]byte, limit+1))}, 4
	if _, err := ReadBody(r, limit); !errors.Is(err, ErrTooLarge) {
		t.Errorf("longer than declared, over the limit: %v", err)
	}
	r.Body = nil
	if got, err := ReadBody(r, limit); got != nil || err != nil {
		t.Errorf("no body: %q, %v", got, err)
	}
}

// TestWriteJSON checks the answer's status, headers and body, and that the
// headers sharing one allocation stay separate: a later Add to one of them
// (as a response header handler may make) leaves the others as they were.
func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	body := []byte(`{"ok":true}`)
	WriteJSON(rec, http.StatusAccepted, body)
	h := rec.Header() // the live map, not Result's copy
	if rec.Code != http.StatusAccepted || rec.Body.String() != string(body) {
		t.Fatalf("answer %d %q", rec.Code, rec.Body.String())
	}
	want := map[string]string{"Content-Type": "application/json", "Content-Length": "11", "Cache-Control": "no-store"}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	h.Add("Content-Type", "x")
	h.Add("Content-Length", "y")
	if got := h.Values("Content-Length"); len(got) != 2 || got[0] != "11" {
		t.Errorf("Content-Length after the adds: %q", got)
	}
	if got := h.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control after an Add to the others: %q", got)
	}
}
