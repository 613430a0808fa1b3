package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresOptions configures OpenPostgres. To keep kassa's tables in
// their own schema, add search_path=<schema> to the DSN: pgx sends it as
// a connection parameter, and the tables are created and used there.
type PostgresOptions struct {
	// MaxConns caps the connection pool (0: pgxpool's default,
	// max(4, GOMAXPROCS)).
	MaxConns int32
}

// Advisory lock keys. migrationLock (one bigint) and keyLockClass (the
// first of two int4 keys) live in separate lock spaces in PostgreSQL.
const (
	migrationLock = int64(0x6b617373615f6d) // "kassa_m"
	keyLockClass  = int32(0x6b617373)       // "kass"
)

// defaultConnectTimeout applies when the DSN sets no connect_timeout, so
// an unreachable server fails a request instead of hanging it.
const defaultConnectTimeout = 10 * time.Second

// migrations are applied in order; migration i+1 is recorded as version
// i+1 in kassa_schema_version. Never edit one that has shipped: append.
//
// Keys and IDs use the "C" collation so ORDER BY is byte order, as on
// bbolt.
var migrations = []string{
	`CREATE TABLE kassa_kv (
		bucket     text COLLATE "C" NOT NULL,
		key        text COLLATE "C" NOT NULL,
		value      bytea NOT NULL,
		expires_at timestamptz,
		PRIMARY KEY (bucket, key)
	);
	CREATE INDEX kassa_kv_expires_idx ON kassa_kv (expires_at) WHERE expires_at IS NOT NULL;
	CREATE TABLE kassa_deliveries (
		id         text COLLATE "C" PRIMARY KEY,
		target     text NOT NULL,
		method     text NOT NULL,
		url        text NOT NULL,
		header     jsonb,
		body       bytea NOT NULL,
		state      text NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
		attempts   integer NOT NULL DEFAULT 0,
		created_at timestamptz NOT NULL,
		next_at    timestamptz NOT NULL,
		done_at    timestamptz,
		last_error text NOT NULL DEFAULT ''
	);
	CREATE INDEX kassa_deliveries_due_idx ON kassa_deliveries (state, next_at, id);
	CREATE INDEX kassa_deliveries_created_idx ON kassa_deliveries (created_at, id);
	CREATE INDEX kassa_deliveries_done_idx ON kassa_deliveries (done_at) WHERE state = 'done';`,
}

// Postgres is a Store in PostgreSQL, shared by any number of kassa
// instances. Update runs at READ COMMITTED; every key a write transaction
// touches is serialized with a transaction-scoped advisory lock, so
// read-modify-write is safe even for keys that do not exist yet (a
// SELECT ... FOR UPDATE alone locks nothing when there is no row).
type Postgres struct {
	pool *pgxpool.Pool
	// password is removed from any error text we return.
	password string
	once     sync.Once
}

// OpenPostgres connects to dsn (a URL or keyword/value string) and brings
// the schema up to date. It fails if the server cannot be reached, so a
// misconfiguration shows at startup. Errors never contain the password.
func OpenPostgres(ctx context.Context, dsn string, opts PostgresOptions) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN and redacts it only best effort.
		return nil, errors.New("store: cannot parse the PostgreSQL DSN (not shown, it may hold a password); expected postgres://user:password@host:port/db or key=value pairs")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	p := &Postgres{password: cfg.ConnConfig.Password}
	p.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, p.wrap("connect", err)
	}
	if err := p.migrate(ctx); err != nil {
		p.pool.Close()
		return nil, err
	}
	return p, nil
}

// migrate applies pending migrations under an advisory lock, so several
// instances starting at once apply each migration exactly once.
func (p *Postgres) migrate(ctx context.Context) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return p.wrap("migrate", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return p.wrap("migrate: lock", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS kassa_schema_version (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return p.wrap("migrate", err)
	}
	var version int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM kassa_schema_version").Scan(&version); err != nil {
		return p.wrap("migrate", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("store: postgres schema version %d is newer than this kassa understands (%d); upgrade kassa", version, len(migrations))
	}
	for v := version + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return p.wrap(fmt.Sprintf("migration %d", v), err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO kassa_schema_version (version) VALUES ($1)", v); err != nil {
			return p.wrap(fmt.Sprintf("migration %d", v), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return p.wrap("migrate: commit", err)
	}
	return nil
}

// Close closes the pool. Calling it again does nothing.
func (p *Postgres) Close() error {
	p.once.Do(p.pool.Close)
	return nil
}

// Ping checks that the server answers and accepts writes (a standby
// answers but is read-only).
func (p *Postgres) Ping(ctx context.Context) error {
	var standby bool
	if err := p.pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return p.wrap("ping", err)
	}
	if standby {
		return fmt.Errorf("%w: postgres is a read-only standby", ErrUnavailable)
	}
	return nil
}

// Update implements Store.
func (p *Postgres) Update(ctx context.Context, fn func(Tx) error) error {
	return p.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, true, fn)
}

