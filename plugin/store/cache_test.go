package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
	"weak"
)

func openCacheBolt(t *testing.T) *Bolt {
	t.Helper()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "kassa.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func put(t *testing.T, b *Bolt, key, value string, expires time.Time) {
	t.Helper()
	if err := b.Update(t.Context(), func(tx Tx) error {
		return tx.Put("b", key, []byte(value), expires)
	}); err != nil {
		t.Fatal(err)
	}
}

// cachedGet reads key with ViewCached and reports whether bbolt opened a
// read transaction for it.
func cachedGet(t *testing.T, b *Bolt, key string) (value string, err error, fromBolt bool) {
	t.Helper()
	before := b.db.Stats().TxN
	err = ViewCached(t.Context(), b, func(tx Tx) error {
		v, err := tx.Get("b", key)
		value = string(v)
		return err
	})
	return value, err, b.db.Stats().TxN != before
}

// A record read once is answered from the cache until a write changes it;
// the write's own transaction and every later read see the new value.
func TestViewCached(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "k", "one", time.Time{})
	if v, err, db := cachedGet(t, b, "k"); v != "one" || err != nil || !db {
		t.Fatalf("first read = %q, %v, from bbolt %v; want one, nil, true", v, err, db)
	}
	if v, err, db := cachedGet(t, b, "k"); v != "one" || err != nil || db {
		t.Fatalf("second read = %q, %v, from bbolt %v; want one, nil, false (cached)", v, err, db)
	}
	put(t, b, "k", "two", time.Time{})
	if v, err, db := cachedGet(t, b, "k"); v != "two" || err != nil || !db {
		t.Fatalf("after Put = %q, %v, from bbolt %v; want two, nil, true", v, err, db)
	}
	if v, _, db := cachedGet(t, b, "k"); v != "two" || db {
		t.Fatalf("read after refill = %q from bbolt %v; want two, cached", v, db)
	}
	if err := b.Update(t.Context(), func(tx Tx) error { return tx.Delete("b", "k") }); err != nil {
		t.Fatal(err)
	}
	if _, err, _ := cachedGet(t, b, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v, want ErrNotFound", err)
	}
	// Insert of a new record is seen too.
	if err := b.Update(t.Context(), func(tx Tx) error {
		_, err := tx.Insert("b", "k", []byte("three"), time.Time{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := cachedGet(t, b, "k"); v != "three" {
		t.Fatalf("after Insert = %q, want three", v)
	}
}

// A write that fails (fn's error) rolls back and leaves the cache
// answering the old value.
func TestViewCachedRolledBackWrite(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "k", "one", time.Time{})
	cachedGet(t, b, "k")
	boom := errors.New("boom")
	if err := b.Update(t.Context(), func(tx Tx) error {
		tx.Put("b", "k", []byte("never"), time.Time{})
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if v, err, _ := cachedGet(t, b, "k"); v != "one" || err != nil {
		t.Fatalf("after a rolled-back write = %q, %v; want one", v, err)
	}
}

// An expired record is not found, from the cache as from bbolt; a sweep
// empties the cache.
func TestViewCachedExpiry(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "k", "soon", time.Now().Add(300*time.Millisecond))
	put(t, b, "forever", "v", time.Time{})
	cachedGet(t, b, "k")
	cachedGet(t, b, "forever")
	if v, _, db := cachedGet(t, b, "k"); v != "soon" || db {
		t.Fatalf("= %q from bbolt %v, want soon, cached", v, db)
	}
	time.Sleep(350 * time.Millisecond)
	if _, err, db := cachedGet(t, b, "k"); !errors.Is(err, ErrNotFound) || db {
		t.Fatalf("expired: %v from bbolt %v; want ErrNotFound from the cache", err, db)
	}
	if n, err := b.Sweep(t.Context(), time.Now(), time.Now()); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if v, _, db := cachedGet(t, b, "forever"); v != "v" || !db {
		t.Fatalf("after Sweep = %q from bbolt %v; want v, from bbolt (the sweep emptied the cache)", v, db)
	}
}

// fn runs again in a real transaction when it read anything the cache
// does not hold, even if it did not pass the error on.
func TestViewCachedRerunsOnMiss(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "a", "A", time.Time{})
	put(t, b, "c", "C", time.Time{})
	cachedGet(t, b, "a")
	runs := 0
	var got string
	err := ViewCached(t.Context(), b, func(tx Tx) error {
		runs++
		a, _ := tx.Get("b", "a")
		c, _ := tx.Get("b", "c") // not cached: the error is dropped
		got = string(a) + string(c)
		return nil
	})
	if err != nil || runs != 2 || got != "AC" {
		t.Fatalf("err %v, %d runs, got %q; want nil, 2 runs, AC", err, runs, got)
	}
	// Lists and deliveries are never cached.
	runs = 0
	err = ViewCached(t.Context(), b, func(tx Tx) error {
		runs++
		kvs, err := tx.List("b", "", "", 0)
		got = fmt.Sprint(len(kvs))
		return err
	})
	if err != nil || runs != 2 || got != "2" {
		t.Fatalf("List: err %v, %d runs, %s records", err, runs, got)
	}
	// Writes fail as in View, and no rerun is needed for that.
	err = ViewCached(t.Context(), b, func(tx Tx) error { return tx.Put("b", "x", []byte("x"), time.Time{}) })
	if !errors.Is(err, errReadOnly) {
		t.Fatalf("Put in ViewCached: %v", err)
	}
}

// A commit between two reads of one cached view sends it to bbolt: what
// a view reads is always one committed state.
func TestViewCachedSnapshot(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "a", "1", time.Time{})
	put(t, b, "c", "1", time.Time{})
	cachedGet(t, b, "a")
	cachedGet(t, b, "c")
	runs := 0
	var a, c []byte
	err := ViewCached(t.Context(), b, func(tx Tx) error {
		runs++
		var err error
		if a, err = tx.Get("b", "a"); err != nil {
			return err
		}
		if runs == 1 { // another writer, between the two reads
			if err := b.Update(context.Background(), func(tx Tx) error {
				tx.Put("b", "a", []byte("2"), time.Time{})
				return tx.Put("b", "c", []byte("2"), time.Time{})
			}); err != nil {
				return err
			}
			// and another reader, which puts the new c in the cache
			if v, err, _ := cachedGet(t, b, "c"); v != "2" || err != nil {
				t.Errorf("the other reader: %q, %v", v, err)
			}
		}
		c, err = tx.Get("b", "c")
		return err
	})
	if err != nil || runs != 2 || string(a) != "2" || string(c) != "2" {
		t.Fatalf("err %v, %d runs, a=%s c=%s; want 2 runs reading a=2 c=2", err, runs, a, c)
	}
}

// Two handles on one file (a config reload) share one cache: a write
// through either is seen through the other.
func TestViewCachedSharedHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kassa.db")
	b1, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b1.Close()
	b2, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	put(t, b1, "k", "one", time.Time{})
	cachedGet(t, b1, "k")
	put(t, b2, "k", "two", time.Time{})
	if v, _, _ := cachedGet(t, b1, "k"); v != "two" {
		t.Fatalf("through the other handle = %q, want two", v)
	}
}

