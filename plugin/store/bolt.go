package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// Top-level bbolt buckets. User buckets are nested under kvRoot, so no
// bucket name a caller picks can collide with the outbox's buckets.
var (
	kvRoot = []byte("kv")
	// deliveriesBucket maps ID -> JSON-encoded Delivery.
	deliveriesBucket = []byte("_deliveries")
	// dueBucket indexes pending deliveries by NextAt and done deliveries
	// by DoneAt: key = state code, sortable time, ID. Claim and Sweep are
	// cursor seeks over it.
	dueBucket = []byte("_deliveries_due")
	// createdBucket indexes all deliveries by state code, sortable
	// CreatedAt, ID; the value is the target, so ListDeliveries filters
	// without decoding deliveries of other targets.
	createdBucket = []byte("_deliveries_created")
)

// defaultBoltTimeout is how long OpenBolt waits for another process's
// file lock.
const defaultBoltTimeout = 5 * time.Second

var errReadOnly = errors.New("store: write in a read-only transaction")

// BoltOptions configures OpenBolt.
type BoltOptions struct {
	// Timeout bounds the wait for the file lock when another process has
	// the file open (default 5s). Without it a second caddy started on
	// the same file would hang forever.
	Timeout time.Duration
}

// Bolt is a Store in one bbolt file. Every Update is fsync'd before it
// returns. Writers are serialized by bbolt, which makes Claim atomic
// within the process; the file lock keeps other processes out.
//
// OpenBolt calls on the same path within one process share the open
// file (reference counted), because a Caddy config reload provisions the
// new kassa module before it cleans up the old one, and a second bbolt
// open of a file the process already holds would wait for the lock.
type Bolt struct {
	path   string
	db     *bbolt.DB
	cache  *readCache
	closed atomic.Bool
	once   sync.Once
}

// sharedBolt is one open bbolt file, its read cache and the number of
// Bolt handles on it.
type sharedBolt struct {
	db    *bbolt.DB
	cache *readCache
	refs  int
}

var boltFiles struct {
	sync.Mutex
	open map[string]*sharedBolt
}

// OpenBolt opens (creating it and its directory if needed) the bbolt file
// at path. If another process holds the file, it fails after
// opts.Timeout with an error wrapping ErrUnavailable. A path this process
// already has open is shared, and opts is ignored.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: bolt path %q: %w", path, err)
	}
	boltFiles.Lock()
	defer boltFiles.Unlock()
	if sh := boltFiles.open[abs]; sh != nil {
		sh.refs++
		return &Bolt{path: abs, db: sh.db, cache: sh.cache}, nil
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: bolt %s: %w", abs, err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultBoltTimeout
	}
	db, err := bbolt.Open(abs, 0o600, &bbolt.Options{Timeout: timeout})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: bolt %s is locked by another process (is another caddy using the same file?); gave up after %s",
			ErrUnavailable, abs, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open bolt %s: %w", abs, err)
	}
	if boltFiles.open == nil {
		boltFiles.open = make(map[string]*sharedBolt)
	}
	sh := &sharedBolt{db: db, cache: newReadCache(), refs: 1}
	boltFiles.open[abs] = sh
	return &Bolt{path: abs, db: db, cache: sh.cache}, nil
}

// Close releases this handle; the file is closed when the last handle on
// it is. Calling Close again does nothing.
func (b *Bolt) Close() error {
	var err error
	b.once.Do(func() {
		b.closed.Store(true)
		boltFiles.Lock()
		defer boltFiles.Unlock()
		sh := boltFiles.open[b.path]
		if sh == nil || sh.db != b.db {
			return
		}
		if sh.refs--; sh.refs > 0 {
			return
		}
		delete(boltFiles.open, b.path)
		if cerr := b.db.Close(); cerr != nil {
			err = fmt.Errorf("store: close bolt %s: %w", b.path, cerr)
		}
	})
	return err
}

// begin checks that an operation may start.
func (b *Bolt) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed.Load() {
		return fmt.Errorf("%w: bolt %s: store closed", ErrUnavailable, b.path)
	}
	return nil
}

