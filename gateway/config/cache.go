package config

import (
	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/gateway/metrics"
)

// cacheFactory wraps each instance once with the object cache, all
// instances sharing one memory bound (cache.max_bytes).
//
// TODO(cache): the cache package's Wrap is not in the tree yet; until it
// is, instances are served unwrapped. When it lands this becomes:
//
//	store := cache.NewStore(cfg.MaxBytes)
//	a := cache.Wrap(inner, cache.Options{Store: store, MaxBytes: cfg.MaxBytes,
//		TTL: cfg.TTL, Name: name, Logger: env.Logger.With("instance", name), Now: env.Now})
//	return a, func() metrics.CacheStats { ... a.Stats() ... }
type cacheFactory struct {
	cfg Cache
	env adapters.Env
}

func newCacheFactory(cfg Cache, env adapters.Env) *cacheFactory {
	return &cacheFactory{cfg: cfg, env: env}
}

// wrap returns the adapter to serve for inner and, if the cache reports
// them, a func reading its stats for /metrics.
func (f *cacheFactory) wrap(inner adapters.Reader, name string) (adapters.Reader, func() metrics.CacheStats) {
	_ = name
	return inner, nil
}
