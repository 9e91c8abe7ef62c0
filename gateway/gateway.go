// Package gateway is davgate's HTTP surface: it serves CalDAV and CardDAV
// (RFC 4791, 6352, 6578, 6764, 4918 and CalendarServer's getctag) over
// adapter instances, maps DAV paths to (source, collection, object), derives
// ETags and maps adapter errors to HTTP status.
package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/davgate/davgate/adapters"
)

// Authenticator checks HTTP Basic credentials.
type Authenticator interface {
	// Authenticate reports whether password is user's. Implementations
	// compare in constant time.
	Authenticate(ctx context.Context, user, password string) bool
}

// Source is one adapter instance as a user sees it.
type Source struct {
	// Name is the source's name in the user's config; it prefixes the
	// collection segment in URLs. It matches [A-Za-z0-9_.-]+.
	Name string
	// Adapter serves the source, usually wrapped by the cache. The same
	// adapter may back sources of several users.
	Adapter adapters.Reader
	// Color and DisplayName override the collections' own, when set.
	Color, DisplayName string
}

// User is an authenticated principal and the sources it sees.
type User struct {
	Name    string
	Sources []Source
}

// Metrics receives per-request observations; nil disables them.
type Metrics interface {
	// Handler serves the Prometheus exposition at /metrics.
	Handler() http.Handler
	// ObserveRequest records one finished request.
	ObserveRequest(method string, status int, seconds float64)
}

// Options configure a Server.
type Options struct {
	Users  []User
	Auth   Authenticator
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies (413 beyond). Default 10 MiB.
	MaxBodyBytes int64
	Metrics      Metrics
	// Health, when set, is reported by /healthz with the adapters' status.
	Health func() []SourceHealth
}

// SourceHealth is one line of /healthz.
type SourceHealth struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Status adapters.Status `json:"status"`
}
