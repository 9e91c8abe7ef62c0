package adapters

import (
	"errors"
	"fmt"
	"time"
)

// The closed set of errors adapters report, each wrapped with context by
// the adapter (fmt.Errorf("ics: fetch %s: %w", url, ErrUnavailable)). The
// gateway maps each to one HTTP status in gateway/errors.go.
var (
	// ErrNotFound: the collection or object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPrecondition: a Cond did not hold (stale version, or the object
	// exists although IfAbsent was set).
	ErrPrecondition = errors.New("precondition failed")
	// ErrReadOnly: the collection or adapter does not accept writes.
	ErrReadOnly = errors.New("read-only")
	// ErrUnsupported: valid data the upstream cannot hold, or an operation
	// it does not offer.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalid: malformed data.
	ErrInvalid = errors.New("invalid data")
	// ErrUnauthorized: the upstream rejected the credentials davgate holds.
	ErrUnauthorized = errors.New("upstream rejected credentials")
	// ErrUnavailable: the upstream is down, throttling or timed out.
	ErrUnavailable = errors.New("upstream unavailable")
	// ErrInvalidToken: a sync token is unknown or expired.
	ErrInvalidToken = errors.New("invalid sync token")
)

// RetryAfterError is an ErrUnavailable that says when to retry.
type RetryAfterError struct {
	After time.Duration
	Err   error // the cause, for logs
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("upstream unavailable, retry after %s: %v", e.After, e.Err)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *RetryAfterError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }
