package store

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxKeyLen bounds bucket names, keys and delivery IDs. PostgreSQL cannot
// index a btree entry larger than about 2.7 KB, so both backends refuse
// longer keys the same way instead of failing only on PostgreSQL.
const maxKeyLen = 1024

// checkName validates a bucket name, key or delivery ID. Both backends
// apply the same rules so a key that works on bbolt also works on
// PostgreSQL (whose text type rejects NUL and invalid UTF-8).
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("store: empty %s", what)
	case len(s) > maxKeyLen:
		return fmt.Errorf("store: %s longer than %d bytes", what, maxKeyLen)
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("store: %s %q is not valid UTF-8 text", what, s)
	}
	return nil
}

// checkText validates a delivery's free-form string fields, which
// PostgreSQL stores as text (no NUL, valid UTF-8).
func checkText(what, s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("store: delivery %s %q is not valid UTF-8 text", what, s)
	}
	return nil
}

func checkKey(bucket, key string) error {
	if err := checkName("bucket name", bucket); err != nil {
		return err
	}
	return checkName("key", key)
}

// checkState accepts the three delivery states, and "" where the caller
// means any state.
func checkState(s State, allowAny bool) error {
	switch s {
	case StatePending, StateDone, StateDead:
		return nil
	case "":
		if allowAny {
			return nil
		}
	}
	return fmt.Errorf("store: unknown delivery state %q", s)
}

// cleanText makes free text (error messages, response snippets) storable
// in a PostgreSQL text column: invalid UTF-8 and NUL bytes become U+FFFD.
// Both backends apply it so they return the same LastError.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// normTime rounds t down to the microsecond in UTC, the precision of a
// PostgreSQL timestamptz, so both backends return identical times.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// live reports whether a record with this expiry is visible at now.
func live(expires, now time.Time) bool {
	return expires.IsZero() || now.Before(expires)
}

// newDelivery returns the record Enqueue stores for d: a copy in state
// pending with no attempts, its zero times set to now.
func newDelivery(d *Delivery, now time.Time) (*Delivery, error) {
	if d == nil {
		return nil, fmt.Errorf("store: nil delivery")
	}
	if err := checkName("delivery ID", d.ID); err != nil {
		return nil, err
	}
	for what, s := range map[string]string{"target": d.Target, "method": d.Method, "URL": d.URL} {
		if err := checkText(what, s); err != nil {
			return nil, err
		}
	}
	for k, vs := range d.Header {
		for _, s := range append([]string{k}, vs...) {
			if err := checkText("header", s); err != nil {
				return nil, err
			}
		}
	}
	n := *d
	n.State = StatePending
	n.Attempts = 0
	n.DoneAt = time.Time{}
	n.LastError = ""
	n.CreatedAt = normTime(n.CreatedAt)
	n.NextAt = normTime(n.NextAt)
	if n.CreatedAt.IsZero() {
		n.CreatedAt = normTime(now)
	}
	if n.NextAt.IsZero() {
		n.NextAt = normTime(now)
	}
	if n.Body == nil {
		n.Body = []byte{}
	}
	return &n, nil
}
