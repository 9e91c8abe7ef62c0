package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/gateway"
	"github.com/davgate/davgate/gateway/auth"
	"github.com/davgate/davgate/gateway/metrics"
)

var (
	_ gateway.Authenticator = (*auth.Authenticator)(nil)
	_ gateway.Metrics       = (*metrics.Metrics)(nil)
)

// Instance is one adapter instance, possibly shared by sources of several
// users.
type Instance struct {
	// Name is the first source's name, or "user/source" if another
	// instance already has that name. It labels logs and metrics.
	Name string
	Type string
	// Adapter is what the gateway serves: the instance wrapped by the
	// cache, which closes the instance when closed.
	Adapter adapters.Reader
	// Raw is the unwrapped instance, for its Status.
	Raw adapters.Adapter
	// Sources lists the "user/source" pairs the instance backs.
	Sources []string
}

// Status returns the instance's upstream status as the cache sees it
// (stale when serving old data), merged with the adapter's own report;
// adapters without an upstream (memory) are healthy.
func (in *Instance) Status() adapters.Status {
	st := adapters.Status{Healthy: true}
	if r, ok := in.Adapter.(adapters.StatusReporter); ok {
		st = r.Status()
	}
	// The cache counts its calls into the adapter; an adapter that
	// reports its own counts its real upstream requests, which is what
	// davgate_upstream_fetches_total means.
	if r, ok := in.Raw.(adapters.StatusReporter); ok && in.Raw != adapters.Adapter(in.Adapter) {
		own := r.Status()
		st.Fetches, st.Failures = own.Fetches, own.Failures
	}
	return st
}

// Runtime is a built configuration: what gateway.New needs, plus the
// instances to close at shutdown.
type Runtime struct {
	Options   gateway.Options
	Metrics   *metrics.Metrics
	Instances []*Instance

	closeOnce sync.Once
	closeErr  error
}

// Build validates cfg, creates the adapter instances (one per distinct
// type+options, shared across users), provisions them, wraps each once
// with the cache and assembles gateway.Options. env supplies the logger,
// HTTP client and clock handed to adapters; StateDir is taken from cfg.
// On error, instances already created are closed.
func Build(ctx context.Context, cfg *Config, env adapters.Env) (_ *Runtime, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.WithDefaults()
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, cfg.errorf("state_dir", "create %s: %v; create it or fix its permissions", cfg.StateDir, err)
		}
	}

	rt := &Runtime{Metrics: metrics.New(metrics.Options{Now: env.Now})}
	defer func() {
		if err != nil {
			_ = rt.Close()
		}
	}()
	caches := newCacheFactory(cfg.Cache, env)
	plan, err := planInstances(cfg)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*Instance{}
	secrets := map[string]auth.Secret{}

	for i, u := range cfg.Users {
		sec, err := u.secret()
		if err != nil {
			return nil, cfg.errorf(fmt.Sprintf("users[%d]", i), "user %q: %v", u.Name, err)
		}
		secrets[u.Name] = sec
		gu := gateway.User{Name: u.Name}
		for j, s := range u.Sources {
			path := fmt.Sprintf("users[%d].sources[%d]", i, j)
			key, err := canonicalKey(s.Type, &s.Options)
			if err != nil {
				return nil, cfg.errorf(path+".options", "source %q of user %q: %v", s.Name, u.Name, err)
			}
			in, ok := byKey[key]
			if !ok {
				p := plan[[2]int{i, j}]
				ienv := env
				ienv.Reauth = p.reauth
				in, err = rt.start(ctx, cfg, s, p.name, ienv, caches)
				if err != nil {
					return nil, cfg.errorf(path, "source %q of user %q: %w", s.Name, u.Name, err)
				}
				byKey[key] = in
			}
			in.Sources = append(in.Sources, u.Name+"/"+s.Name)
			gu.Sources = append(gu.Sources, gateway.Source{
				Name: s.Name, Adapter: in.Adapter, Color: s.Color, DisplayName: s.DisplayName,
			})
		}
		rt.Options.Users = append(rt.Options.Users, gu)
	}

	rt.Options.Auth = auth.New(secrets, auth.Options{Now: env.Now})
	rt.Options.Logger = env.Logger
	rt.Options.MaxBodyBytes = cfg.MaxBodyBytes
	rt.Options.Metrics = rt.Metrics
	instances := rt.Instances
	rt.Options.Health = func() []gateway.SourceHealth {
		out := make([]gateway.SourceHealth, len(instances))
		for i, in := range instances {
			out[i] = gateway.SourceHealth{Name: in.Name, Type: in.Type, Status: in.Status()}
		}
		return out
	}
	return rt, nil
}

// start creates, provisions, wraps and registers one instance.
func (rt *Runtime) start(ctx context.Context, cfg *Config, s Source, name string, env adapters.Env, caches *cacheFactory) (*Instance, error) {
	env.Logger = env.Logger.With(slog.String("adapter", s.Type), slog.String("instance", name))
	env.StateDir = cfg.stateDir(name)
	a, err := newInstance(s, env)
	if err != nil {
		return nil, err
	}
	in := &Instance{Name: name, Type: s.Type, Raw: a, Adapter: a.(adapters.Reader)}
	rt.Instances = append(rt.Instances, in) // closed by rt.Close from now on
	if p, ok := a.(adapters.Provisioner); ok {
		if err := p.Provision(ctx); err != nil {
			return nil, fmt.Errorf("provision %s instance %q: %w", s.Type, name, err)
		}
	}
	var stats func() metrics.CacheStats
	in.Adapter, stats = caches.wrap(in.Adapter, name)
	if stats != nil {
		rt.Metrics.AddCache(name, stats)
	}
	rt.Metrics.AddSource(name, s.Type, in.Status)
	return in, nil
}

// Close closes every instance once (through its cache wrapper, which
// closes what it wraps) and returns the errors joined.
func (rt *Runtime) Close() error {
	rt.closeOnce.Do(func() {
		var errs []error
		for _, in := range rt.Instances {
			if err := in.Adapter.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s instance %q: %w", in.Type, in.Name, err))
			}
		}
		rt.closeErr = errors.Join(errs...)
	})
	return rt.closeErr
}
