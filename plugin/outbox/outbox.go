// Package outbox sends the deliveries in the store's outbox: it claims due
// deliveries, sends each over HTTP with its target's credentials, and
// records the result: done, retry later with backoff, or dead.
//
// Delivery is at least once. A delivery may be sent twice (a crash after
// the receiver answered but before the result was stored, or a lease that
// ran out); it then carries the same ID (webhook-id), which receivers use
// to deduplicate.
package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/plugin/store"
)

// Sender adds a target's credentials to a request just before it is sent.
// Deliveries never hold secrets, so a stolen database or a dead-letter
// listing reveals no key.
type Sender interface {
	Prepare(req *http.Request, d *store.Delivery) error
}

// Policy is how a target's answers are judged.
type Policy struct {
	// Permanent4xx makes a 4xx answer final: the delivery goes dead with
	// the status and the start of the body (Voyado: a 4xx means the
	// request is wrong and resending it cannot help). Otherwise a 4xx is
	// retried like a 5xx. 408, 425 and 429 (timeout, too early, rate
	// limited) say "later", not "wrong", and are always retried.
	Permanent4xx bool
}

// Target is one destination kind, named by Delivery.Target.
type Target struct {
	// Sender adds credentials; nil sends the delivery as stored.
	Sender Sender
	Policy Policy
}

// Outcomes passed to Config.OnResult.
const (
	OutcomeDelivered = "delivered" // 2xx: state done
	OutcomeRetry     = "retry"     // failed, due again after a backoff
	OutcomeDead      = "dead"      // failed for good
)

// Defaults for zero Config fields.
const (
	DefaultBaseDelay    = time.Second
	DefaultMaxDelay     = time.Hour
	DefaultMaxAge       = 72 * time.Hour
	DefaultLease        = 2 * time.Minute
	DefaultBatch        = 32
	DefaultConcurrency  = 8
	DefaultPollInterval = time.Second
)

// maxResponseBody is how much of a response is read; the rest is dropped
// with the connection.
const maxResponseBody = 64 << 10

// snippetLen is how much of a failed response's body goes into LastError.
const snippetLen = 200

// recordTimeout bounds storing an attempt's result. It runs on a context
// that Stop does not cancel, so a finished attempt is still recorded.
const recordTimeout = 10 * time.Second

// Config configures a Worker. Zero durations and counts take the defaults.
type Config struct {
	Store store.Store
	// Client sends the requests. The default follows no redirects (a
	// redirect answer is a failure, so a moved endpoint shows up instead
	// of being followed silently).
	Client *http.Client
	// Targets maps Delivery.Target to its sender and policy. A delivery
	// for a target not in the map goes dead.
	Targets map[string]Target

	// Retry n (n >= 1 attempts made) waits BaseDelay*2^(n-1), at most
	// MaxDelay, jittered to a random point in its upper half.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxAge: a delivery older than this (since CreatedAt) that fails
	// goes dead instead of being retried.
	MaxAge time.Duration
	// Lease is how long a claimed delivery is reserved for this worker.
	// An attempt may take at most half of it, so its result is stored
	// before another instance may claim the delivery again.
	Lease time.Duration
	// Batch is the most deliveries claimed at once; Concurrency the most
	// sent at once.
	Batch       int
	Concurrency int
	// PollInterval is how often the store is checked for due deliveries
	// when nothing calls Notify.
	PollInterval time.Duration

	Logger *zap.Logger
	// OnResult, if set, is called after each attempt with the target, an
	// Outcome constant and the attempt's duration (for metrics). Attempts
	// interrupted by Stop have no outcome and are not reported.
	OnResult func(target, outcome string, dur time.Duration)
}

