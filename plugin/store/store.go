// Package store holds kassa's durable state behind one small interface with
// two implementations: an embedded bbolt file (the default, nothing to
// install) and PostgreSQL (several Caddy instances share one database).
//
// The model is deliberately small: named buckets of key/value records (with
// an optional expiry) and an outbox of deliveries. Every provider flow is
// written against Tx, so the same code runs on both backends and the same
// test suite (package storetest) checks both.
//
// Durability contract: when Update returns nil, everything fn wrote is on
// disk (bbolt: fsync'd; PostgreSQL: committed). Callers acknowledge a
// callback or a notification only after Update has returned nil.
//
// Hot read paths use ViewCached and Peek (cache.go): on bbolt, a read-only
// transaction that reads only recently read records is answered from an
// in-memory cache that never answers older than the latest commit.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by stores. Compare with errors.Is.
var (
	// ErrNotFound: the key or delivery does not exist (or has expired).
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable wraps failures to reach the backing store (database
	// down, disk full, file closed). Handlers map it to 503.
	ErrUnavailable = errors.New("store: unavailable")
)

// Bucket names used by kassa. A store accepts any non-empty bucket name;
// these are listed so the backends and tools agree on them.
const (
	BucketSessions  = "sessions"  // "<flow>/<invoiceId>" -> Payneteasy session
	BucketTokens    = "tokens"    // session.token -> "<flow>/<invoiceId>"
	BucketCards     = "cards"     // "<consumer>/<clientCardId>" -> card mapping
	BucketCallbacks = "callbacks" // dedup key -> classic callback
	BucketInvoices  = "invoices"  // Smarts invoice archive
)

// KV is one record returned by List.
type KV struct {
	Key   string
	Value []byte
}

// Tx is a transaction. Inside Update, Get locks the row it reads until the
// transaction ends (PostgreSQL: SELECT ... FOR UPDATE), so read-modify-write
// sequences are safe across several kassa instances.
type Tx interface {
	// Get returns the value, or ErrNotFound if absent or expired.
	Get(bucket, key string) ([]byte, error)
	// Put creates or replaces. expires zero means never.
	Put(bucket, key string, value []byte, expires time.Time) error
	// Insert creates the record only if no live record has this key.
	// created reports whether it did; an existing record is left unchanged.
	Insert(bucket, key string, value []byte, expires time.Time) (created bool, err error)
	// Delete removes the record; deleting a missing key is not an error.
	Delete(bucket, key string) error
	// List returns live records whose key starts with prefix and sorts
	// after `after` (byte order), at most limit (limit <= 0: no limit).
	List(bucket, prefix, after string, limit int) ([]KV, error)

	// Enqueue adds a delivery to the outbox. d.ID is the idempotency key:
	// enqueueing an ID that already exists (in any state) changes nothing
	// and returns created=false. Zero CreatedAt/NextAt mean now.
	Enqueue(d *Delivery) (created bool, err error)
	// GetDelivery returns one delivery by ID, or ErrNotFound.
	GetDelivery(id string) (*Delivery, error)
	// ListDeliveries returns deliveries in state (any state if ""), of
	// target (any if ""), ordered by CreatedAt then ID, at most limit.
	ListDeliveries(state State, target string, limit int) ([]*Delivery, error)
}

// Store is a durable backend.
type Store interface {
	// Update runs fn in a read-write transaction and commits it durably if
	// fn returns nil; otherwise it rolls back and returns fn's error.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error

	// Claim leases up to limit pending deliveries whose NextAt <= now,
	// oldest NextAt first: each claimed delivery gets Attempts+1 and
	// NextAt = now+lease, so if this process dies it becomes due again
	// after the lease. Concurrent claimers (goroutines or, on PostgreSQL,
	// other instances) never receive the same delivery while its lease
	// runs (PostgreSQL: FOR UPDATE SKIP LOCKED).
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Delivery, error)
	// Complete marks a delivery delivered (state done).
	Complete(ctx context.Context, id string, at time.Time) error
	// Retry keeps it pending, due again at next, recording the error.
	Retry(ctx context.Context, id string, next time.Time, lastErr string) error
	// Dead moves it to state dead (kept for inspection), with the reason.
	Dead(ctx context.Context, id string, reason string) error
	// Requeue moves a dead delivery back to pending, due at now.
	Requeue(ctx context.Context, id string, now time.Time) error

	// Sweep deletes records that expired before now and delivered (done)
	// deliveries completed before doneBefore. It returns how many rows it
	// removed.
	Sweep(ctx context.Context, now, doneBefore time.Time) (int, error)
	// CountDeliveries returns how many deliveries are in each state (for
	// the kassa_outbox_deliveries gauge: a growing pending count is a
	// backlog, any dead one needs a look). States without deliveries are
	// present with 0.
	CountDeliveries(ctx context.Context) (map[State]int, error)
	// Ping reports whether the backend is reachable and writable.
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// State of a delivery.
type State string

const (
	StatePending State = "pending"
	StateDone    State = "done"
	StateDead    State = "dead"
)

// Delivery is one outbound HTTP request in the outbox. It never holds a
// secret: the sender for Target adds credentials (Api-Key, accessToken,
// webhook signature) at send time, so a stolen database or a dead-letter
// listing reveals no key.
type Delivery struct {
	ID        string              // idempotency key (unique)
	Target    string              // which sender delivers it: "events", "smarts", "voyado"
	Method    string              // HTTP method, e.g. POST
	URL       string              // absolute URL
	Header    map[string][]string // non-secret headers (Content-Type, ...)
	Body      []byte
	State     State
	Attempts  int
	CreatedAt time.Time
	NextAt    time.Time
	DoneAt    time.Time // zero unless done
	LastError string    // last failure, or the reason it is dead
}
