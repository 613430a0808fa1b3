// Package storetest is the conformance suite every store.Store
// implementation must pass. Both backends run the same tests, so provider
// code written against store.Tx behaves the same on bbolt and PostgreSQL.
// It also holds Snapshot and Diff, with which the end-to-end, fuzz and
// hardening tests prove that a refused request changed nothing.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kassa-edge/kassa/plugin/store"
)

// Opener gives the suite stores. It returns a new, empty store and
// reopen, which opens the same data again; the suite calls reopen only
// after closing s. The suite closes every store it gets (Close must be
// idempotent), and may call Opener from parallel subtests.
type Opener func(t *testing.T) (s store.Store, reopen func(t *testing.T) store.Store)

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"KV", testKV},
		{"BinaryValues", testBinaryValues},
		{"List", testList},
		{"Expiry", testExpiry},
		{"Insert", testInsert},
		{"UpdateRollback", testUpdateRollback},
		{"UpdateSeesOwnWrites", testUpdateSeesOwnWrites},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"CanceledContext", testCanceledContext},
		{"InvalidInput", testInvalidInput},
		{"Enqueue", testEnqueue},
		{"ClaimOrder", testClaimOrder},
		{"ClaimLease", testClaimLease},
		{"Transitions", testTransitions},
		{"CountDeliveries", testCountDeliveries},
		{"ListDeliveries", testListDeliveries},
		{"Sweep", testSweep},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"ConcurrentCounter", testConcurrentCounter},
		{"GetLocksMissingKey", testGetLocksMissingKey},
		{"Durability", testDurability},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// newStore opens a store closed at the end of the test.
func newStore(t *testing.T, open Opener) store.Store {
	t.Helper()
	s, _ := open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func put(t *testing.T, s store.Store, bucket, key string, value []byte, expires time.Time) {
	t.Helper()
	update(t, s, func(tx store.Tx) error { return tx.Put(bucket, key, value, expires) })
}

func get(t *testing.T, s store.Store, bucket, key string) ([]byte, error) {
	t.Helper()
	var v []byte
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(bucket, key)
		return err
	})
	return v, err
}

// wantValue asserts bucket/key holds want.
func wantValue(t *testing.T, s store.Store, bucket, key string, want []byte) {
	t.Helper()
	got, err := get(t, s, bucket, key)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v, want %q", bucket, key, err, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%s, %s) = %q, want %q", bucket, key, got, want)
	}
}

// wantMissing asserts Get reports ErrNotFound.
func wantMissing(t *testing.T, s store.Store, bucket, key string) {
	t.Helper()
	got, err := get(t, s, bucket, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s, %s) = %q, %v; want ErrNotFound", bucket, key, got, err)
	}
}

func list(t *testing.T, s store.Store, bucket, prefix, after string, limit int) []store.KV {
	t.Helper()
	var kvs []store.KV
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		kvs, err = tx.List(bucket, prefix, after, limit)
		return err
	})
	if err != nil {
		t.Fatalf("List(%s, %q, %q, %d): %v", bucket, prefix, after, limit, err)
	}
	return kvs
}

func keys(kvs []store.KV) string {
	ks := make([]string, len(kvs))
	for i, kv := range kvs {
		ks[i] = kv.Key
	}
	return strings.Join(ks, " ")
}