// View implements Store.
func (p *Postgres) View(ctx context.Context, fn func(Tx) error) error {
	return p.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadOnly}, false, fn)
}

func (p *Postgres) run(ctx context.Context, opts pgx.TxOptions, write bool, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := p.pool.BeginTx(ctx, opts)
	if err != nil {
		return p.wrap("begin", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if err := fn(&pgTx{p: p, ctx: ctx, tx: tx, write: write, now: time.Now()}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return p.wrap("commit", err)
	}
	return nil
}

const deliveryCols = `d.id, d.target, d.method, d.url, d.header, d.body, d.state, d.attempts,
	d.created_at, d.next_at, d.done_at, d.last_error`

// Claim implements Store with FOR UPDATE SKIP LOCKED: concurrent
// claimers, in this process or another, skip rows being claimed.
func (p *Postgres) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := p.pool.Query(ctx, `WITH due AS (
		SELECT id, next_at FROM kassa_deliveries
		WHERE state = 'pending' AND next_at <= $1
		ORDER BY next_at, id LIMIT $2
		FOR UPDATE SKIP LOCKED
	)
	UPDATE kassa_deliveries d SET attempts = d.attempts + 1, next_at = $3
	FROM due WHERE d.id = due.id
	RETURNING `+deliveryCols+`, due.next_at`,
		normTime(now), limit, normTime(now.Add(lease)))
	if err != nil {
		return nil, p.wrap("claim", err)
	}
	type claimed struct {
		d   *Delivery
		due time.Time
	}
	var cs []claimed
	for rows.Next() {
		var c claimed
		if c.d, err = scanDelivery(rows, &c.due); err != nil {
			rows.Close()
			return nil, p.wrap("claim", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, p.wrap("claim", err)
	}
	// RETURNING does not keep the subquery's order.
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].due.Equal(cs[j].due) {
			return cs[i].due.Before(cs[j].due)
		}
		return cs[i].d.ID < cs[j].d.ID
	})
	out := make([]*Delivery, len(cs))
	for i, c := range cs {
		out[i] = c.d
	}
	return out, nil
}

// Complete implements Store.
func (p *Postgres) Complete(ctx context.Context, id string, at time.Time) error {
	return p.transition(ctx, "complete", id,
		`UPDATE kassa_deliveries SET state = 'done', done_at = $2 WHERE id = $1`, normTime(at))
}

// Retry implements Store. A delivery that is no longer pending is left
// as is: a worker whose lease ran out must not undo another's result.
func (p *Postgres) Retry(ctx context.Context, id string, next time.Time, lastErr string) error {
	return p.transition(ctx, "retry", id,
		`UPDATE kassa_deliveries SET next_at = $2, last_error = $3 WHERE id = $1 AND state = 'pending'`,
		normTime(next), cleanText(lastErr))
}

// Dead implements Store. A done delivery stays done.
func (p *Postgres) Dead(ctx context.Context, id string, reason string) error {
	return p.transition(ctx, "dead", id,
		`UPDATE kassa_deliveries SET state = 'dead', last_error = $2 WHERE id = $1 AND state <> 'done'`,
		cleanText(reason))
}

// Requeue implements Store. It resets Attempts so the backoff starts
// over, and fails for a delivery that is not dead.
func (p *Postgres) Requeue(ctx context.Context, id string, now time.Time) error {
	return p.transition(ctx, "requeue", id,
		`UPDATE kassa_deliveries SET state = 'pending', next_at = $2, attempts = 0 WHERE id = $1 AND state = 'dead'`,
		normTime(now))
}

