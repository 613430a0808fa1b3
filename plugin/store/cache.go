package store

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// ViewCached runs fn in a read-only transaction, as st.View does, but a
// store that keeps a read cache (Bolt) first runs fn over its cache: when
// everything fn reads is there, no transaction of the backing store is
// opened. When something is not, fn runs again in a real transaction, so
// fn must leave the same state behind however often it runs (set its
// results, do not accumulate them). A store without a cache (PostgreSQL,
// whose rows other instances change) runs st.View.
//
// It is for the hot read paths that read a record or two: a repeated
// Check sale, a status poll.
func ViewCached(ctx context.Context, st Store, fn func(Tx) error) error {
	if c, ok := st.(interface {
		viewCached(context.Context, func(Tx) error) error
	}); ok {
		return c.viewCached(ctx, fn)
	}
	return st.View(ctx, fn)
}

// Bounds of a readCache.
const (
	cacheSlots     = 4096 // direct-mapped
	cacheMaxRecord = 4 << 10
)

// readCache keeps records of the user buckets as they were last read from
// bbolt, so that a read-only transaction that finds everything it reads
// there runs without a bbolt transaction (ViewCached). One cache serves
// every Bolt handle on a file. It is correct only because this process is
// the file's only writer (bbolt's file lock), and every write of a user
// record goes through a Bolt: Update (boltTx records the keys it writes)
// or Sweep (which clears the cache).
//
// The rules that keep it from answering anything but the latest committed
// value:
//   - A write transaction that wrote user records, just before bbolt
//     commits it, removes them from the cache and counts itself as
//     writing; after the commit (or its failure) it counts a commit and
//     stops writing.
//   - A record read from bbolt is kept only if, when it is stored, no write
//     is in flight and no commit has been counted since before the
//     reading transaction began: no commit can then have changed it.
//   - A cached read answers only while the commit count is the one its
//     transaction started with: all it read is one committed state (a
//     record refilled after a commit is newer than one read before it).
//
// A write's records are out of the cache from before its commit and can
// come back only after it is counted, so a read never goes back to a value
// older than one another read has seen (bbolt's own readers see a commit
// from its meta page on, before Update returns).
type readCache struct {
	seed maphash.Seed

	mu      sync.RWMutex
	commits uint64 // committed write transactions that changed user records
	writing int    // write transactions between their two removals
	slots   [cacheSlots]cacheSlot
}

// cacheSlot is one cached record. rec is never written to once stored: a
// reader may use it after releasing the lock.
type cacheSlot struct {
	bucket, key string
	rec         []byte // as bbolt stores it: expiry, then the value
}

func newReadCache() *readCache { return &readCache{seed: maphash.MakeSeed()} }

func (c *readCache) slot(bucket, key string) *cacheSlot {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(bucket)
	h.WriteByte(0)
	h.WriteString(key)
	return &c.slots[h.Sum64()%cacheSlots]
}

// generation returns the commit count, read before a transaction begins.
func (c *readCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.commits
}

// get returns the cached record, if there is one and no commit has been
// counted since gen.
func (c *readCache) get(gen uint64, bucket, key string) ([]byte, bool) {
	s := c.slot(bucket, key)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.commits != gen || s.rec == nil || s.bucket != bucket || s.key != key {
		return nil, false
	}
	return s.rec, true
}