func testKV(t *testing.T, open Opener) {
	s := newStore(t, open)
	wantMissing(t, s, "never-created", "k")

	put(t, s, store.BucketSessions, "flow/1", []byte("v1"), time.Time{})
	wantValue(t, s, store.BucketSessions, "flow/1", []byte("v1"))
	// The same key in another bucket is another record.
	wantMissing(t, s, store.BucketTokens, "flow/1")
	put(t, s, store.BucketTokens, "flow/1", []byte("other"), time.Time{})
	wantValue(t, s, store.BucketSessions, "flow/1", []byte("v1"))

	put(t, s, store.BucketSessions, "flow/1", []byte("v2"), time.Time{})
	wantValue(t, s, store.BucketSessions, "flow/1", []byte("v2"))

	update(t, s, func(tx store.Tx) error { return tx.Delete(store.BucketSessions, "flow/1") })
	wantMissing(t, s, store.BucketSessions, "flow/1")
	wantValue(t, s, store.BucketTokens, "flow/1", []byte("other"))
	// Deleting what is not there is not an error.
	update(t, s, func(tx store.Tx) error { return tx.Delete(store.BucketSessions, "flow/1") })
	update(t, s, func(tx store.Tx) error { return tx.Delete("never-created", "k") })

	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testBinaryValues(t *testing.T, open Opener) {
	s := newStore(t, open)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := bytes.Repeat(all, 4096) // 1 MiB
	put(t, s, "bin", "all", all, time.Time{})
	put(t, s, "bin", "big", big, time.Time{})
	put(t, s, "bin", "empty", nil, time.Time{})
	wantValue(t, s, "bin", "all", all)
	wantValue(t, s, "bin", "big", big)
	// An empty value is a record, not a missing one.
	wantValue(t, s, "bin", "empty", []byte{})
	kvs := list(t, s, "bin", "all", "", 0)
	if len(kvs) != 1 || !bytes.Equal(kvs[0].Value, all) {
		t.Fatalf("List returned %d records, value %x; want the 256 bytes", len(kvs), kvs)
	}
	// Keys are UTF-8 text, not only ASCII.
	put(t, s, "bin", "ключ/✓", []byte("x"), time.Time{})
	wantValue(t, s, "bin", "ключ/✓", []byte("x"))
}

func testList(t *testing.T, open Opener) {
	s := newStore(t, open)
	all := []string{"a", "a/1", "a/10", "a/2", "b/1", "z", "é"} // byte order: 'z' < 0xC3
	update(t, s, func(tx store.Tx) error {
		for _, k := range []string{"é", "b/1", "a/2", "a", "z", "a/10", "a/1"} {
			if err := tx.Put("list", k, []byte("v:"+k), time.Time{}); err != nil {
				return err
			}
		}
		return tx.Put("other", "a/3", []byte("elsewhere"), time.Time{})
	})
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"", "", 0, strings.Join(all, " ")},
		{"a/", "", 0, "a/1 a/10 a/2"},
		{"a/", "a/1", 0, "a/10 a/2"},
		{"a/", "", 2, "a/1 a/10"},
		{"a/", "a/1", 1, "a/10"},
		{"a/", "a", 0, "a/1 a/10 a/2"}, // after sorts before the prefix
		{"a/", "a/2", 0, ""},
		{"a/", "b", 0, ""}, // after sorts past the prefix
		{"", "z", 0, "é"},
		{"a", "", -1, "a a/1 a/10 a/2"},
		{"x", "", 0, ""},
	} {
		kvs := list(t, s, "list", c.prefix, c.after, c.limit)
		if got := keys(kvs); got != c.want {
			t.Errorf("List(prefix %q, after %q, limit %d) = [%s], want [%s]", c.prefix, c.after, c.limit, got, c.want)
		}
		for _, kv := range kvs {
			if string(kv.Value) != "v:"+kv.Key {
				t.Errorf("List: %s has value %q, want %q", kv.Key, kv.Value, "v:"+kv.Key)
			}
		}
	}
	// Paging with after = last key returns everything exactly once.
	var paged []string
	after := ""
	for {
		kvs := list(t, s, "list", "", after, 2)
		if len(kvs) == 0 {
			break
		}
		for _, kv := range kvs {
			paged = append(paged, kv.Key)
		}
		after = kvs[len(kvs)-1].Key
	}
	if got, want := strings.Join(paged, " "), strings.Join(all, " "); got != want {
		t.Fatalf("paging by 2 = [%s], want [%s]", got, want)
	}
	if kvs := list(t, s, "never-created", "", "", 0); len(kvs) != 0 {
		t.Fatalf("List of a missing bucket = [%s], want empty", keys(kvs))
	}
}

func testExpiry(t *testing.T, open Opener) {
	s := newStore(t, open)
	now := time.Now()
	soon := now.Add(400 * time.Millisecond)
	put(t, s, "exp", "past", []byte("p"), now.Add(-time.Second))
	put(t, s, "exp", "future", []byte("f"), now.Add(time.Hour))
	put(t, s, "exp", "forever", []byte("n"), time.Time{})
	put(t, s, "exp", "soon", []byte("s"), soon)

	wantMissing(t, s, "exp", "past")
	wantValue(t, s, "exp", "future", []byte("f"))
	wantValue(t, s, "exp", "forever", []byte("n"))
	if time.Now().Before(soon.Add(-100 * time.Millisecond)) {
		wantValue(t, s, "exp", "soon", []byte("s"))
	}
	if got := keys(list(t, s, "exp", "", "", 0)); got != "forever future soon" && time.Now().Before(soon) {
		t.Fatalf("List = [%s], want [forever future soon]", got)
	}
	time.Sleep(time.Until(soon) + 10*time.Millisecond)
	wantMissing(t, s, "exp", "soon")
	if got := keys(list(t, s, "exp", "", "", 0)); got != "forever future" {
		t.Fatalf("List after expiry = [%s], want [forever future]", got)
	}
	// Get inside Update sees the same.
	update(t, s, func(tx store.Tx) error {
		if _, err := tx.Get("exp", "past"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get(past) in Update: %v, want ErrNotFound", err)
		}
		return nil
	})
	// Put replaces an expiry with none.
	put(t, s, "exp", "past", []byte("p2"), time.Time{})
	wantValue(t, s, "exp", "past", []byte("p2"))
}

