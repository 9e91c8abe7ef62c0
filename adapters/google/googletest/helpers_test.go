package googletest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/people/v1"
)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	return s
}

// calSvc is the real generated client, authenticated as the default user.
func calSvc(t *testing.T, s *Server) *calendar.Service {
	t.Helper()
	ctx := context.Background()
	svc, err := calendar.NewService(ctx, option.WithEndpoint(s.CalendarBase()), option.WithHTTPClient(s.HTTPClient(ctx)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func peopleSvc(t *testing.T, s *Server) *people.Service {
	t.Helper()
	ctx := context.Background()
	svc, err := people.NewService(ctx, option.WithEndpoint(s.PeopleBase()), option.WithHTTPClient(s.HTTPClient(ctx)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// gerr asserts err is a *googleapi.Error with code and (if set) reason.
func gerr(t *testing.T, err error, code int, reason string) *googleapi.Error {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error = %v, want *googleapi.Error %d %s", err, code, reason)
	}
	if ge.Code != code {
		t.Fatalf("code = %d, want %d (%s)", ge.Code, code, ge.Body)
	}
	if reason != "" && (len(ge.Errors) == 0 || ge.Errors[0].Reason != reason) {
		t.Fatalf("reasons = %+v, want %s (%s)", ge.Errors, reason, ge.Body)
	}
	return ge
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func timed(start string, minutes int) (*calendar.EventDateTime, *calendar.EventDateTime) {
	st, err := time.Parse(time.RFC3339, start)
	if err != nil {
		panic(err)
	}
	return &calendar.EventDateTime{DateTime: start}, &calendar.EventDateTime{DateTime: st.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339)}
}

func ids(evs []*calendar.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Id
	}
	return out
}