// Worker delivers the outbox. Start it once per process; several
// processes on a shared PostgreSQL store each run one.
type Worker struct {
	cfg  Config
	log  *zap.Logger
	wake chan struct{}

	// busy counts deliveries being sent. Only the loop adds to it, so it
	// never claims more than Concurrency.
	busy atomic.Int32
	// starved is set when the loop stopped claiming for lack of free
	// slots, so a finished delivery wakes it.
	starved atomic.Bool

	mu     sync.Mutex // serializes Start and Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a stopped Worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil {
		return nil, errors.New("outbox: Config.Store is nil")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	setDefault(&cfg.BaseDelay, DefaultBaseDelay)
	setDefault(&cfg.MaxDelay, DefaultMaxDelay)
	setDefault(&cfg.MaxAge, DefaultMaxAge)
	setDefault(&cfg.Lease, DefaultLease)
	setDefault(&cfg.Batch, DefaultBatch)
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Worker{cfg: cfg, log: log, wake: make(chan struct{}, 1)}, nil
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Start runs the worker until Stop is called or ctx is done.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return errors.New("outbox: worker already started")
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.wg.Add(1)
	go w.run(ctx)
	return nil
}

// Stop stops claiming, interrupts the requests in flight and waits for
// the worker to finish. Interrupted deliveries are made due at once for
// whichever worker runs next (a Caddy reload starts the new one before
// stopping the old); results already received are still stored.
func (w *Worker) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel == nil {
		return
	}
	w.cancel()
	w.cancel = nil
	w.wg.Wait()
}

// Notify makes the worker check for due deliveries now rather than at the
// next poll. Call it after committing an Enqueue.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) run(ctx context.Context) {
	defer w.wg.Done()
	timer := time.NewTimer(w.cfg.PollInterval)
	defer timer.Stop()
	for {
		if w.poll(ctx) {
			continue
		}
		timer.Reset(w.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
	}
}

// poll claims as many due deliveries as there are free slots (at most
// Batch) and starts sending them. It reports whether to poll again at
// once: the batch was full, so more may be due, and slots are left.
func (w *Worker) poll(ctx context.Context) bool {
	free := w.free()
	if free <= 0 {
		w.starved.Store(true)
		// A delivery that finished before the Store did not wake us.
		return w.free() > 0
	}
	limit := min(free, w.cfg.Batch)
	ds, err := w.cfg.Store.Claim(ctx, time.Now(), limit, w.cfg.Lease)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("outbox: claiming deliveries failed; will retry", zap.Error(err))
		}
		return false
	}
	if len(ds) == free {
		w.starved.Store(true)
	}
	for _, d := range ds {
		w.busy.Add(1)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.deliver(ctx, d)
			w.busy.Add(-1)
			if w.starved.Swap(false) {
				w.Notify()
			}
		}()
	}
	return len(ds) == limit && len(ds) < free
}

func (w *Worker) free() int {
	return w.cfg.Concurrency - int(w.busy.Load())
}

// deliver makes one attempt and stores its result.
func (w *Worker) deliver(ctx context.Context, d *store.Delivery) {
	start := time.Now()
	log := w.log.With(zap.String("id", d.ID), zap.String("target", d.Target), zap.Int("attempt", d.Attempts))
	target, ok := w.cfg.Targets[d.Target]
	if !ok {
		w.dead(ctx, log, d, start, fmt.Sprintf("unknown target %q", d.Target))
		return
	}
	status, snippet, err := w.send(ctx, d, target)
	var perm permanentError
	switch {
	case err != nil && ctx.Err() != nil:
		w.release(ctx, log, d)
	case errors.As(err, &perm):
		w.dead(ctx, log, d, start, err.Error())
	case err != nil:
		w.fail(ctx, log, d, start, err.Error())
	case status >= 200 && status < 300:
		w.complete(ctx, log, d, start)
	case status >= 400 && status < 500 && target.Policy.Permanent4xx && !transient(status):
		w.dead(ctx, log, d, start, fmt.Sprintf("HTTP %d: %s", status, snippet))
	default:
		w.fail(ctx, log, d, start, fmt.Sprintf("HTTP %d: %s", status, snippet))
	}
}

// transient reports whether a 4xx status asks the client to try again.
func transient(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooEarly || status == http.StatusTooManyRequests
}

// permanentError is a failure no retry can fix (a malformed request).
type permanentError struct{ error }