func testInsert(t *testing.T, open Opener) {
	s := newStore(t, open)
	insert := func(key, value string, expires time.Time) bool {
		t.Helper()
		var created bool
		update(t, s, func(tx store.Tx) error {
			var err error
			created, err = tx.Insert("ins", key, []byte(value), expires)
			return err
		})
		return created
	}
	if !insert("k", "first", time.Time{}) {
		t.Fatal("Insert of a new key: created = false")
	}
	if insert("k", "second", time.Now().Add(-time.Hour)) {
		t.Fatal("Insert over a live record: created = true")
	}
	// Unchanged: value, and expiry (the second Insert's past expiry would
	// have hidden it).
	wantValue(t, s, "ins", "k", []byte("first"))

	put(t, s, "ins", "old", []byte("expired"), time.Now().Add(-time.Second))
	if !insert("old", "fresh", time.Now().Add(time.Hour)) {
		t.Fatal("Insert over an expired record: created = false")
	}
	wantValue(t, s, "ins", "old", []byte("fresh"))
	if insert("old", "again", time.Time{}) {
		t.Fatal("second Insert over the replaced record: created = true")
	}
	wantValue(t, s, "ins", "old", []byte("fresh"))
}

var errBoom = errors.New("boom")

func testUpdateRollback(t *testing.T, open Opener) {
	s := newStore(t, open)
	put(t, s, "rb", "keep", []byte("kept"), time.Time{})
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Enqueue(&store.Delivery{ID: "existing", Target: "events", Method: "POST", URL: "http://x/"})
		return err
	})
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("rb", "new", []byte("x"), time.Time{}); err != nil {
			return err
		}
		if _, err := tx.Insert("rb", "ins", []byte("x"), time.Time{}); err != nil {
			return err
		}
		if err := tx.Put("rb", "keep", []byte("changed"), time.Time{}); err != nil {
			return err
		}
		if err := tx.Delete("rb", "keep"); err != nil {
			return err
		}
		if _, err := tx.Enqueue(&store.Delivery{ID: "rolled-back", Target: "events"}); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	wantMissing(t, s, "rb", "new")
	wantMissing(t, s, "rb", "ins")
	wantValue(t, s, "rb", "keep", []byte("kept"))
	if _, err := getDelivery(t, s, "rolled-back"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDelivery(rolled-back): %v, want ErrNotFound", err)
	}
	if ds := claim(t, s, time.Now().Add(time.Hour), 10); len(ds) != 1 || ds[0].ID != "existing" {
		t.Fatalf("Claim after rollback = %v, want [existing]", ids(ds))
	}
}

func testUpdateSeesOwnWrites(t *testing.T, open Opener) {
	s := newStore(t, open)
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("own", "k", []byte("v"), time.Time{}); err != nil {
			return err
		}
		if v, err := tx.Get("own", "k"); err != nil || string(v) != "v" {
			return fmt.Errorf("Get after Put in the same Update = %q, %v", v, err)
		}
		if kvs, err := tx.List("own", "", "", 0); err != nil || keys(kvs) != "k" {
			return fmt.Errorf("List after Put in the same Update = [%s], %v", keys(kvs), err)
		}
		if err := tx.Delete("own", "k"); err != nil {
			return err
		}
		if _, err := tx.Get("own", "k"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get after Delete in the same Update: %v, want ErrNotFound", err)
		}
		if _, err := tx.Enqueue(&store.Delivery{ID: "d", Target: "events"}); err != nil {
			return err
		}
		if d, err := tx.GetDelivery("d"); err != nil || d.State != store.StatePending {
			return fmt.Errorf("GetDelivery after Enqueue in the same Update = %+v, %v", d, err)
		}
		return nil
	})
}

func testViewIsReadOnly(t *testing.T, open Opener) {
	s := newStore(t, open)
	put(t, s, "ro", "k", []byte("v"), time.Time{})
	writes := map[string]func(store.Tx) error{
		"Put":    func(tx store.Tx) error { return tx.Put("ro", "new", []byte("x"), time.Time{}) },
		"Insert": func(tx store.Tx) error { _, err := tx.Insert("ro", "new", []byte("x"), time.Time{}); return err },
		"Delete": func(tx store.Tx) error { return tx.Delete("ro", "k") },
		"Enqueue": func(tx store.Tx) error {
			_, err := tx.Enqueue(&store.Delivery{ID: "d", Target: "events"})
			return err
		},
	}
	for name, fn := range writes {
		if err := s.View(t.Context(), fn); err == nil {
			t.Errorf("%s in View succeeded, want an error", name)
		}
	}
	wantMissing(t, s, "ro", "new")
	wantValue(t, s, "ro", "k", []byte("v"))
	if _, err := getDelivery(t, s, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDelivery(d) after Enqueue in View: %v, want ErrNotFound", err)
	}
}