// fill keeps a copy of rec, read by a transaction that began after gen
// was read, if the rules allow. The slot gets copies of bucket and key
// too: a key may be a substring of a request body (a session token), which
// the slot would otherwise keep alive whole.
func (c *readCache) fill(gen uint64, bucket, key string, rec []byte) {
	if len(rec) > cacheMaxRecord || !c.mayFill(gen) {
		return
	}
	s := c.slot(bucket, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing == 0 && c.commits == gen {
		*s = cacheSlot{bucket: strings.Clone(bucket), key: strings.Clone(key), rec: bytes.Clone(rec)}
	}
}

// mayFill reports, under the read lock, whether fill may store: most
// refused fills then take no exclusive lock and copy nothing.
func (c *readCache) mayFill(gen uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.writing == 0 && c.commits == gen
}

// written is a write transaction's set of user records; all means it may
// have written any (Sweep).
type written struct {
	all  bool
	keys []bucketKey
}

type bucketKey struct{ bucket, key string }

func (w *written) add(bucket, key string) { w.keys = append(w.keys, bucketKey{bucket, key}) }

func (w *written) any() bool { return w.all || len(w.keys) > 0 }

// remove drops w's records; c.mu is held.
func (c *readCache) remove(w *written) {
	if w.all {
		c.slots = [cacheSlots]cacheSlot{}
		return
	}
	for _, k := range w.keys {
		if s := c.slot(k.bucket, k.key); s.bucket == k.bucket && s.key == k.key {
			*s = cacheSlot{}
		}
	}
}

// beforeCommit is called by a write transaction that wrote w, just before
// bbolt commits it; afterCommit must follow, whatever the commit's result.
// w's records need no second removal: none can be stored while writing.
func (c *readCache) beforeCommit(w *written) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(w)
	c.writing++
}

func (c *readCache) afterCommit() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	c.writing--
}

// errCacheMiss ends a run of fn over the cache: something fn read is not
// there. It never reaches ViewCached's caller.
var errCacheMiss = errors.New("store: not in the read cache")

// cachedTx is a read-only Tx over a readCache. Reads it cannot answer set
// missed and return errCacheMiss; missed is what decides, so that a fn
// that does not pass the error on still runs again.
type cachedTx struct {
	c      *readCache
	gen    uint64
	now    time.Time
	missed bool
}

func (t *cachedTx) miss() error {
	t.missed = true
	return errCacheMiss
}

func (t *cachedTx) Get(bucket, key string) ([]byte, error) {
	v, err := t.peek(bucket, key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v), nil
}

// The writes fail as a read-only boltTx's do: an invalid key first.

func (t *cachedTx) Put(bucket, key string, _ []byte, _ time.Time) error {
	return readOnly(bucket, key)
}

func (t *cachedTx) Insert(bucket, key string, _ []byte, _ time.Time) (bool, error) {
	return false, readOnly(bucket, key)
}

func (t *cachedTx) Delete(bucket, key string) error { return readOnly(bucket, key) }

func readOnly(bucket, key string) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	return errReadOnly
}

func (t *cachedTx) List(string, string, string, int) ([]KV, error) { return nil, t.miss() }

func (t *cachedTx) Enqueue(*Delivery) (bool, error) { return false, errReadOnly }

func (t *cachedTx) GetDelivery(string) (*Delivery, error) { return nil, t.miss() }

func (t *cachedTx) ListDeliveries(State, string, int) ([]*Delivery, error) {
	return nil, t.miss()
}

// Peek is tx.Get without the copy, where tx can avoid one: a read-only
// transaction's value straight from bbolt's memory map or from the read
// cache. The value is valid only until the transaction's fn returns and
// must not be written to (bbolt's map is read-only memory: a write
// crashes the process). For hot paths that compare or decode a record and
// keep nothing of its bytes.
func Peek(tx Tx, bucket, key string) ([]byte, error) {
	if p, ok := tx.(interface {
		peek(bucket, key string) ([]byte, error)
	}); ok {
		return p.peek(bucket, key)
	}
	return tx.Get(bucket, key)
}

func (t *cachedTx) peek(bucket, key string) ([]byte, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	rec, ok := t.c.get(t.gen, bucket, key)
	if !ok {
		return nil, t.miss()
	}
	exp, v, err := decodeRecord(rec)
	if err != nil {
		return nil, t.miss() // never stored: fill keeps only records Get decoded
	}
	if expiredAt(exp, unixNanos(t.now)) {
		return nil, ErrNotFound
	}
	return v[:len(v):len(v)], nil
}