// The value a caller gets is its own: writing to it changes neither the
// cache nor the store.
func TestViewCachedCopies(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "k", "value", time.Time{})
	for range 3 {
		ViewCached(t.Context(), b, func(tx Tx) error {
			v, err := tx.Get("b", "k")
			if err == nil {
				copy(v, "XXXXX")
			}
			return err
		})
	}
	if v, _, db := cachedGet(t, b, "k"); v != "value" || db {
		t.Fatalf("= %q (from bbolt %v), want value, cached", v, db)
	}
}

// Under concurrent writers, cached readers never see a torn state (two
// records written together always agree) and never go back in time: a
// value acknowledged by Update before a read began is seen by it, and a
// reader never sees a value older than one it saw before.
func TestViewCachedConcurrent(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "x", "0", time.Time{})
	put(t, b, "y", "0", time.Time{})
	const writes = 300
	var acked atomic.Int64
	var wg sync.WaitGroup
	ctx := t.Context()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= writes; i++ {
			v := []byte(strconv.Itoa(i))
			if err := b.Update(ctx, func(tx Tx) error {
				if err := tx.Put("b", "x", v, time.Time{}); err != nil {
					return err
				}
				return tx.Put("b", "y", v, time.Time{})
			}); err != nil {
				t.Error(err)
				return
			}
			acked.Store(int64(i))
		}
	}()
	var hits atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			for last < writes {
				floor := acked.Load()
				before := b.db.Stats().TxN
				var x, y int64
				err := ViewCached(ctx, b, func(tx Tx) error {
					xv, err := tx.Get("b", "x")
					if err != nil {
						return err
					}
					yv, err := tx.Get("b", "y")
					if err != nil {
						return err
					}
					x, _ = strconv.ParseInt(string(xv), 10, 64)
					y, _ = strconv.ParseInt(string(yv), 10, 64)
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if b.db.Stats().TxN == before {
					hits.Add(1)
				}
				switch {
				case x != y:
					t.Errorf("torn read: x=%d y=%d", x, y)
					return
				case x < floor:
					t.Errorf("read %d after %d was acknowledged", x, floor)
					return
				case x < last:
					t.Errorf("read %d after reading %d", x, last)
					return
				}
				last = x
			}
		}()
	}
	wg.Wait()
	if hits.Load() == 0 {
		t.Error("no read was answered from the cache")
	}
	t.Logf("%d cached reads", hits.Load())
}