func testCanceledContext(t *testing.T, open Opener) {
	s := newStore(t, open)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error {
		ran = true
		return tx.Put("ctx", "k", []byte("v"), time.Time{})
	})
	if err == nil || ran {
		t.Fatalf("Update with a canceled context: err %v, fn ran %v; want an error before fn", err, ran)
	}
	wantMissing(t, s, "ctx", "k")
}

func testInvalidInput(t *testing.T, open Opener) {
	s := newStore(t, open)
	bad := map[string]func(store.Tx) error{
		"empty bucket": func(tx store.Tx) error { return tx.Put("", "k", nil, time.Time{}) },
		"empty key":    func(tx store.Tx) error { return tx.Put("b", "", nil, time.Time{}) },
		"NUL in key":   func(tx store.Tx) error { return tx.Put("b", "a\x00b", nil, time.Time{}) },
		"invalid UTF-8 key": func(tx store.Tx) error {
			return tx.Put("b", "\xff", nil, time.Time{})
		},
		"2 KiB key": func(tx store.Tx) error { return tx.Put("b", strings.Repeat("k", 2048), nil, time.Time{}) },
		"Get empty key": func(tx store.Tx) error {
			_, err := tx.Get("b", "")
			return err
		},
		"empty delivery ID": func(tx store.Tx) error {
			_, err := tx.Enqueue(&store.Delivery{Target: "events"})
			return err
		},
		"unknown state": func(tx store.Tx) error {
			_, err := tx.ListDeliveries("bogus", "", 0)
			return err
		},
	}
	for name, fn := range bad {
		err := s.Update(t.Context(), fn)
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: err = %v, want a validation error", name, err)
		}
	}
	// The store still works.
	put(t, s, "b", "k", []byte("v"), time.Time{})
	wantValue(t, s, "b", "k", []byte("v"))
}

func enqueue(t *testing.T, s store.Store, ds ...*store.Delivery) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, d := range ds {
			created, err := tx.Enqueue(d)
			if err != nil {
				return err
			}
			if !created {
				return fmt.Errorf("Enqueue(%s): created = false", d.ID)
			}
		}
		return nil
	})
}

func getDelivery(t *testing.T, s store.Store, id string) (*store.Delivery, error) {
	t.Helper()
	var d *store.Delivery
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		d, err = tx.GetDelivery(id)
		return err
	})
	return d, err
}

func mustDelivery(t *testing.T, s store.Store, id string) *store.Delivery {
	t.Helper()
	d, err := getDelivery(t, s, id)
	if err != nil {
		t.Fatalf("GetDelivery(%s): %v", id, err)
	}
	return d
}

func claim(t *testing.T, s store.Store, now time.Time, limit int) []*store.Delivery {
	t.Helper()
	ds, err := s.Claim(t.Context(), now, limit, time.Hour)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return ds
}

func ids(ds []*store.Delivery) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.ID
	}
	return strings.Join(s, " ")
}

// base is a microsecond-aligned time in the past, so times derived from
// it survive PostgreSQL's precision and are due at time.Now().
func base() time.Time {
	return time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
}

func testEnqueue(t *testing.T, open Opener) {
	s := newStore(t, open)
	b := base()
	body := make([]byte, 256)
	for i := range body {
		body[i] = byte(i)
	}
	want := store.Delivery{
		ID:        "evt-1",
		Target:    "events",
		Method:    "POST",
		URL:       "https://merchant.example/hooks?x=1",
		Header:    map[string][]string{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}},
		Body:      body,
		State:     store.StatePending,
		CreatedAt: b.Add(time.Second),
		NextAt:    b.Add(2 * time.Second),
	}
	// State and bookkeeping fields of the argument are ignored: a new
	// delivery is pending with no attempts.
	in := want
	in.State, in.Attempts, in.LastError, in.DoneAt = store.StateDead, 7, "x", b
	enqueue(t, s, &in)
	sameDelivery(t, mustDelivery(t, s, "evt-1"), &want)

	// Same ID again: nothing changes, created = false.
	update(t, s, func(tx store.Tx) error {
		again := want
		again.Body, again.URL, again.Target = []byte("different"), "https://other/", "smarts"
		created, err := tx.Enqueue(&again)
		if err != nil || created {
			return fmt.Errorf("second Enqueue of evt-1: created %v, err %v; want false, nil", created, err)
		}
		return nil
	})
	sameDelivery(t, mustDelivery(t, s, "evt-1"), &want)
	// Still false once the first is done.
	if err := s.Complete(t.Context(), "evt-1", b.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx store.Tx) error {
		created, err := tx.Enqueue(&store.Delivery{ID: "evt-1", Target: "events"})
		if err != nil || created {
			return fmt.Errorf("Enqueue of a done ID: created %v, err %v; want false, nil", created, err)
		}
		return nil
	})
	if d := mustDelivery(t, s, "evt-1"); d.State != store.StateDone {
		t.Fatalf("re-Enqueue changed a done delivery to %s", d.State)
	}

	// Zero CreatedAt and NextAt mean now.
	before := time.Now().Truncate(time.Microsecond)
	enqueue(t, s, &store.Delivery{ID: "evt-2", Target: "events", Method: "POST", URL: "http://x/"})
	after := time.Now()
	d := mustDelivery(t, s, "evt-2")
	for name, ts := range map[string]time.Time{"CreatedAt": d.CreatedAt, "NextAt": d.NextAt} {
		if ts.Before(before) || ts.After(after) {
			t.Errorf("%s = %v, want between %v and %v", name, ts, before, after)
		}
	}
	if len(d.Body) != 0 || d.Attempts != 0 || !d.DoneAt.IsZero() {
		t.Errorf("evt-2 = %+v, want empty body, no attempts, zero DoneAt", d)
	}
	if _, err := getDelivery(t, s, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDelivery(missing): %v, want ErrNotFound", err)
	}
}