// send makes the HTTP request. It returns the status and, for a failure,
// the start of the body, or an error if no answer came.
func (w *Worker) send(ctx context.Context, d *store.Delivery, target Target) (status int, snippet string, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Lease/2)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, d.Method, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, "", permanentError{fmt.Errorf("invalid request: %w", err)}
	}
	for k, vs := range d.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if target.Sender != nil {
		if err := target.Sender.Prepare(req, d); err != nil {
			return 0, "", fmt.Errorf("prepare request: %w", err)
		}
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which a Sender may have given a
		// credential; the delivery ID identifies the request instead.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return 0, "", fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	// The status is the answer: a body cut short does not change it.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, "", nil // only a failure keeps a snippet
	}
	if target.Sender != nil {
		// An upstream may echo the credential it refuses ("Api-Key 'x' is
		// not valid"); the snippet is stored, logged and shown by the admin
		// API, so what the Sender added (req still holds it: the client
		// does not change it) is taken out before it is cut short.
		body = redact(body, secretsOf(d, req))
	}
	if len(body) > snippetLen {
		body = body[:snippetLen]
	}
	return resp.StatusCode, strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD")), nil
}

// recordCtx is the context for storing a result: not canceled by Stop,
// but bounded.
func recordCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

func (w *Worker) complete(ctx context.Context, log *zap.Logger, d *store.Delivery, start time.Time) {
	ctx, cancel := recordCtx(ctx)
	defer cancel()
	if err := w.cfg.Store.Complete(ctx, d.ID, time.Now()); err != nil {
		log.Error("outbox: delivered, but storing that failed; it will be sent again after its lease", zap.Error(err))
	} else {
		log.Debug("outbox: delivered", zap.Duration("duration", time.Since(start)))
	}
	w.result(d, OutcomeDelivered, start)
}

// fail retries d after a backoff, or gives up on it past MaxAge.
func (w *Worker) fail(ctx context.Context, log *zap.Logger, d *store.Delivery, start time.Time, reason string) {
	if age := time.Since(d.CreatedAt); age >= w.cfg.MaxAge {
		w.dead(ctx, log, d, start, fmt.Sprintf("gave up after %s: %s", age.Round(time.Second), reason))
		return
	}
	next := time.Now().Add(w.backoff(d.Attempts))
	rctx, cancel := recordCtx(ctx)
	defer cancel()
	if err := w.cfg.Store.Retry(rctx, d.ID, next, reason); err != nil {
		log.Error("outbox: storing a retry failed; it will be retried after its lease", zap.String("reason", reason), zap.Error(err))
	} else {
		log.Info("outbox: delivery failed; will retry", zap.String("reason", reason), zap.Time("next", next))
	}
	w.result(d, OutcomeRetry, start)
}

func (w *Worker) dead(ctx context.Context, log *zap.Logger, d *store.Delivery, start time.Time, reason string) {
	ctx, cancel := recordCtx(ctx)
	defer cancel()
	if err := w.cfg.Store.Dead(ctx, d.ID, reason); err != nil {
		log.Error("outbox: storing a dead delivery failed; it will be retried after its lease", zap.String("reason", reason), zap.Error(err))
	} else {
		log.Error("outbox: delivery is dead", zap.String("reason", reason))
	}
	w.result(d, OutcomeDead, start)
}

// release makes an attempt interrupted by Stop due again at once,
// keeping its last error.
func (w *Worker) release(ctx context.Context, log *zap.Logger, d *store.Delivery) {
	ctx, cancel := recordCtx(ctx)
	defer cancel()
	if err := w.cfg.Store.Retry(ctx, d.ID, time.Now(), d.LastError); err != nil {
		log.Warn("outbox: releasing an interrupted delivery failed; it is due after its lease", zap.Error(err))
	}
}

func (w *Worker) result(d *store.Delivery, outcome string, start time.Time) {
	if w.cfg.OnResult != nil {
		w.cfg.OnResult(d.Target, outcome, time.Since(start))
	}
}

// backoff is the wait before retry number attempts: BaseDelay doubled
// per earlier attempt, capped at MaxDelay, then a random point in
// [d/2, d] so deliveries that failed together do not retry together.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.cfg.BaseDelay
	for i := 1; i < attempts && d < w.cfg.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxDelay)
	return d/2 + rand.N(d-d/2+1)
}
