// Package app is the `kassa` Caddy app: the state every kassa handler
// shares — the core engine (wasm or native), the durable store, the outbox
// worker that delivers events and notifications, and the metrics.
//
// Configured by the `kassa` global option:
//
//	{
//		kassa {
//			engine    wasm | native        # default wasm
//			core      <file.wasm>          # default: the embedded wasm/kassa.wasm
//			store     bolt [<file>]        # default: kassa/kassa.db under Caddy's data directory
//			store     postgres <dsn>       # e.g. {env.KASSA_PG_DSN}
//			instances <n>                  # wasm instances in the pool (default 2 x CPUs)
//			max_body  <size>               # largest request or response body kassa reads (default 1MiB)
//			outbox {
//				base_delay <duration>      # first retry delay (default 1s)
//				max_delay  <duration>      # retry delay cap (default 1h)
//				max_age    <duration>      # give up and keep as dead after (default 72h)
//				timeout    <duration>      # one delivery attempt (default 10s)
//			}
//		}
//	}
//
// Expensive parts survive config reloads: the compiled wasm module and the
// store are kept in usage pools keyed by their identity, so a reload reuses
// them instead of recompiling or reopening the file.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/dustin/go-humanize"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/plugin/engine"
	"github.com/kassa-edge/kassa/plugin/outbox"
	"github.com/kassa-edge/kassa/plugin/store"
)

func init() {
	caddy.RegisterModule(new(App))
}

// App is the kassa app.
type App struct {
	// Engine runs the core: "wasm" (default; wazero runs kassa.wasm) or
	// "native" (the same core linked into Caddy).
	EngineName string `json:"engine,omitempty"`
	// Core is a wasm file to run instead of the embedded module.
	Core string `json:"core,omitempty"`
	// Store is where state lives.
	StoreConfig *StoreConfig `json:"store,omitempty"`
	// Instances bounds the wasm instance pool.
	Instances int `json:"instances,omitempty"`
	// MaxBody is the largest body kassa reads, in bytes (default 1 MiB).
	MaxBody int64 `json:"max_body,omitempty"`
	// Outbox tunes deliveries.
	Outbox *OutboxConfig `json:"outbox,omitempty"`

	ctx     caddy.Context
	logger  *zap.Logger
	engine  engine.Engine
	store   store.Store
	storeID string
	metrics *Metrics

	mu      sync.Mutex
	targets map[string]outbox.Target
	worker  *outbox.Worker
	client  *http.Client
	stop    context.CancelFunc
	done    chan struct{}
}

// StoreConfig selects the store.
type StoreConfig struct {
	// Kind is "bolt" (default) or "postgres".
	Kind string `json:"kind,omitempty"`
	// Path of the bolt file (default: kassa/kassa.db under Caddy's data dir).
	Path string `json:"path,omitempty"`
	// DSN of the PostgreSQL database: a placeholder such as {env.KASSA_PG_DSN}
	// (it usually carries a password).
	DSN string `json:"dsn,omitempty"`
}

