package googletest

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/api/calendar/v3"
)

func TestFaults(t *testing.T) {
	st, en := timed("2026-03-03T10:00:00Z", 30)
	tests := []struct {
		name       string
		fault      Fault
		call       func(*calendar.Service) error
		code       int
		reason     string
		retryAfter string
	}{
		{"rate limit", Fault{Op: "calendar.events.list", Times: 2, Status: 403, Reason: "rateLimitExceeded"},
			func(svc *calendar.Service) error { _, err := svc.Events.List("primary").Do(); return err }, 403, "rateLimitExceeded", ""},
		{"glob, 429 default reason", Fault{Op: "calendar.*", Times: 2, Status: 429},
			func(svc *calendar.Service) error { _, err := svc.CalendarList.List().Do(); return err }, 429, "rateLimitExceeded", ""},
		{"503 with Retry-After", Fault{Op: "calendar.events.get", Times: 2, Status: 503, RetryAfter: 1500 * time.Millisecond},
			func(svc *calendar.Service) error { _, err := svc.Events.Get("primary", "nope0").Do(); return err }, 503, "backendError", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			svc := calSvc(t, s)
			s.Inject(tt.fault)
			for range tt.fault.Times {
				ge := gerr(t, tt.call(svc), tt.code, tt.reason)
				if got := ge.Header.Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
				}
			}
			if err := tt.call(svc); err != nil && tt.code != 503 {
				t.Errorf("after the fault: %v", err)
			}
			if n := s.Calls(); n["calendar.events.list"]+n["calendar.calendarList.list"]+n["calendar.events.get"] != tt.fault.Times+1 {
				t.Errorf("calls = %v", n)
			}
		})
	}

	t.Run("lost response", func(t *testing.T) {
		s := newServer(t)
		svc := calSvc(t, s)
		s.Inject(Fault{Op: "calendar.events.insert", Times: 1, Status: 500, AfterWrite: true})
		_, err := svc.Events.Insert("primary", &calendar.Event{Summary: "x", Start: st, End: en}).Do()
		gerr(t, err, 500, "backendError")
		if evs := s.Events("primary"); len(evs) != 1 || evs[0].Summary != "x" {
			t.Errorf("stored = %v", evs)
		}
	})

	t.Run("delay", func(t *testing.T) {
		s := newServer(t)
		svc := calSvc(t, s)
		s.Delay("calendar.events.list", 1, time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := svc.Events.List("primary").Context(ctx).Do()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
		if _, err := svc.Events.List("primary").Do(); err != nil {
			t.Error(err)
		}
		s.ResetCalls()
		if len(s.Calls()) != 0 {
			t.Error("ResetCalls left counts")
		}
	})
}
