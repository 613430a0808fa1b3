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