// sameDelivery compares every field; times with Equal.
func sameDelivery(t *testing.T, got, want *store.Delivery) {
	t.Helper()
	if got.ID != want.ID || got.Target != want.Target || got.Method != want.Method || got.URL != want.URL ||
		!bytes.Equal(got.Body, want.Body) || got.State != want.State || got.Attempts != want.Attempts ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.NextAt.Equal(want.NextAt) || !got.DoneAt.Equal(want.DoneAt) ||
		got.LastError != want.LastError || fmt.Sprint(got.Header) != fmt.Sprint(want.Header) {
		t.Fatalf("delivery\n got %+v\nwant %+v", *got, *want)
	}
}

func testClaimOrder(t *testing.T, open Opener) {
	s := newStore(t, open)
	b := base()
	var ds []*store.Delivery
	for id, sec := range map[string]int{"c": 3, "a": 1, "d": 4, "tie-b": 2, "tie-a": 2, "e": 5, "late": 100} {
		ds = append(ds, &store.Delivery{ID: id, Target: "events", NextAt: b.Add(time.Duration(sec) * time.Second)})
	}
	enqueue(t, s, ds...)
	now := b.Add(10 * time.Second)
	got, err := s.Claim(t.Context(), now, 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got) != "a tie-a tie-b" {
		t.Fatalf("first Claim = [%s], want [a tie-a tie-b] (oldest NextAt, then ID)", ids(got))
	}
	for _, d := range got {
		if d.Attempts != 1 || !d.NextAt.Equal(now.Add(time.Hour)) || d.State != store.StatePending {
			t.Fatalf("claimed %s: attempts %d, NextAt %v, state %s; want 1, %v, pending", d.ID, d.Attempts, d.NextAt, d.State, now.Add(time.Hour))
		}
		// What Claim returned is what it stored.
		sameDelivery(t, mustDelivery(t, s, d.ID), d)
	}
	if got := ids(claim(t, s, now, 10)); got != "c d e" {
		t.Fatalf("second Claim = [%s], want [c d e]", got)
	}
	if got := claim(t, s, now, 10); len(got) != 0 {
		t.Fatalf("third Claim = [%s], want nothing due", ids(got))
	}
	if got := claim(t, s, now, 0); len(got) != 0 {
		t.Fatalf("Claim with limit 0 = [%s], want nothing", ids(got))
	}
	if got := ids(claim(t, s, b.Add(100*time.Second), 10)); got != "late" {
		t.Fatalf("Claim at late's NextAt = [%s], want [late] (NextAt <= now is due)", got)
	}
}

func testClaimLease(t *testing.T, open Opener) {
	s := newStore(t, open)
	b := base()
	enqueue(t, s, &store.Delivery{ID: "d", Target: "events", NextAt: b})
	lease := time.Minute
	for attempt := 1; attempt <= 3; attempt++ {
		now := b.Add(time.Duration(attempt-1) * lease)
		got, err := s.Claim(t.Context(), now, 10, lease)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Attempts != attempt {
			t.Fatalf("Claim #%d = %+v, want d with %d attempts", attempt, got, attempt)
		}
		if again := claim(t, s, now.Add(lease-time.Second), 10); len(again) != 0 {
			t.Fatalf("Claim during the lease returned [%s]", ids(again))
		}
	}
	if d := mustDelivery(t, s, "d"); d.Attempts != 3 {
		t.Fatalf("attempts = %d after 3 claims, want 3", d.Attempts)
	}
}