// update runs fn in a bbolt write transaction. fn's own error is returned
// as is; a failure of bbolt itself (closed file, write or fsync error)
// wraps ErrUnavailable.
func (b *Bolt) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	return b.write(ctx, nil, fn)
}

// write is update for a transaction that may write user records: fn adds
// them to w, and the read cache drops them around the commit (readCache).
func (b *Bolt) write(ctx context.Context, w *written, fn func(*bbolt.Tx) error) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	var fnErr error
	committing := false
	defer func() {
		if committing { // even if the commit panicked
			b.cache.afterCommit()
		}
	}()
	err := b.db.Update(func(tx *bbolt.Tx) error {
		fnErr = fn(tx)
		if fnErr == nil && w != nil && w.any() {
			b.cache.beforeCommit(w)
			committing = true
		}
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("%w: bolt %s: %w", ErrUnavailable, b.path, err)
	}
	return nil
}

func (b *Bolt) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	var fnErr error
	err := b.db.View(func(tx *bbolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("%w: bolt %s: %w", ErrUnavailable, b.path, err)
	}
	return nil
}

// Update implements Store. bbolt runs one writer at a time, so Get inside
// Update already excludes concurrent writers of the same key.
func (b *Bolt) Update(ctx context.Context, fn func(Tx) error) error {
	w := new(written)
	return b.write(ctx, w, func(tx *bbolt.Tx) error {
		return fn(&boltTx{tx: tx, now: time.Now(), written: w})
	})
}

// View implements Store.
func (b *Bolt) View(ctx context.Context, fn func(Tx) error) error {
	return b.view(ctx, func(tx *bbolt.Tx) error {
		return fn(&boltTx{tx: tx, now: time.Now()})
	})
}

// viewCached implements ViewCached: fn runs over the read cache, and
// again in a bbolt transaction, which fills the cache, if it read
// anything the cache does not hold.
func (b *Bolt) viewCached(ctx context.Context, fn func(Tx) error) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	now := time.Now()
	gen := b.cache.generation() // before bbolt's transaction begins
	ct := &cachedTx{c: b.cache, gen: gen, now: now}
	if err := fn(ct); !ct.missed {
		return err
	}
	return b.view(ctx, func(tx *bbolt.Tx) error {
		return fn(&boltTx{tx: tx, now: now, fill: b.cache, gen: gen})
	})
}

// Ping commits an empty write transaction, which writes and fsyncs the
// meta page: it fails if the file is closed or not writable.
func (b *Bolt) Ping(ctx context.Context) error {
	return b.update(ctx, func(*bbolt.Tx) error { return nil })
}