// Peek reads what Get reads, in every kind of transaction; in a write
// transaction its value is a copy the caller may change.
func TestPeek(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "k", "value", time.Time{})
	put(t, b, "old", "x", time.Now().Add(-time.Second))
	check := func(what string, tx Tx) {
		t.Helper()
		if v, err := Peek(tx, "b", "k"); string(v) != "value" || err != nil {
			t.Errorf("%s: Peek = %q, %v", what, v, err)
		}
		if _, err := Peek(tx, "b", "old"); !errors.Is(err, ErrNotFound) && !errors.Is(err, errCacheMiss) { // not cached
			t.Errorf("%s: Peek of an expired record: %v", what, err)
		}
		if _, err := Peek(tx, "b", "missing"); !errors.Is(err, ErrNotFound) && !errors.Is(err, errCacheMiss) {
			t.Errorf("%s: Peek of a missing record: %v", what, err)
		}
	}
	b.View(t.Context(), func(tx Tx) error { check("View", tx); return nil })
	cachedGet(t, b, "k")
	ViewCached(t.Context(), b, func(tx Tx) error {
		if _, ok := tx.(*cachedTx); ok {
			check("cached", tx)
		}
		return nil
	})
	if err := b.Update(t.Context(), func(tx Tx) error {
		check("Update", tx)
		v, err := Peek(tx, "b", "k")
		if err == nil {
			copy(v, "XXXXX")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := cachedGet(t, b, "k"); v != "value" {
		t.Fatalf("after changing a write transaction's Peek: %q", v)
	}
}

// The cache keeps its own copies of a record's bucket and key: a key that
// is a substring of a request body (a session token read from it without
// a copy) must not keep the body alive.
func TestViewCachedKeepsNoCallerMemory(t *testing.T) {
	b := openCacheBolt(t)
	put(t, b, "TOKEN", "v", time.Time{})
	body := []byte(`{"token":"TOKEN"}` + strings.Repeat(" ", 1<<20))
	alive := weak.Make(&body[0])
	key := unsafe.String(&body[10], 5)
	if v, err, _ := cachedGet(t, b, key); v != "v" || err != nil {
		t.Fatalf("read %q, %v", v, err)
	}
	if v, _, db := cachedGet(t, b, "TOKEN"); v != "v" || db {
		t.Fatalf("not cached: %q, from bbolt %v", v, db)
	}
	body, key = nil, ""
	for range 3 {
		runtime.GC()
	}
	if alive.Value() != nil {
		t.Fatal("the cache keeps the caller's 1 MiB body alive through its key")
	}
	runtime.KeepAlive(b)
}
