// Package provider holds the logic the provider handlers (Smarts, Voyado,
// and Payneteasy where its rules are the same) would otherwise each write
// again: configuration checks, the mapping of engine and store errors to
// an answer, metrics outcomes, violations as log text, and queueing a
// delivery under the client's Idempotency-Key.
//
// The answers stay each provider's own: a helper returns what to send
// (status and message) and the provider's fail renders it in its shape.
package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core/validate"
	"github.com/kassa-edge/kassa/plugin/engine"
	"github.com/kassa-edge/kassa/plugin/store"
)

// CheckURL checks a base URL kassa sends to (a gateway, a cluster): http
// or https with a host, and nothing that a path appended to it would turn
// into something else (query, fragment) or that would put a credential in
// the configuration (user info).
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not carry a query, fragment or user info", s)
	}
	return nil
}

// SafeName reports whether s can name a delivery target: target names
// appear in store rows and metrics.
func SafeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// EngineFailure maps an engine error to the answer: the core's own error
// is a 500 with its message; a cancelled or timed-out call is 503 (the
// engine was busy, the client may retry); anything else is a 500 without
// detail, logged here since the answer does not carry it.
func EngineFailure(logger *zap.Logger, err error) (status int, msg string) {
	var ce *engine.CoreError
	switch {
	case errors.As(err, &ce):
		return http.StatusInternalServerError, "internal error: " + ce.Message
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "the core is busy, try again"
	}
	logger.Error("engine call failed", zap.Error(err))
	return http.StatusInternalServerError, "internal error"
}

// StoreFailure logs a store error and maps it to the answer: an
// unreachable store is 503 (the caller retries), anything else 500.
func StoreFailure(logger *zap.Logger, op string, err error) (status int, msg string) {
	logger.Error("store failed", zap.String("op", op), zap.Error(err))
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, "state store unavailable, try again"
	}
	return http.StatusInternalServerError, "internal error"
}

// OutcomeOf is the metrics outcome label of an answer's status, the same
// for Smarts and Voyado so their dashboards read alike. (Payneteasy keeps
// its own: it counts 405 and 409 as errors.)
func OutcomeOf(status int) string {
	switch {
	case status < 300:
		return "ok"
	case status == 400 || status == 405 || status == 409 || status == 413 || status == 415:
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

// ViolationText joins violations as "path: message (rule); ..." for logs
// and one-line messages, at most ten of them.
func ViolationText(vs []validate.Violation) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 10 {
			b.WriteString("and more")
			break
		}
		if v.Path != "" {
			b.WriteString(v.Path)
			b.WriteString(": ")
		}
		b.WriteString(v.Message)
		b.WriteString(" (")
		b.WriteString(string(v.Rule))
		b.WriteString(")")
	}
	return b.String()
}

// IdempotencyKey returns the request's Idempotency-Key header, "" when
// there is none; ok is false for a malformed one (repeated, empty, longer
// than 255 bytes, or not printable ASCII): the key becomes a delivery id,
// a store key.
func IdempotencyKey(r *http.Request) (key string, ok bool) {
	vs := r.Header.Values("Idempotency-Key")
	if len(vs) == 0 {
		return "", true
	}
	k := vs[0]
	if len(vs) > 1 || k == "" || len(k) > 255 {
		return "", false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", false
		}
	}
	return k, true
}

// ErrKeyReused is Enqueue's answer to a key already used for another
// request.
var ErrKeyReused = errors.New("idempotency key reused")

// Enqueue adds d, or accepts a repeat of the same request under the same
// key (the first one stays queued once): a client that retries after a
// lost answer does not send twice. The same key with another request is
// ErrKeyReused.
func Enqueue(tx store.Tx, d *store.Delivery) error {
	created, err := tx.Enqueue(d)
	if err != nil || created {
		return err
	}
	old, err := tx.GetDelivery(d.ID)
	if err != nil {
		return err
	}
	if old.Target != d.Target || old.URL != d.URL || !bytes.Equal(old.Body, d.Body) {
		return ErrKeyReused
	}
	return nil
}

// RandomHex returns n random bytes as lower-case hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