// CountDeliveries implements Store by counting the created index's keys,
// which are grouped by state; no delivery is decoded.
func (b *Bolt) CountDeliveries(ctx context.Context) (map[State]int, error) {
	out := map[State]int{StatePending: 0, StateDone: 0, StateDead: 0}
	err := b.view(ctx, func(tx *bbolt.Tx) error {
		idx := tx.Bucket(createdBucket)
		if idx == nil {
			return nil
		}
		for s := range out {
			code, n := stateCode(s), 0
			c := idx.Cursor()
			for k, _ := c.Seek([]byte{code}); k != nil && k[0] == code; k, _ = c.Next() {
				if n++; n%4096 == 0 && ctx.Err() != nil {
					return ctx.Err() // a large store: the caller's deadline wins
				}
			}
			out[s] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Claim implements Store with a seek on the due index: the pending
// entries are ordered by NextAt, so it reads only what it claims.
func (b *Bolt) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*Delivery
	err := b.update(ctx, func(tx *bbolt.Tx) error {
		due := tx.Bucket(dueBucket)
		if due == nil {
			return nil
		}
		end := sortableNanos(now)
		var ids []string
		c := due.Cursor()
		for k, _ := c.Seek([]byte{codePending}); k != nil && k[0] == codePending && len(ids) < limit; k, _ = c.Next() {
			if binary.BigEndian.Uint64(k[1:9]) > end {
				break
			}
			ids = append(ids, string(k[9:]))
		}
		next := normTime(now.Add(lease))
		for _, id := range ids {
			d, err := updateDelivery(tx, id, func(d *Delivery) error {
				d.Attempts++
				d.NextAt = next
				return nil
			})
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Complete implements Store.
func (b *Bolt) Complete(ctx context.Context, id string, at time.Time) error {
	return b.update(ctx, func(tx *bbolt.Tx) error {
		_, err := updateDelivery(tx, id, func(d *Delivery) error {
			d.State = StateDone
			d.DoneAt = normTime(at)
			return nil
		})
		return err
	})
}

// Retry implements Store. A delivery that is no longer pending is left
// as is: a worker whose lease ran out must not undo another's result.
func (b *Bolt) Retry(ctx context.Context, id string, next time.Time, lastErr string) error {
	return b.update(ctx, func(tx *bbolt.Tx) error {
		_, err := updateDelivery(tx, id, func(d *Delivery) error {
			if d.State == StatePending {
				d.NextAt = normTime(next)
				d.LastError = cleanText(lastErr)
			}
			return nil
		})
		return err
	})
}

// Dead implements Store. A done delivery stays done.
func (b *Bolt) Dead(ctx context.Context, id string, reason string) error {
	return b.update(ctx, func(tx *bbolt.Tx) error {
		_, err := updateDelivery(tx, id, func(d *Delivery) error {
			if d.State != StateDone {
				d.State = StateDead
				d.LastError = cleanText(reason)
			}
			return nil
		})
		return err
	})
}

// Requeue implements Store. It resets Attempts so the backoff starts
// over, and fails for a delivery that is not dead.
func (b *Bolt) Requeue(ctx context.Context, id string, now time.Time) error {
	return b.update(ctx, func(tx *bbolt.Tx) error {
		_, err := updateDelivery(tx, id, func(d *Delivery) error {
			if d.State != StateDead {
				return notDeadError(id, d.State)
			}
			d.State = StatePending
			d.NextAt = normTime(now)
			d.Attempts = 0
			return nil
		})
		return err
	})
}

func notDeadError(id string, s State) error {
	return fmt.Errorf("store: requeue delivery %q: it is %s, not dead", id, s)
}

// Sweep implements Store. Records carry no expiry index, so it reads the
// 8-byte header of every record; done deliveries are a seek on the due
// index.
func (b *Bolt) Sweep(ctx context.Context, now, doneBefore time.Time) (int, error) {
	var n int
	w := new(written)
	err := b.write(ctx, w, func(tx *bbolt.Tx) error {
		if root := tx.Bucket(kvRoot); root != nil {
			// Collect first: bbolt forbids changing what a cursor walks.
			var names [][]byte
			if err := root.ForEachBucket(func(name []byte) error {
				names = append(names, name)
				return nil
			}); err != nil {
				return err
			}
			nowN := unixNanos(now)
			for _, name := range names {
				bk := root.Bucket(name)
				var expired [][]byte
				c := bk.Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					if exp, _, err := decodeRecord(v); err == nil && expiredAt(exp, nowN) {
						expired = append(expired, k)
					}
				}
				for _, k := range expired {
					if err := bk.Delete(k); err != nil {
						return fmt.Errorf("store: sweep %s/%s: %w", name, k, err)
					}
					w.all = true
				}
				n += len(expired)
			}
		}
		due := tx.Bucket(dueBucket)
		if due == nil {
			return nil
		}
		end := sortableNanos(doneBefore)
		var ids []string
		c := due.Cursor()
		for k, _ := c.Seek([]byte{codeDone}); k != nil && k[0] == codeDone; k, _ = c.Next() {
			if binary.BigEndian.Uint64(k[1:9]) >= end {
				break
			}
			ids = append(ids, string(k[9:]))
		}
		for _, id := range ids {
			if err := deleteDelivery(tx, id); err != nil {
				return err
			}
		}
		n += len(ids)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// boltTx implements Tx. now is taken once per transaction so every
// expiry decision in it agrees. A write transaction collects the user
// records it writes in written; a read-only one run by viewCached fills
// the read cache, fill, with what it reads.
type boltTx struct {
	tx      *bbolt.Tx
	now     time.Time
	written *written
	fill    *readCache
	gen     uint64 // fill's commit count before tx began
}

// bucket returns the user bucket, creating it (and kvRoot) when create
// is set. A missing bucket without create is nil, not an error.
func (t *boltTx) bucket(name string, create bool) (*bbolt.Bucket, error) {
	if !create {
		root := t.tx.Bucket(kvRoot)
		if root == nil {
			return nil, nil
		}
		return root.Bucket([]byte(name)), nil
	}
	if !t.tx.Writable() {
		return nil, errReadOnly
	}
	root, err := t.tx.CreateBucketIfNotExists(kvRoot)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", kvRoot, err)
	}
	bk, err := root.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return bk, nil
}

// liveRecord returns the live record stored under key and its value, or
// nil.
func (t *boltTx) liveRecord(bk *bbolt.Bucket, bucket, key string) (raw, v []byte, err error) {
	if bk == nil {
		return nil, nil, nil
	}
	raw = bk.Get([]byte(key))
	if raw == nil {
		return nil, nil, nil
	}
	exp, v, err := decodeRecord(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("store: %s/%s: %w", bucket, key, err)
	}
	if expiredAt(exp, unixNanos(t.now)) {
		return nil, nil, nil
	}
	return raw, v, nil
}

func (t *boltTx) Get(bucket, key string) ([]byte, error) {
	v, err := t.peek(bucket, key)
	if err != nil {
		return nil, err
	}
	if t.tx.Writable() {
		return v, nil // peek copied it
	}
	return bytes.Clone(v), nil // bbolt's memory is only valid during the transaction
}

// peek implements Peek: in a read-only transaction the value is bbolt's
// own memory; in a write transaction, whose later writes may move it, a
// copy.
func (t *boltTx) peek(bucket, key string) ([]byte, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	bk, err := t.bucket(bucket, false)
	if err != nil {
		return nil, err
	}
	raw, v, err := t.liveRecord(bk, bucket, key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, ErrNotFound
	}
	if t.fill != nil {
		t.fill.fill(t.gen, bucket, key, raw) // copied if kept
	}
	if t.tx.Writable() {
		return bytes.Clone(v), nil
	}
	return v[:len(v):len(v)], nil
}

func (t *boltTx) Put(bucket, key string, value []byte, expires time.Time) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	bk, err := t.bucket(bucket, true)
	if err != nil {
		return err
	}
	if err := bk.Put([]byte(key), encodeRecord(value, expires)); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", bucket, key, err)
	}
	t.wrote(bucket, key)
	return nil
}

func (t *boltTx) Insert(bucket, key string, value []byte, expires time.Time) (bool, error) {
	if err := checkKey(bucket, key); err != nil {
		return false, err
	}
	bk, err := t.bucket(bucket, true)
	if err != nil {
		return false, err
	}
	_, v, err := t.liveRecord(bk, bucket, key)
	if err != nil || v != nil {
		return false, err
	}
	if err := bk.Put([]byte(key), encodeRecord(value, expires)); err != nil {
		return false, fmt.Errorf("store: insert %s/%s: %w", bucket, key, err)
	}
	t.wrote(bucket, key)
	return true, nil
}

func (t *boltTx) Delete(bucket, key string) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	if !t.tx.Writable() {
		return errReadOnly
	}
	bk, err := t.bucket(bucket, false)
	if err != nil || bk == nil {
		return err
	}
	if err := bk.Delete([]byte(key)); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", bucket, key, err)
	}
	t.wrote(bucket, key)
	return nil
}

// wrote records a user record written by the transaction, for the read
// cache.
func (t *boltTx) wrote(bucket, key string) {
	if t.written != nil {
		t.written.add(bucket, key)
	}
}

func (t *boltTx) List(bucket, prefix, after string, limit int) ([]KV, error) {
	if err := checkName("bucket name", bucket); err != nil {
		return nil, err
	}
	bk, err := t.bucket(bucket, false)
	if err != nil || bk == nil {
		return nil, err
	}
	start := prefix
	if after > prefix {
		start = after
	}
	nowN := unixNanos(t.now)
	var out []KV
	c := bk.Cursor()
	for k, raw := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, raw = c.Next() {
		if string(k) <= after {
			continue
		}
		exp, v, err := decodeRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("store: %s/%s: %w", bucket, k, err)
		}
		if expiredAt(exp, nowN) {
			continue
		}
		out = append(out, KV{Key: string(k), Value: bytes.Clone(v)})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func (t *boltTx) Enqueue(d *Delivery) (bool, error) {
	if !t.tx.Writable() {
		return false, errReadOnly
	}
	n, err := newDelivery(d, t.now)
	if err != nil {
		return false, err
	}
	if bk := t.tx.Bucket(deliveriesBucket); bk != nil && bk.Get([]byte(n.ID)) != nil {
		return false, nil
	}
	if err := putDelivery(t.tx, nil, n); err != nil {
		return false, err
	}
	return true, nil
}

func (t *boltTx) GetDelivery(id string) (*Delivery, error) {
	return loadDelivery(t.tx, id)
}

func (t *boltTx) ListDeliveries(state State, target string, limit int) ([]*Delivery, error) {
	if err := checkState(state, true); err != nil {
		return nil, err
	}
	idx := t.tx.Bucket(createdBucket)
	if idx == nil {
		return nil, nil
	}
	states := []State{state}
	if state == "" {
		states = []State{StatePending, StateDone, StateDead}
	}
	var out []*Delivery
	for _, s := range states {
		code := stateCode(s)
		n := 0
		c := idx.Cursor()
		for k, v := c.Seek([]byte{code}); k != nil && k[0] == code; k, v = c.Next() {
			if target != "" && string(v) != target {
				continue
			}
			d, err := loadDelivery(t.tx, string(k[9:]))
			if err != nil {
				return nil, err
			}
			out = append(out, d)
			if n++; limit > 0 && n == limit {
				break
			}
		}
	}
	if len(states) > 1 {
		// Each state's list is sorted; merge them and keep the first limit.
		sort.Slice(out, func(i, j int) bool {
			if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
				return out[i].CreatedAt.Before(out[j].CreatedAt)
			}
			return out[i].ID < out[j].ID
		})
		if limit > 0 && len(out) > limit {
			out = out[:limit]
		}
	}
	return out, nil
}

// Delivery state codes, the first byte of index keys.
const (
	codePending = 'p'
	codeDone    = 'd'
	codeDead    = 'x'
)

func stateCode(s State) byte {
	switch s {
	case StatePending:
		return codePending
	case StateDone:
		return codeDone
	}
	return codeDead
}

func loadDelivery(tx *bbolt.Tx, id string) (*Delivery, error) {
	if err := checkName("delivery ID", id); err != nil {
		return nil, err
	}
	bk := tx.Bucket(deliveriesBucket)
	if bk == nil {
		return nil, ErrNotFound
	}
	raw := bk.Get([]byte(id))
	if raw == nil {
		return nil, ErrNotFound
	}
	d := new(Delivery)
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("store: delivery %q: %w", id, err)
	}
	return d, nil
}

// updateDelivery loads a delivery, lets fn change it, and stores it with
// its index entries moved accordingly. It returns the stored delivery.
func updateDelivery(tx *bbolt.Tx, id string, fn func(*Delivery) error) (*Delivery, error) {
	old, err := loadDelivery(tx, id)
	if err != nil {
		return nil, err
	}
	d := *old
	if err := fn(&d); err != nil {
		return nil, err
	}
	if err := putDelivery(tx, old, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// putDelivery writes d, replacing old's index entries (old is nil for a
// new delivery).
func putDelivery(tx *bbolt.Tx, old, d *Delivery) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("store: encode delivery %q: %w", d.ID, err)
	}
	bks, err := deliveryBuckets(tx)
	if err != nil {
		return err
	}
	if old != nil {
		if err := deleteIndexes(bks, old); err != nil {
			return err
		}
	}
	if err := bks[0].Put([]byte(d.ID), raw); err != nil {
		return fmt.Errorf("store: put delivery %q: %w", d.ID, err)
	}
	if k := dueKey(d); k != nil {
		if err := bks[1].Put(k, nil); err != nil {
			return fmt.Errorf("store: index delivery %q: %w", d.ID, err)
		}
	}
	if err := bks[2].Put(indexKey(stateCode(d.State), d.CreatedAt, d.ID), []byte(d.Target)); err != nil {
		return fmt.Errorf("store: index delivery %q: %w", d.ID, err)
	}
	return nil
}

func deleteDelivery(tx *bbolt.Tx, id string) error {
	d, err := loadDelivery(tx, id)
	if err != nil {
		return err
	}
	bks, err := deliveryBuckets(tx)
	if err != nil {
		return err
	}
	if err := deleteIndexes(bks, d); err != nil {
		return err
	}
	if err := bks[0].Delete([]byte(id)); err != nil {
		return fmt.Errorf("store: delete delivery %q: %w", id, err)
	}
	return nil
}

// deliveryBuckets returns the deliveries, due and created buckets.
func deliveryBuckets(tx *bbolt.Tx) ([3]*bbolt.Bucket, error) {
	var bks [3]*bbolt.Bucket
	if !tx.Writable() {
		return bks, errReadOnly
	}
	for i, name := range [][]byte{deliveriesBucket, dueBucket, createdBucket} {
		bk, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return bks, fmt.Errorf("store: create bucket %s: %w", name, err)
		}
		bks[i] = bk
	}
	return bks, nil
}

func deleteIndexes(bks [3]*bbolt.Bucket, d *Delivery) error {
	if k := dueKey(d); k != nil {
		if err := bks[1].Delete(k); err != nil {
			return fmt.Errorf("store: unindex delivery %q: %w", d.ID, err)
		}
	}
	if err := bks[2].Delete(indexKey(stateCode(d.State), d.CreatedAt, d.ID)); err != nil {
		return fmt.Errorf("store: unindex delivery %q: %w", d.ID, err)
	}
	return nil
}

// dueKey is d's key in dueBucket, or nil for a dead delivery, which
// neither Claim nor Sweep looks for.
func dueKey(d *Delivery) []byte {
	switch d.State {
	case StatePending:
		return indexKey(codePending, d.NextAt, d.ID)
	case StateDone:
		return indexKey(codeDone, d.DoneAt, d.ID)
	}
	return nil
}

// indexKey is code, the big-endian sortable time, then id.
func indexKey(code byte, t time.Time, id string) []byte {
	k := make([]byte, 9+len(id))
	k[0] = code
	binary.BigEndian.PutUint64(k[1:9], sortableNanos(t))
	copy(k[9:], id)
	return k
}

// Limits of time.UnixNano; times outside are clamped.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// unixNanos encodes t for storage: 0 for the zero time (never), clamped
// to the int64 range otherwise.
func unixNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	if n := t.UnixNano(); n != 0 {
		return n
	}
	return -1 // the Unix epoch itself must not read back as "never"
}

// sortableNanos maps unixNanos to an unsigned number with the same order,
// so big-endian keys sort by time, negative times included.
func sortableNanos(t time.Time) uint64 {
	return uint64(unixNanos(t)) ^ 1<<63
}

// encodeRecord prefixes value with its 8-byte big-endian expiry in Unix
// nanoseconds (0: never).
func encodeRecord(value []byte, expires time.Time) []byte {
	raw := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(raw, uint64(unixNanos(expires)))
	copy(raw[8:], value)
	return raw
}

// expiredAt reports whether a record expiring at exp (Unix nanoseconds, 0:
// never) is gone at now.
func expiredAt(exp, now int64) bool { return exp != 0 && exp <= now }

func decodeRecord(raw []byte) (expires int64, value []byte, err error) {
	if len(raw) < 8 {
		return 0, nil, errors.New("corrupt record: shorter than its header")
	}
	return int64(binary.BigEndian.Uint64(raw)), raw[8:], nil
}