func testCountDeliveries(t *testing.T, open Opener) {
	s := newStore(t, open)
	ctx := t.Context()
	count := func() string {
		t.Helper()
		n, err := s.CountDeliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("pending %d, done %d, dead %d (%d states)", n[store.StatePending], n[store.StateDone], n[store.StateDead], len(n))
	}
	if got, want := count(), "pending 0, done 0, dead 0 (3 states)"; got != want {
		t.Fatalf("empty store: %s, want %s", got, want)
	}
	b := base()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		enqueue(t, s, &store.Delivery{ID: id, Target: "events", NextAt: b})
	}
	if err := s.Complete(ctx, "a", b); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(ctx, "b", "HTTP 400"); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(ctx, "c", "HTTP 400"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, "d", b.Add(time.Hour), "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	if got, want := count(), "pending 2, done 1, dead 2 (3 states)"; got != want {
		t.Fatalf("after transitions: %s, want %s", got, want)
	}
	// Records of other buckets are not deliveries.
	put(t, s, "sessions", "x", []byte("1"), time.Time{})
	if err := s.Requeue(ctx, "b", b); err != nil {
		t.Fatal(err)
	}
	if got, want := count(), "pending 3, done 1, dead 1 (3 states)"; got != want {
		t.Fatalf("after a requeue: %s, want %s", got, want)
	}
}

func testTransitions(t *testing.T, open Opener) {
	s := newStore(t, open)
	ctx := t.Context()
	b := base()
	for _, id := range []string{"a", "b", "c", "d"} {
		enqueue(t, s, &store.Delivery{ID: id, Target: "events", NextAt: b})
	}
	at := b.Add(time.Second)
	if err := s.Complete(ctx, "a", at); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, "b", b.Add(10*time.Minute), "HTTP 503: busy"); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(ctx, "c", "HTTP 400: bad"); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, s, "a"); d.State != store.StateDone || !d.DoneAt.Equal(at) {
		t.Fatalf("a after Complete: state %s, DoneAt %v; want done, %v", d.State, d.DoneAt, at)
	}
	if d := mustDelivery(t, s, "b"); d.State != store.StatePending || !d.NextAt.Equal(b.Add(10*time.Minute)) || d.LastError != "HTTP 503: busy" {
		t.Fatalf("b after Retry = %+v", d)
	}
	if d := mustDelivery(t, s, "c"); d.State != store.StateDead || d.LastError != "HTTP 400: bad" {
		t.Fatalf("c after Dead = %+v", d)
	}
	// Only d is due now; b when its NextAt comes; never a (done) or c (dead).
	if got := ids(claim(t, s, b.Add(5*time.Minute), 10)); got != "d" {
		t.Fatalf("Claim = [%s], want [d]", got)
	}
	if got := ids(claim(t, s, b.Add(10*time.Minute), 10)); got != "b" {
		t.Fatalf("Claim at b's retry time = [%s], want [b]", got)
	}

	// Requeue: dead -> pending, due at now, attempts reset.
	if err := s.Requeue(ctx, "c", b.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, s, "c"); d.State != store.StatePending || d.Attempts != 0 || !d.NextAt.Equal(b.Add(20*time.Minute)) {
		t.Fatalf("c after Requeue = %+v", d)
	}
	if got := ids(claim(t, s, b.Add(20*time.Minute), 10)); got != "c" {
		t.Fatalf("Claim after Requeue = [%s], want [c]", got)
	}
	// Requeue of a delivery that is not dead fails and changes nothing.
	dBefore := mustDelivery(t, s, "d")
	if err := s.Requeue(ctx, "d", b); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Requeue of pending d: %v, want a not-dead error", err)
	}
	sameDelivery(t, mustDelivery(t, s, "d"), dBefore)

	// A done delivery stays done: a late Retry or Dead from a worker whose
	// lease ran out must not undo the success.
	if err := s.Retry(ctx, "a", b, "late failure"); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(ctx, "a", "late failure"); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, s, "a"); d.State != store.StateDone || d.LastError != "" {
		t.Fatalf("a after late Retry/Dead = %+v, want still done", d)
	}
	// Retry does not revive a dead delivery either; Complete always wins.
	if err := s.Dead(ctx, "b", "gave up"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(ctx, "b", b, "late failure"); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, s, "b"); d.State != store.StateDead || d.LastError != "gave up" {
		t.Fatalf("b after Retry of dead = %+v, want dead with its reason", d)
	}
	if err := s.Complete(ctx, "b", at); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, s, "b"); d.State != store.StateDone {
		t.Fatalf("b after Complete of dead: state %s, want done", d.State)
	}

	// Free text that is not valid UTF-8 is stored as valid UTF-8.
	if err := s.Retry(ctx, "d", b, "HTTP 502: \xff\xfe\x00bin"); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, s, "d"); !utf8.ValidString(d.LastError) || strings.ContainsRune(d.LastError, 0) || !strings.HasPrefix(d.LastError, "HTTP 502: ") {
		t.Fatalf("LastError = %q, want valid UTF-8 starting with the message", d.LastError)
	}

	for name, fn := range map[string]func() error{
		"Complete": func() error { return s.Complete(ctx, "missing", b) },
		"Retry":    func() error { return s.Retry(ctx, "missing", b, "x") },
		"Dead":     func() error { return s.Dead(ctx, "missing", "x") },
		"Requeue":  func() error { return s.Requeue(ctx, "missing", b) },
	} {
		if err := fn(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s(missing): %v, want ErrNotFound", name, err)
		}
	}
}

