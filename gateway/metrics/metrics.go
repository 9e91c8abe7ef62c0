// Package metrics implements gateway.Metrics with its own Prometheus
// registry, so davgate exposes only its metrics plus the Go and process
// collectors, whatever other packages register globally.
//
// Request metrics are observed per request. Upstream and cache metrics are
// read at scrape time from functions registered with AddSource and AddCache,
// so adapters and the cache keep their own counters and need not import
// Prometheus.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/davgate/davgate/adapters"
)

// CacheStats is a snapshot of one cache's counters.
type CacheStats struct {
	Hits, Misses   uint64
	Bytes, Entries uint64
}

// Options tune Metrics.
type Options struct {
	// Now is the clock used for staleness; nil means time.Now.
	Now func() time.Time
}

// Metrics collects davgate's metrics. It is safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	now      func() time.Time

	mu      sync.Mutex
	sources []source
	caches  []cacheFn
}

type source struct {
	name, typ string
	status    func() adapters.Status
}

type cacheFn struct {
	name  string
	stats func() CacheStats
}

// New returns Metrics with a fresh registry.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		now: opts.Now,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "davgate_http_requests_total",
			Help: "HTTP requests served, by method and status code.",
		}, []string{"method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "davgate_http_request_duration_seconds",
			Help: "HTTP request latency, by method.",
			// DAV REPORTs over cold upstreams take seconds; cached
			// reads take well under a millisecond.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration,
		&scrapeCollector{m: m},
	)
	return m
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler implements gateway.Metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// knownMethods bounds the method label: clients choose the method, and an
// unbounded label would let them grow the exposition without limit.
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true, "OPTIONS": true,
	"PROPFIND": true, "PROPPATCH": true, "REPORT": true, "MKCOL": true, "MKCALENDAR": true,
	"COPY": true, "MOVE": true, "LOCK": true, "UNLOCK": true,
}

// ObserveRequest implements gateway.Metrics.
func (m *Metrics) ObserveRequest(method string, status int, seconds float64) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method).Observe(seconds)
}

// AddSource registers an adapter instance whose status is read at each
// scrape. name and typ become the source and type labels. A second call
// with the same name replaces the first, because duplicate label sets would
// fail the whole scrape.
func (m *Metrics) AddSource(name, typ string, status func() adapters.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.sources {
		if m.sources[i].name == name {
			m.sources[i] = source{name: name, typ: typ, status: status}
			return
		}
	}
	m.sources = append(m.sources, source{name: name, typ: typ, status: status})
}

// AddCache registers a cache whose stats are read at each scrape; name
// becomes the cache label. A second call with the same name replaces the
// first.
func (m *Metrics) AddCache(name string, stats func() CacheStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.caches {
		if m.caches[i].name == name {
			m.caches[i].stats = stats
			return
		}
	}
	m.caches = append(m.caches, cacheFn{name: name, stats: stats})
}

var (
	srcLabels        = []string{"source", "type"}
	descFetches      = prometheus.NewDesc("davgate_upstream_fetches_total", "Upstream calls made by the source's adapter.", srcLabels, nil)
	descFailures     = prometheus.NewDesc("davgate_upstream_failures_total", "Upstream calls that failed.", srcLabels, nil)
	descHealthy      = prometheus.NewDesc("davgate_source_healthy", "1 if the source can reach its upstream, else 0.", srcLabels, nil)
	descStale        = prometheus.NewDesc("davgate_feed_stale", "1 if reads are served from a copy older than the refresh interval because the upstream failed.", srcLabels, nil)
	descLastSuccess  = prometheus.NewDesc("davgate_feed_last_success_timestamp_seconds", "Unix time of the last successful upstream fetch (absent before the first).", srcLabels, nil)
	descStaleness    = prometheus.NewDesc("davgate_feed_staleness_seconds", "Seconds since the last successful upstream fetch (absent before the first).", srcLabels, nil)
	cacheLabels      = []string{"cache"}
	descCacheHits    = prometheus.NewDesc("davgate_cache_hits_total", "Cache lookups answered from the cache.", cacheLabels, nil)
	descCacheMisses  = prometheus.NewDesc("davgate_cache_misses_total", "Cache lookups that went to the adapter.", cacheLabels, nil)
	descCacheBytes   = prometheus.NewDesc("davgate_cache_bytes", "Bytes held by the cache store; instances sharing a store report the same value.", cacheLabels, nil)
	descCacheEntries = prometheus.NewDesc("davgate_cache_entries", "Objects held by the cache store; instances sharing a store report the same value.", cacheLabels, nil)
)

// scrapeCollector reads the registered funcs at scrape time.
type scrapeCollector struct{ m *Metrics }

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFetches, descFailures, descHealthy, descStale,
		descLastSuccess, descStaleness, descCacheHits, descCacheMisses, descCacheBytes, descCacheEntries} {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	sources := append([]source(nil), c.m.sources...)
	caches := append([]cacheFn(nil), c.m.caches...)
	c.m.mu.Unlock()

	now := c.m.now()
	for _, s := range sources {
		st := s.status()
		l := []string{s.name, s.typ}
		ch <- prometheus.MustNewConstMetric(descFetches, prometheus.CounterValue, float64(st.Fetches), l...)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(st.Failures), l...)
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, b2f(st.Healthy), l...)
		ch <- prometheus.MustNewConstMetric(descStale, prometheus.GaugeValue, b2f(st.Stale), l...)
		if !st.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue,
				float64(st.LastSuccess.UnixNano())/1e9, l...)
			ch <- prometheus.MustNewConstMetric(descStaleness, prometheus.GaugeValue,
				max(0, now.Sub(st.LastSuccess).Seconds()), l...)
		}
	}
	for _, cf := range caches {
		st := cf.stats()
		ch <- prometheus.MustNewConstMetric(descCacheHits, prometheus.CounterValue, float64(st.Hits), cf.name)
		ch <- prometheus.MustNewConstMetric(descCacheMisses, prometheus.CounterValue, float64(st.Misses), cf.name)
		ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(st.Bytes), cf.name)
		ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(st.Entries), cf.name)
	}
}