// OutboxConfig tunes the delivery worker.
type OutboxConfig struct {
	BaseDelay caddy.Duration `json:"base_delay,omitempty"`
	MaxDelay  caddy.Duration `json:"max_delay,omitempty"`
	MaxAge    caddy.Duration `json:"max_age,omitempty"`
	Timeout   caddy.Duration `json:"timeout,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "kassa", New: func() caddy.Module { return new(App) }}
}

// DefaultDeliveryTimeout bounds one outbound delivery attempt.
const DefaultDeliveryTimeout = 10 * time.Second

// DefaultMaxBody bounds bodies: provider requests are a few KB; Smarts
// invoices with many products stay far below this.
const DefaultMaxBody = 1 << 20

// Provision sets the app up.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.targets = map[string]outbox.Target{}
	if a.MaxBody == 0 {
		a.MaxBody = DefaultMaxBody
	}
	if a.EngineName == "" {
		a.EngineName = "wasm"
	}
	if err := a.validate(); err != nil {
		return err
	}
	m, err := metricsFor(ctx)
	if err != nil {
		return err
	}
	a.metrics = m

	switch a.EngineName {
	case "native":
		a.engine = engine.NewNative()
	case "wasm":
		cfg := engine.WasmConfig{
			CacheDir:     filepath.Join(caddy.AppDataDir(), "kassa", "wazero-cache"),
			MaxInstances: a.Instances,
			Observe:      m.observeWasm,
		}
		if a.Core != "" {
			b, err := readFile(a.Core)
			if err != nil {
				return fmt.Errorf("core: %v", err)
			}
			cfg.Module = b
		}
		w, err := engine.NewWasm(ctx, cfg)
		if err != nil {
			return fmt.Errorf("engine wasm: %v", err)
		}
		a.engine = w
		m.watchPool(w)
		// compiles stays 1 across config reloads: the compiled module is
		// shared (tests read this line to prove it).
		a.logger.Info("wasm engine ready", zap.Int64("compiles", engine.CompileCount()))
	}

	st, id, err := openStore(ctx, a.StoreConfig)
	if err != nil {
		return err
	}
	a.store, a.storeID = st, id
	m.watchStore(st)
	a.logger.Info("kassa provisioned", zap.String("engine", a.EngineName), zap.String("store", storeKind(a.StoreConfig)))
	return nil
}

func (a *App) validate() error {
	switch a.EngineName {
	case "wasm", "native":
	default:
		return fmt.Errorf("engine: unknown engine %q (want wasm or native)", a.EngineName)
	}
	if a.Core != "" && a.EngineName != "wasm" {
		return fmt.Errorf("core: only used with engine wasm")
	}
	if a.StoreConfig != nil {
		switch a.StoreConfig.Kind {
		case "", "bolt":
			if a.StoreConfig.DSN != "" {
				return fmt.Errorf("store: bolt takes a file path, not a DSN")
			}
		case "postgres":
			if a.StoreConfig.DSN == "" {
				return fmt.Errorf("store: postgres needs a DSN, e.g. store postgres {env.KASSA_PG_DSN}")
			}
		default:
			return fmt.Errorf("store: unknown store %q (want bolt or postgres)", a.StoreConfig.Kind)
		}
	}
	if a.MaxBody < 1024 {
		return fmt.Errorf("max_body: %d bytes is too small (at least 1KiB)", a.MaxBody)
	}
	if a.Instances < 0 {
		return fmt.Errorf("instances: must be positive")
	}
	return nil
}

// deliveryClient is the outbox's HTTP client. It keeps as many idle
// connections per host as the worker sends at once (Go's default of 2
// would open a new connection, and a new TLS handshake, for most
// deliveries), and it follows no redirect: a 3xx is a failed attempt, so
// a provider key is never carried to another host and a moved endpoint
// shows up in the dead letters instead of being followed silently.
func deliveryClient(timeout time.Duration) *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else { // another module replaced it: start from Go's defaults
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	t.MaxIdleConnsPerHost = outbox.DefaultConcurrency
	t.IdleConnTimeout = 30 * time.Second
	return &http.Client{
		Timeout:   timeout,
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Start starts the outbox worker and the sweeper.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.Outbox
	if o == nil {
		o = &OutboxConfig{}
	}
	timeout := time.Duration(o.Timeout)
	if timeout == 0 {
		timeout = DefaultDeliveryTimeout
	}
	m := a.metrics
	a.client = deliveryClient(timeout)
	w, err := outbox.New(outbox.Config{
		Store:     a.store,
		Client:    a.client,
		Targets:   a.targets,
		BaseDelay: time.Duration(o.BaseDelay),
		MaxDelay:  time.Duration(o.MaxDelay),
		MaxAge:    time.Duration(o.MaxAge),
		// A claimed delivery is reserved for twice the attempt timeout
		// (the worker bounds an attempt by half the lease). After a crash,
		// that is how long the deliveries it held wait before another
		// worker takes them; a graceful stop hands them back at once.
		Lease:  2 * timeout,
		Logger: a.logger.Named("outbox"),
		OnResult: func(target, outcome string, d time.Duration) {
			m.Deliveries.WithLabelValues(targetProvider(target), outcome).Inc()
		},
	})
	if err != nil {
		return fmt.Errorf("outbox: %v", err)
	}
	a.worker = w
	ctx, cancel := context.WithCancel(context.Background())
	a.stop, a.done = cancel, make(chan struct{})
	a.worker.Start(ctx)
	go a.sweep(ctx)
	return nil
}

// sweep removes expired sessions and old delivered events hourly.
func (a *App) sweep(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		n, err := a.store.Sweep(ctx, now, now.Add(-7*24*time.Hour))
		if err != nil && ctx.Err() == nil {
			a.logger.Warn("sweep failed", zap.Error(err))
		} else if n > 0 {
			a.logger.Info("swept expired records", zap.Int("removed", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops the worker; deliveries in flight finish or return to the
// store when their lease ends.
func (a *App) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop != nil {
		a.stop()
		a.worker.Stop()
		<-a.done
		a.stop = nil
		a.client.CloseIdleConnections()
	}
	return nil
}

// Cleanup releases the engine and the store (shared ones stay open while
// another config uses them).
func (a *App) Cleanup() error {
	var errs []error
	if a.engine != nil {
		errs = append(errs, a.engine.Close(context.Background()))
	}
	if a.storeID != "" {
		_, err := stores.Delete(a.storeID)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Engine returns the core engine.
func (a *App) Engine() engine.Engine { return a.engine }

// Store returns the store.
func (a *App) Store() store.Store { return a.store }

// Metrics returns the app's collectors.
func (a *App) Metrics() *Metrics { return a.metrics }

// Logger returns the app's logger.
func (a *App) Logger() *zap.Logger { return a.logger }

// BodyLimit is the largest body handlers read.
func (a *App) BodyLimit() int64 { return a.MaxBody }

// RegisterTarget makes the outbox deliver deliveries of target with t.
// Handlers call it while they are provisioned (before Start). A target name
// must be stable across restarts — deliveries stored by a previous process
// are sent with the sender registered under the same name.
func (a *App) RegisterTarget(name string, t outbox.Target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.targets[name]; dup {
		return fmt.Errorf("two handlers use the delivery target %q: give one of them another `name`", name)
	}
	a.targets[name] = t
	return nil
}

// Notify wakes the outbox after an Enqueue, so deliveries start at once.
func (a *App) Notify() {
	a.mu.Lock()
	w := a.worker
	a.mu.Unlock()
	if w != nil {
		w.Notify()
	}
}

// Health reports the store's and the engine's state.
func (a *App) Health(ctx context.Context) (storeErr, engineErr error) {
	storeErr = a.store.Ping(ctx)
	_, engineErr = a.engine.Validate(ctx, "payneteasy.error", []byte(`{"error":{"cause":"FILTERED","code":"x"}}`))
	return storeErr, engineErr
}

// FromContext returns the kassa app of the config being provisioned.
func FromContext(ctx caddy.Context) (*App, error) {
	v, err := ctx.App("kassa")
	if err != nil {
		return nil, err
	}
	return v.(*App), nil
}

func targetProvider(target string) string {
	if i := strings.IndexByte(target, '/'); i > 0 {
		return target[:i]
	}
	return target
}

// ParseSize parses sizes such as 1MiB or 512KB.
func ParseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, err
	}
	return int64(n), nil
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)

func storeKind(c *StoreConfig) string {
	if c == nil || c.Kind == "" {
		return "bolt"
	}
	return c.Kind
}
