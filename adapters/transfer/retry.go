package transfer

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/davgate/davgate/adapters"
)

// retrier retries calls that fail with ErrUnavailable (5xx, 429, timeouts,
// refused connections), honouring RetryAfterError, with exponential
// backoff and jitter. Other errors are final: retrying a 403 or a 412
// cannot succeed.
type retrier struct {
	retries int
	base    time.Duration
	max     time.Duration
}

func (r retrier) do(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = f()
		if err == nil || !errors.Is(err, adapters.ErrUnavailable) || attempt >= r.retries {
			return err
		}
		wait := r.base << attempt
		if wait > r.max || wait <= 0 {
			wait = r.max
		}
		wait = wait/2 + rand.N(wait/2+1) // jitter: concurrent workers spread out
		var ra *adapters.RetryAfterError
		if errors.As(err, &ra) && ra.After > 0 {
			wait = min(ra.After, 5*r.max)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}
