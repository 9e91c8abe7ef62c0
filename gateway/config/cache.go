package config

import (
	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/cache"
	"github.com/davgate/davgate/gateway/metrics"
)

// cacheFactory wraps each instance once with the object cache. All
// instances share one Store, so cache.max_bytes bounds the process, not
// each instance.
type cacheFactory struct {
	store *cache.Store
	cfg   Cache
	env   adapters.Env
}

func newCacheFactory(cfg Cache, env adapters.Env) *cacheFactory {
	return &cacheFactory{store: cache.NewStore(cfg.MaxBytes), cfg: cfg, env: env}
}

// wrap returns the adapter to serve for inner and a func reading its
// stats for /metrics. Bytes and Entries are those of the shared store.
func (f *cacheFactory) wrap(inner adapters.Reader, name string) (adapters.Reader, func() metrics.CacheStats) {
	ttl := f.cfg.TTL
	if r, ok := inner.(adapters.Refresher); ok {
		// A feed refreshed every minute must not be hidden for cache.ttl.
		if d := r.RefreshInterval(); d > 0 && d < ttl {
			ttl = d
		}
	}
	a := f.store.Wrap(inner, cache.Options{
		TTL: ttl, Name: name, Logger: f.env.Logger, Now: f.env.Now,
	})
	return a, func() metrics.CacheStats {
		s := a.Stats()
		return metrics.CacheStats{Hits: s.Hits, Misses: s.Misses, Bytes: uint64(max(s.Bytes, 0)), Entries: uint64(max(s.Entries, 0))}
	}
}