func testListDeliveries(t *testing.T, open Opener) {
	s := newStore(t, open)
	b := base()
	// CreatedAt order: e1 s1 (tie, ID order: "t1" < "u1") e2 s2 e3.
	mk := func(id, target string, sec int) *store.Delivery {
		return &store.Delivery{ID: id, Target: target, NextAt: b, CreatedAt: b.Add(time.Duration(sec) * time.Second)}
	}
	enqueue(t, s, mk("e3", "events", 5), mk("s2", "smarts", 4), mk("u1", "smarts", 2),
		mk("t1", "events", 2), mk("e2", "events", 3), mk("e1", "events", 1))
	ctx := t.Context()
	if err := s.Complete(ctx, "e2", b); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(ctx, "s2", "x"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		state  store.State
		target string
		limit  int
		want   string
	}{
		{"", "", 0, "e1 t1 u1 e2 s2 e3"},
		{"", "", 3, "e1 t1 u1"},
		{store.StatePending, "", 0, "e1 t1 u1 e3"},
		{store.StateDone, "", 0, "e2"},
		{store.StateDead, "", 0, "s2"},
		{"", "events", 0, "e1 t1 e2 e3"},
		{"", "smarts", 1, "u1"},
		{store.StatePending, "events", 0, "e1 t1 e3"},
		{store.StatePending, "events", 2, "e1 t1"},
		{store.StateDead, "events", 0, ""},
		{"", "voyado", 0, ""},
	} {
		var got []*store.Delivery
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.ListDeliveries(c.state, c.target, c.limit)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != c.want {
			t.Errorf("ListDeliveries(%q, %q, %d) = [%s], want [%s]", c.state, c.target, c.limit, ids(got), c.want)
		}
	}
}

