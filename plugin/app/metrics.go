package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassa-edge/kassa/plugin/store"
)

// Metrics are kassa's collectors in Caddy's Prometheus registry (served by
// Caddy's admin endpoint /metrics). Labels never carry secrets, tokens or
// invoice ids: only provider, endpoint id, outcome, engine and function.
type Metrics struct {
	// Requests counts handled requests by provider, endpoint and outcome
	// (ok, invalid, unauthorized, forbidden, not_found, upstream_error, unavailable, error).
	Requests *prometheus.CounterVec
	// EngineCall observes core calls by engine and function.
	EngineCall *prometheus.HistogramVec
	// Deliveries counts outbox attempts by provider and outcome
	// (delivered, retry, dead).
	Deliveries *prometheus.CounterVec
	// Instances reports wasm instances by state (idle, total).
	Instances *prometheus.GaugeVec
	// Stored describes kassa_outbox_stored_deliveries{state}: the
	// deliveries in the store by state (pending, done, dead), counted
	// when scraped. Alert on a pending count that keeps growing (a
	// backlog) and on any dead one. (Not "kassa_outbox_deliveries": in
	// OpenMetrics that name would clash with the counter
	// kassa_outbox_deliveries_total.)
	Stored *prometheus.Desc

	requests byLabels[[3]string, prometheus.Counter]
	calls    byLabels[string, prometheus.Observer]

	mu      sync.Mutex
	pools   []poolStats
	st      deliveryCounter     // the config's store (each config has its own registry)
	counts  map[store.State]int // its last count of deliveries
	counted time.Time
}

type deliveryCounter interface {
	CountDeliveries(ctx context.Context) (map[store.State]int, error)
}

// countTimeout bounds the store query of a scrape.
const countTimeout = 2 * time.Second

type poolStats interface{ Stats() (idle, total int) }

var (
	metricsMu sync.Mutex
	byReg     = map[*prometheus.Registry]*Metrics{}
)

// metricsFor returns the collectors registered in ctx's registry, creating
// them once per registry. Caddy gives each config its own registry, so the
// entry is dropped when the config's context ends (a reload must not keep
// the old registry, engines and store reachable).
func metricsFor(ctx caddy.Context) (*Metrics, error) {
	reg := ctx.GetMetricsRegistry()
	metricsMu.Lock()
	defer metricsMu.Unlock()
	ctx.OnCancel(func() {
		metricsMu.Lock()
		delete(byReg, reg)
		metricsMu.Unlock()
	})
	if m := byReg[reg]; m != nil {
		m.mu.Lock()
		m.pools = nil // the previous config's engines are going away
		m.st = nil
		m.mu.Unlock()
		return m, nil
	}
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kassa", Name: "requests_total",
			Help: "Requests handled by kassa, by provider, endpoint and outcome.",
		}, []string{"provider", "endpoint", "outcome"}),
		EngineCall: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kassa", Name: "engine_call_seconds",
			Help:    "Latency of calls into the core, by engine and function.",
			Buckets: []float64{1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2},
		}, []string{"engine", "fn"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kassa", Name: "outbox_deliveries_total",
			Help: "Outbox delivery attempts, by provider and outcome.",
		}, []string{"provider", "outcome"}),
		Instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "kassa", Name: "engine_instances",
			Help: "WebAssembly instances in the pool, by state.",
		}, []string{"state"}),
		Stored: prometheus.NewDesc("kassa_outbox_stored_deliveries",
			"Deliveries in the outbox store, by state (pending, done, dead).", []string{"state"}, nil),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Requests, m.EngineCall, m.Deliveries, poolCollector{m}, outboxCollector{m}} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, err
				}
			}
		}
	}
	byReg[reg] = m
	return m, nil
}

// Count adds one to Requests{provider, endpoint, outcome}.
func (m *Metrics) Count(provider, endpoint, outcome string) {
	m.requests.get([3]string{provider, endpoint, outcome}, func() prometheus.Counter {
		return m.Requests.WithLabelValues(provider, endpoint, outcome)
	}).Inc()
}

// observeWasm records a wasm engine call's latency in EngineCall.
func (m *Metrics) observeWasm(fn string, d time.Duration) {
	m.calls.get(fn, func() prometheus.Observer {
		return m.EngineCall.WithLabelValues("wasm", fn)
	}).Observe(d.Seconds())
}

// byLabels keeps a vector's children by their label values: the vector
// checks and hashes every label value on each WithLabelValues, a cost on
// every request. Label values come from the code, never from requests, so
// the map stays small.
type byLabels[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *byLabels[K, V]) get(k K, child func() V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = child()
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[K]V)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

func (m *Metrics) watchPool(p poolStats) {
	m.mu.Lock()
	m.pools = append(m.pools, p)
	m.mu.Unlock()
}

// poolCollector reads the pools' sizes when scraped.
type poolCollector struct{ m *Metrics }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) { c.m.Instances.Describe(ch) }

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	idle, total := 0, 0
	for _, p := range c.m.pools {
		i, t := p.Stats()
		idle, total = idle+i, total+t
	}
	c.m.mu.Unlock()
	c.m.Instances.WithLabelValues("idle").Set(float64(idle))
	c.m.Instances.WithLabelValues("total").Set(float64(total))
	c.m.Instances.Collect(ch)
}

func (m *Metrics) watchStore(s deliveryCounter) {
	m.mu.Lock()
	m.st, m.counted = s, time.Time{}
	m.mu.Unlock()
}

// outboxCollector counts the deliveries in the store when scraped, at most
// once per countCache (several scrapers, or a large store, must not turn
// /metrics into a load). A store that does not answer in time is left out
// of the scrape: the series disappears rather than showing a stale figure.
type outboxCollector struct{ m *Metrics }

// countCache is how long a count serves scrapes.
const countCache = 5 * time.Second

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.Stored }

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if c.m.st == nil {
		return
	}
	if c.m.counted.IsZero() || time.Since(c.m.counted) > countCache {
		ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
		n, err := c.m.st.CountDeliveries(ctx)
		cancel()
		if err != nil {
			return
		}
		c.m.counts, c.m.counted = n, time.Now()
	}
	for state, v := range c.m.counts {
		ch <- prometheus.MustNewConstMetric(c.m.Stored, prometheus.GaugeValue, float64(v), string(state))
	}
}
