package provider

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/validate"
)

func TestIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		vals   []string
		want   string
		wantOK bool
	}{
		{nil, "", true},
		{[]string{"abc-123"}, "abc-123", true},
		{[]string{"order-77/line-1"}, "order-77/line-1", true},
		{[]string{strings.Repeat("k", 255)}, strings.Repeat("k", 255), true},
		{[]string{""}, "", false},
		{[]string{"a b"}, "", false},
		{[]string{"with space"}, "", false},
		{[]string{"ä"}, "", false},
		{[]string{strings.Repeat("k", 256)}, "", false},
		{[]string{"a", "b"}, "", false},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		for _, v := range tc.vals {
			r.Header.Add("Idempotency-Key", v)
		}
		got, ok := IdempotencyKey(r)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%q: got %q %v, want %q %v", tc.vals, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestViolationText(t *testing.T) {
	vs := []validate.Violation{{Path: "a.b", Rule: "required", Message: "missing"}, {Rule: "json", Message: "not JSON"}}
	if got, want := ViolationText(vs), "a.b: missing (required); not JSON (json)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	many := make([]validate.Violation, 12)
	for i := range many {
		many[i] = validate.Violation{Rule: "r", Message: "m"}
	}
	if got := ViolationText(many); strings.Count(got, "m (r)") != 10 || !strings.HasSuffix(got, "; and more") {
		t.Errorf("twelve: %q", got)
	}
}

func TestOutcomeOf(t *testing.T) {
	for status, want := range map[int]string{
		200: "ok", 202: "ok", 204: "ok", 400: "invalid", 405: "invalid", 409: "invalid", 413: "invalid", 415: "invalid",
		401: "unauthorized", 403: "forbidden", 404: "not_found", 502: "upstream_error", 504: "upstream_error",
		503: "unavailable", 500: "error", 429: "error", 301: "error",
	} {
		if got := OutcomeOf(status); got != want {
			t.Errorf("%d: %q, want %q", status, got, want)
		}
	}
}

func TestSafeNameAndCheckURL(t *testing.T) {
	for s, want := range map[string]bool{"smarts": true, "store-1.a_b": true, "": false, "a b": false, "a/b": false, strings.Repeat("x", 65): false} {
		if got := SafeName(s); got != want {
			t.Errorf("SafeName(%q) = %v", s, got)
		}
	}
	for s, ok := range map[string]bool{"https://gateway.smarts.ee/v1": true, "http://127.0.0.1:9/": true,
		"ftp://x": false, "https://": false, "https://x/?a=1": false, "https://x/#f": false, "https://u:p@x/": false, "%zz": false} {
		if err := CheckURL(s); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v", s, err)
		}
	}
}
