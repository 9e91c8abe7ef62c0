package google

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
	"google.golang.org/api/googleapi"

	"github.com/davgate/davgate/adapters"
)

// callKind says how a call may be retried and how its errors read.
type callKind int

const (
	// read calls are idempotent: retried on throttling and 5xx.
	read callKind = iota
	// write calls are retried only when Google refused them before doing
	// anything (throttling); a 5xx may hide a stored write, so it is
	// reported, never retried and never taken for success.
	write
	// syncCall is a read whose 410 means "sync token expired".
	syncCall
)

// call runs fn under the rate limiter, retrying as shouldRetry says, and
// maps the final error once through errorFromResponse.
func (a *Adapter) call(ctx context.Context, lim *rate.Limiter, kind callKind, op string, fn func(context.Context) error) error {
	if err := a.authorised(); err != nil {
		return err
	}
	deadline := a.env.Now().Add(a.opts.MaxRetryWait)
	for attempt := 0; ; attempt++ {
		if err := lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("google: %s: rate limiter: %w", op, adapters.ErrUnavailable)
		}
		err := fn(ctx)
		if err == nil {
			a.record(nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, retry := a.shouldRetry(err, kind, attempt)
		if retry && attempt < a.opts.MaxRetries && a.env.Now().Add(wait).Before(deadline) {
			a.log.Debug("retrying Google call", "op", op, "attempt", attempt+1, "wait", wait, "err", err)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			continue
		}
		mapped := a.errorFromResponse(op, err, kind, wait)
		a.record(mapped)
		return mapped
	}
}

// shouldRetry is the one retry policy: exponential backoff with jitter on
// 403 rateLimitExceeded/userRateLimitExceeded, 429 and (reads only) 5xx
// and network errors, honouring Retry-After. It returns the wait either
// way, so an exhausted retry can report it as RetryAfterError.After.
func (a *Adapter) shouldRetry(err error, kind callKind, attempt int) (time.Duration, bool) {
	backoff := a.opts.RetryBaseDelay << min(attempt, 10)
	backoff += time.Duration(rand.Int64N(int64(a.opts.RetryBaseDelay) + 1))
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		if ra := retryAfter(gerr.Header); ra > 0 {
			backoff = ra
		}
		switch {
		case gerr.Code == http.StatusTooManyRequests, gerr.Code == http.StatusForbidden && rateLimited(gerr):
			return backoff, true
		case gerr.Code >= 500:
			return backoff, kind != write
		}
		return backoff, false
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		return backoff, false
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, net.ErrClosed) {
		return backoff, kind != write
	}
	return backoff, false
}

func rateLimited(e *googleapi.Error) bool {
	for _, it := range e.Errors {
		switch it.Reason {
		case "rateLimitExceeded", "userRateLimitExceeded":
			return true
		}
	}
	return strings.Contains(e.Body, "rateLimitExceeded") || strings.Contains(e.Body, "RATE_LIMIT_EXCEEDED")
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// errorFromResponse is the one classification of Google failures into
// the adapters sentinels.
func (a *Adapter) errorFromResponse(op string, err error, kind callKind, wait time.Duration) error {
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		switch rerr.ErrorCode {
		case "invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope":
			a.markNeedsAuth(err)
			return fmt.Errorf("google: %s: token refresh: %s: %w", op, rerr.ErrorCode, adapters.ErrUnauthorized)
		}
		return &adapters.RetryAfterError{After: wait, Err: fmt.Errorf("google: %s: token refresh: %w", op, err)}
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		if errors.Is(err, adapters.ErrUnauthorized) {
			return err // from the token source
		}
		return fmt.Errorf("google: %s: %v: %w", op, err, adapters.ErrUnavailable)
	}
	body := gerr.Body + " " + gerr.Message
	sentinel := adapters.ErrInvalid
	switch c := gerr.Code; {
	case strings.Contains(body, "EXPIRED_SYNC_TOKEN"):
		sentinel = adapters.ErrInvalidToken
	case c == http.StatusGone && kind == syncCall:
		sentinel = adapters.ErrInvalidToken
	case c == http.StatusNotFound, c == http.StatusGone:
		sentinel = adapters.ErrNotFound
	case c == http.StatusPreconditionFailed, c == http.StatusConflict,
		c == http.StatusBadRequest && (strings.Contains(body, "FAILED_PRECONDITION") || strings.Contains(body, "failedPrecondition")):
		sentinel = adapters.ErrPrecondition
	case c == http.StatusUnauthorized:
		a.markNeedsAuth(err)
		sentinel = adapters.ErrUnauthorized
	case c == http.StatusTooManyRequests, c >= 500, c == http.StatusForbidden && rateLimited(gerr):
		return &adapters.RetryAfterError{After: max(wait, time.Second), Err: fmt.Errorf("google: %s: %w", op, err)}
	case c == http.StatusForbidden && (strings.Contains(body, "quotaExceeded") || strings.Contains(body, "dailyLimitExceeded")):
		sentinel = adapters.ErrUnavailable
	case c == http.StatusForbidden:
		sentinel = adapters.ErrReadOnly
	case c == http.StatusBadRequest && kind == syncCall && strings.Contains(body, "sync token"):
		sentinel = adapters.ErrInvalidToken
	}
	return fmt.Errorf("google: %s: %d %s: %w", op, gerr.Code, gerr.Message, sentinel)
}

func fmtIs(err, target error) bool { return errors.Is(err, target) }