// transition runs an UPDATE of delivery id whose WHERE may also test the
// state. If it changed nothing, it tells a missing delivery (ErrNotFound)
// from one in another state (nil, except for requeue).
func (p *Postgres) transition(ctx context.Context, op, id, sql string, args ...any) error {
	if err := checkName("delivery ID", id); err != nil {
		return err
	}
	tag, err := p.pool.Exec(ctx, sql, append([]any{id}, args...)...)
	if err != nil {
		return p.wrap(op, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var state State
	err = p.pool.QueryRow(ctx, "SELECT state FROM kassa_deliveries WHERE id = $1", id).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return p.wrap(op, err)
	case op == "requeue":
		return notDeadError(id, state)
	}
	return nil
}

// CountDeliveries implements Store.
func (p *Postgres) CountDeliveries(ctx context.Context) (map[State]int, error) {
	out := map[State]int{StatePending: 0, StateDone: 0, StateDead: 0}
	rows, err := p.pool.Query(ctx, `SELECT state, count(*) FROM kassa_deliveries GROUP BY state`)
	if err != nil {
		return nil, p.wrap("count deliveries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, p.wrap("count deliveries", err)
		}
		out[State(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, p.wrap("count deliveries", err)
	}
	return out, nil
}

// Sweep implements Store in one statement, so it is atomic.
func (p *Postgres) Sweep(ctx context.Context, now, doneBefore time.Time) (int, error) {
	var n int
	err := p.pool.QueryRow(ctx, `WITH kv AS (
		DELETE FROM kassa_kv WHERE expires_at <= $1 RETURNING 1
	), dl AS (
		DELETE FROM kassa_deliveries WHERE state = 'done' AND done_at < $2 RETURNING 1
	)
	SELECT (SELECT count(*) FROM kv) + (SELECT count(*) FROM dl)`,
		now, doneBefore).Scan(&n)
	if err != nil {
		return 0, p.wrap("sweep", err)
	}
	return n, nil
}

// wrap adds context to a database error. Errors from not reaching the
// server, or from a server that cannot serve (shutting down, out of
// disk, read-only), wrap ErrUnavailable. The password never appears in
// the text.
func (p *Postgres) wrap(op string, err error) error {
	var kind error
	if unavailable(err) {
		kind = ErrUnavailable
		err = fmt.Errorf("%w: postgres %s: %w", ErrUnavailable, op, err)
	} else {
		err = fmt.Errorf("store: postgres %s: %w", op, err)
	}
	if p.password != "" && strings.Contains(err.Error(), p.password) {
		// Drop the chain: its errors would print the password again.
		return &redactedError{msg: strings.ReplaceAll(err.Error(), p.password, "xxxxx"), kind: kind}
	}
	return err
}

// unavailable reports whether err means the database cannot serve us now,
// as opposed to rejecting this particular statement.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// No answer from the server: dial, TLS, broken connection, closed
		// pool, timeout.
		return true
	}
	switch {
	case pgErr.Code == "25006": // read_only_sql_transaction: a standby
		return true
	case len(pgErr.Code) < 2:
		return false
	}
	switch pgErr.Code[:2] {
	case "08", // connection exception
		"53", // insufficient resources: disk full, out of memory, too many connections
		"57", // operator intervention: shutdown, cannot connect now, statement timeout
		"58": // system error: I/O
		return true
	}
	return false
}

type redactedError struct {
	msg  string
	kind error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.kind }

// pgTx implements Tx. In a write transaction every statement on a key
// first takes the key's advisory lock, in the same round trip.
type pgTx struct {
	p     *Postgres
	ctx   context.Context
	tx    pgx.Tx
	write bool
	now   time.Time
}

// locked sends the advisory lock for (bucket, key) and then sql in one
// batch, handing the statement's result to fn. Under READ COMMITTED each
// statement takes a new snapshot, so sql sees whatever the previous
// lock holder committed.
func (t *pgTx) locked(bucket, key, sql string, args []any, fn func(pgx.BatchResults) error) error {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text || '/' || $3::text))", keyLockClass, bucket, key)
	b.Queue(sql, args...)
	br := t.tx.SendBatch(t.ctx, b)
	_, err := br.Exec()
	if err == nil {
		err = fn(br)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

func (t *pgTx) Get(bucket, key string) ([]byte, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	var (
		value   []byte
		expires *time.Time
		err     error
	)
	if t.write {
		err = t.locked(bucket, key,
			"SELECT value, expires_at FROM kassa_kv WHERE bucket = $1 AND key = $2 FOR UPDATE",
			[]any{bucket, key},
			func(br pgx.BatchResults) error { return br.QueryRow().Scan(&value, &expires) })
	} else {
		err = t.tx.QueryRow(t.ctx,
			"SELECT value, expires_at FROM kassa_kv WHERE bucket = $1 AND key = $2",
			bucket, key).Scan(&value, &expires)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, t.p.wrap("get "+bucket, err)
	case expires != nil && !live(*expires, t.now):
		return nil, ErrNotFound
	}
	if value == nil {
		value = []byte{}
	}
	return value, nil
}

func (t *pgTx) Put(bucket, key string, value []byte, expires time.Time) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	if !t.write {
		return errReadOnly
	}
	err := t.locked(bucket, key, `INSERT INTO kassa_kv (bucket, key, value, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (bucket, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
		[]any{bucket, key, nonNil(value), nullTime(expires)},
		func(br pgx.BatchResults) error { _, err := br.Exec(); return err })
	if err != nil {
		return t.p.wrap("put "+bucket, err)
	}
	return nil
}

func (t *pgTx) Insert(bucket, key string, value []byte, expires time.Time) (bool, error) {
	if err := checkKey(bucket, key); err != nil {
		return false, err
	}
	if !t.write {
		return false, errReadOnly
	}
	var created bool
	err := t.locked(bucket, key, `INSERT INTO kassa_kv AS kv (bucket, key, value, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (bucket, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
		WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= $5
		RETURNING true`,
		[]any{bucket, key, nonNil(value), nullTime(expires), t.now},
		func(br pgx.BatchResults) error { return br.QueryRow().Scan(&created) })
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, t.p.wrap("insert "+bucket, err)
	}
	return created, nil
}

func (t *pgTx) Delete(bucket, key string) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	if !t.write {
		return errReadOnly
	}
	err := t.locked(bucket, key, "DELETE FROM kassa_kv WHERE bucket = $1 AND key = $2",
		[]any{bucket, key},
		func(br pgx.BatchResults) error { _, err := br.Exec(); return err })
	if err != nil {
		return t.p.wrap("delete "+bucket, err)
	}
	return nil
}

// List implements Tx. It takes no locks. starts_with filters exactly;
// key >= prefix lets the primary key index start at the prefix.
func (t *pgTx) List(bucket, prefix, after string, limit int) ([]KV, error) {
	if err := checkName("bucket name", bucket); err != nil {
		return nil, err
	}
	var lim any
	if limit > 0 {
		lim = limit
	}
	rows, err := t.tx.Query(t.ctx, `SELECT key, value FROM kassa_kv
		WHERE bucket = $1 AND key > $2 AND key >= $3 AND starts_with(key, $3)
		AND (expires_at IS NULL OR expires_at > $4)
		ORDER BY key LIMIT $5`,
		bucket, after, prefix, t.now, lim)
	if err != nil {
		return nil, t.p.wrap("list "+bucket, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (KV, error) {
		var kv KV
		err := row.Scan(&kv.Key, &kv.Value)
		if kv.Value == nil {
			kv.Value = []byte{}
		}
		return kv, err
	})
	if err != nil {
		return nil, t.p.wrap("list "+bucket, err)
	}
	return out, nil
}

func (t *pgTx) Enqueue(d *Delivery) (bool, error) {
	if !t.write {
		return false, errReadOnly
	}
	n, err := newDelivery(d, t.now)
	if err != nil {
		return false, err
	}
	var created bool
	err = t.tx.QueryRow(t.ctx, `INSERT INTO kassa_deliveries
		(id, target, method, url, header, body, state, attempts, created_at, next_at, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, '')
		ON CONFLICT (id) DO NOTHING RETURNING true`,
		n.ID, n.Target, n.Method, n.URL, n.Header, n.Body, n.CreatedAt, n.NextAt).Scan(&created)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, t.p.wrap("enqueue", err)
	}
	return created, nil
}

func (t *pgTx) GetDelivery(id string) (*Delivery, error) {
	if err := checkName("delivery ID", id); err != nil {
		return nil, err
	}
	d, err := scanDelivery(t.tx.QueryRow(t.ctx, "SELECT "+deliveryCols+" FROM kassa_deliveries d WHERE d.id = $1", id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, t.p.wrap("get delivery", err)
	}
	return d, nil
}

func (t *pgTx) ListDeliveries(state State, target string, limit int) ([]*Delivery, error) {
	if err := checkState(state, true); err != nil {
		return nil, err
	}
	var lim any
	if limit > 0 {
		lim = limit
	}
	rows, err := t.tx.Query(t.ctx, `SELECT `+deliveryCols+` FROM kassa_deliveries d
		WHERE ($1::text = '' OR d.state = $1::text) AND ($2::text = '' OR d.target = $2::text)
		ORDER BY d.created_at, d.id LIMIT $3`,
		string(state), target, lim)
	if err != nil {
		return nil, t.p.wrap("list deliveries", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Delivery, error) {
		return scanDelivery(row)
	})
	if err != nil {
		return nil, t.p.wrap("list deliveries", err)
	}
	return out, nil
}

// scanDelivery scans deliveryCols, then extra.
func scanDelivery(row pgx.Row, extra ...any) (*Delivery, error) {
	d := new(Delivery)
	var doneAt *time.Time
	dest := append([]any{&d.ID, &d.Target, &d.Method, &d.URL, &d.Header, &d.Body, &d.State,
		&d.Attempts, &d.CreatedAt, &d.NextAt, &doneAt, &d.LastError}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.NextAt = d.NextAt.UTC()
	if doneAt != nil {
		d.DoneAt = doneAt.UTC()
	}
	return d, nil
}

// nullTime maps the zero time (never) to NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// nonNil keeps a nil value from becoming NULL in a NOT NULL bytea column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
