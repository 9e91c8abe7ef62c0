package adapters

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Env carries an adapter's dependencies explicitly, so tests inject fakes
// and clocks without globals.
type Env struct {
	Logger *slog.Logger
	// HTTP is the client for upstream calls. Adapters may wrap its
	// Transport but must keep its timeouts.
	HTTP *http.Client
	// Now is the clock.
	Now func() time.Time
	// StateDir is where the adapter may keep durable state (tokens), or "".
	StateDir string
	// Reauth is the command an operator runs to (re-)authorise this
	// instance ("davgate auth google -config F -user U -source S"), for
	// adapters holding OAuth tokens to show in Status; "" if unknown.
	Reauth string
}

// WithDefaults fills unset fields.
func (e Env) WithDefaults() Env {
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.HTTP == nil {
		e.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	return e
}

// Options gives an adapter its configuration. Decode fills v, a pointer to
// the adapter's own options struct, and rejects unknown keys.
type Options interface {
	Decode(v any) error
}

// Info registers an adapter type.
type Info struct {
	// Type is the name used in configuration ("ics", "google").
	Type string
	// New decodes options and sets defaults. It does no I/O, so that
	// check-config runs offline.
	New func(opts Options, env Env) (Adapter, error)
}

// Validator is implemented by adapters whose options need checks beyond
// decoding. Validate is pure and fast.
type Validator interface {
	Validate() error
}

// Provisioner is implemented by adapters that must dial or load state
// before serving. Provision is called once, after Validate.
type Provisioner interface {
	Provision(ctx context.Context) error
}

var (
	regMu    sync.RWMutex
	registry = map[string]Info{}
)

// Register adds an adapter type. It panics on duplicates, so mistakes fail
// at startup.
func Register(info Info) {
	regMu.Lock()
	defer regMu.Unlock()
	if info.Type == "" || info.New == nil {
		panic("adapters: Register with empty type or nil New")
	}
	if _, dup := registry[info.Type]; dup {
		panic(fmt.Sprintf("adapters: type %q registered twice", info.Type))
	}
	registry[info.Type] = info
}

// Lookup returns the registered adapter type.
func Lookup(typ string) (Info, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	info, ok := registry[typ]
	return info, ok
}

// Types lists registered adapter types, sorted.
func Types() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