func testSweep(t *testing.T, open Opener) {
	s := newStore(t, open)
	ctx := t.Context()
	now := time.Now()
	b := base()
	update(t, s, func(tx store.Tx) error {
		for _, r := range []struct {
			bucket, key string
			expires     time.Time
		}{
			{"s1", "expired", now.Add(-time.Minute)},
			{"s2", "expired", now.Add(-time.Second)},
			{"s1", "later", now.Add(time.Hour)},
			{"s1", "never", time.Time{}},
		} {
			if err := tx.Put(r.bucket, r.key, []byte("v"), r.expires); err != nil {
				return err
			}
		}
		return nil
	})
	for _, id := range []string{"old-done", "new-done", "pending", "dead"} {
		enqueue(t, s, &store.Delivery{ID: id, Target: "events", NextAt: b})
	}
	for id, at := range map[string]time.Time{"old-done": b, "new-done": b.Add(2 * time.Hour)} {
		if err := s.Complete(ctx, id, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Dead(ctx, "dead", "x"); err != nil {
		t.Fatal(err)
	}

	sweep := func(now, doneBefore time.Time, want int) {
		t.Helper()
		n, err := s.Sweep(ctx, now, doneBefore)
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if n != want {
			t.Fatalf("Sweep removed %d, want %d", n, want)
		}
	}
	sweep(now, b.Add(time.Hour), 3) // 2 expired records + old-done
	sweep(now, b.Add(time.Hour), 0)
	wantValue(t, s, "s1", "later", []byte("v"))
	wantValue(t, s, "s1", "never", []byte("v"))
	if _, err := getDelivery(t, s, "old-done"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old-done after Sweep: %v, want ErrNotFound", err)
	}
	for _, id := range []string{"new-done", "pending", "dead"} {
		mustDelivery(t, s, id)
	}
	// Sweep trusts its now: records expiring before it go, even if still
	// live by the clock.
	sweep(now.Add(2*time.Hour), b, 1)
	wantMissing(t, s, "s1", "later")
	sweep(now.Add(2*time.Hour), b.Add(3*time.Hour), 1) // new-done
	// The swept ID is free again.
	enqueue(t, s, &store.Delivery{ID: "old-done", Target: "events"})
}

func testConcurrentClaimers(t *testing.T, open Opener) {
	s := newStore(t, open)
	const n, workers = 500, 8
	b := base()
	ds := make([]*store.Delivery, n)
	for i := range ds {
		ds[i] = &store.Delivery{ID: fmt.Sprintf("d%03d", i), Target: "events", NextAt: b.Add(time.Duration(i) * time.Millisecond)}
	}
	enqueue(t, s, ds...)

	var (
		mu   sync.Mutex
		seen = make(map[string]int)
		wg   sync.WaitGroup
		errs = make(chan error, workers)
	)
	for range workers {
		wg.Go(func() {
			for {
				got, err := s.Claim(t.Context(), time.Now(), 7, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Claim: %v", err)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	if left := claim(t, s, time.Now(), n); len(left) != 0 {
		t.Fatalf("%d deliveries left unclaimed", len(left))
	}
}

func testConcurrentCounter(t *testing.T, open Opener) {
	s := newStore(t, open)
	const workers, increments = 20, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range increments {
				// The key does not exist at first: the store must serialize
				// read-modify-write even then.
				err := s.Update(t.Context(), func(tx store.Tx) error { return increment(tx, "n", func() {}) })
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
	wantValue(t, s, "counter", "n", []byte(strconv.Itoa(workers*increments)))
}

// increment adds one to the decimal counter at counter/key.
func increment(tx store.Tx, key string, between func()) error {
	n := 0
	v, err := tx.Get("counter", key)
	switch {
	case err == nil:
		if n, err = strconv.Atoi(string(v)); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	between()
	return tx.Put("counter", key, []byte(strconv.Itoa(n+1)), time.Time{})
}

// Get inside Update locks a key even while it does not exist: a second
// read-modify-write waits for the first instead of also reading "absent".
func testGetLocksMissingKey(t *testing.T, open Opener) {
	s := newStore(t, open)
	read := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx store.Tx) error {
			return increment(tx, "missing", func() {
				close(read)
				time.Sleep(200 * time.Millisecond) // the other Update starts now
			})
		})
	}()
	<-read
	if err := s.Update(t.Context(), func(tx store.Tx) error { return increment(tx, "missing", func() {}) }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "counter", "missing", []byte("2"))
}

func testDurability(t *testing.T, open Opener) {
	s, reopen := open(t)
	b := base()
	put(t, s, "dur", "forever", []byte("f"), time.Time{})
	put(t, s, "dur", "hour", []byte("h"), time.Now().Add(time.Hour))
	put(t, s, "dur", "gone", []byte("g"), time.Now().Add(-time.Hour))
	enqueue(t, s, &store.Delivery{ID: "p", Target: "events", Body: []byte("{}"), NextAt: b},
		&store.Delivery{ID: "q", Target: "events", NextAt: b.Add(time.Hour)})
	claimed := claim(t, s, b, 10)
	if ids(claimed) != "p" {
		t.Fatalf("Claim = [%s], want [p]", ids(claimed))
	}
	if err := s.Complete(t.Context(), "q", b.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantQ := mustDelivery(t, s, "q")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := reopen(t)
	t.Cleanup(func() { s2.Close() })
	wantValue(t, s2, "dur", "forever", []byte("f"))
	wantValue(t, s2, "dur", "hour", []byte("h"))
	wantMissing(t, s2, "dur", "gone")
	sameDelivery(t, mustDelivery(t, s2, "p"), claimed[0])
	sameDelivery(t, mustDelivery(t, s2, "q"), wantQ)
	// The lease survives too.
	if got := claim(t, s2, b.Add(30*time.Minute), 10); len(got) != 0 {
		t.Fatalf("Claim during p's lease after reopen = [%s]", ids(got))
	}
	if got := claim(t, s2, b.Add(2*time.Hour), 10); ids(got) != "p" || got[0].Attempts != 2 {
		t.Fatalf("Claim after the lease = %+v, want p with 2 attempts", got)
	}
}

func testClosed(t *testing.T, open Opener) {
	s, _ := open(t)
	put(t, s, "c", "k", []byte("v"), time.Time{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	for name, fn := range map[string]func() error{
		"Ping":   func() error { return s.Ping(ctx) },
		"Update": func() error { return s.Update(ctx, func(store.Tx) error { return nil }) },
		"View":   func() error { return s.View(ctx, func(store.Tx) error { return nil }) },
		"Claim": func() error {
			_, err := s.Claim(ctx, time.Now(), 1, time.Minute)
			return err
		},
		"Complete": func() error { return s.Complete(ctx, "x", time.Now()) },
		"Sweep": func() error {
			_, err := s.Sweep(ctx, time.Now(), time.Now())
			return err
		},
	} {
		if err := fn(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", name, err)
		}
	}
}
