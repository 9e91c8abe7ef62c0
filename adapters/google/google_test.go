package google

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	calendar "google.golang.org/api/calendar/v3"
	people "google.golang.org/api/people/v1"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
	"github.com/davgate/davgate/adapters/google/api"
	"github.com/davgate/davgate/adapters/google/googletest"
)

// harness runs the adapter against googletest. Seeds go through the
// fake's Google-side helpers, translated with the adapter's own
// CalendarToSeries/CardToPerson (that is what a Google client writing the
// same data through the API would store).
type harness struct {
	t   *testing.T
	srv *googletest.Server
	dir string

	mu       sync.Mutex
	a        *Adapter
	calID    string
	contacts map[string]string // object ID → resource name
}

func newHarness(t *testing.T) adaptertest.Harness { return newTestHarness(t) }

func newTestHarness(t *testing.T) *harness {
	srv := googletest.New()
	h := &harness{t: t, srv: srv, dir: t.TempDir(), contacts: map[string]string{}}
	if err := writeToken(filepath.Join(h.dir, "token.json"), srv.Token()); err != nil {
		t.Fatal(err)
	}
	// A calendar shared read-only by someone else, for the ReadOnly test.
	other := srv.User("other@example.com")
	shared := other.AddCalendar(&calendar.CalendarListEntry{Summary: "Team holidays", TimeZone: "Europe/Berlin"})
	srv.AddCalendar(&calendar.CalendarListEntry{Id: shared, AccessRole: "reader"})
	return h
}

func (h *harness) options() Options {
	conf := h.srv.OAuthConfig("")
	return Options{
		ClientID: conf.ClientID, ClientSecret: conf.ClientSecret,
		CalendarEndpoint: h.srv.CalendarBase(), PeopleEndpoint: h.srv.PeopleBase(),
		TokenURL: h.srv.TokenURL(), AuthURL: h.srv.AuthURL(), DeviceAuthURL: h.srv.DeviceAuthURL(),
		RetryBaseDelay: time.Millisecond, MaxRetries: 4, Rate: 1000,
	}
}

func (h *harness) Adapter(ctx context.Context) (adapters.Reader, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.a != nil {
		return h.a, nil
	}
	a, err := NewWith(h.options(), adapters.Env{StateDir: h.dir})
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := a.Provision(ctx); err != nil {
		return nil, err
	}
	h.a = a
	return a, nil
}

func (h *harness) Seed(_ context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if kind == adapters.KindAddressBook {
		for _, o := range objs {
			p, err := CardToPerson(o.Card, o.ID, Groups{})
			if err != nil {
				return "", err
			}
			if rn, ok := h.contacts[o.ID]; ok {
				h.srv.UpdateContact(rn, func(q *people.Person) { *q = *p })
				continue
			}
			h.contacts[o.ID] = h.srv.AddContact(p)
		}
		return ContactsCollection, nil
	}
	if h.calID == "" {
		h.calID = h.srv.AddCalendar(&calendar.CalendarListEntry{Summary: "Seeded", TimeZone: "UTC"})
	}
	for _, o := range objs {
		s, err := CalendarToSeries(o.Data, o.ID, CalendarInfo{TimeZone: "UTC"})
		if errors.Is(err, adapters.ErrUnsupported) {
			continue // Google cannot hold it (VTODO): the upstream refuses
		}
		if err != nil {
			return "", err
		}
		h.srv.PutEvent(h.calID, s.Master)
		for _, ov := range s.Overrides {
			ov.Id = s.Master.Id + "_" + instanceSuffix(ov.OriginalStartTime)
			h.srv.PutEvent(h.calID, ov)
		}
	}
	return h.calID, nil
}

func instanceSuffix(ost *api.EventDateTime) string {
	if ost.Date != "" {
		return strings.ReplaceAll(ost.Date, "-", "")
	}
	t, _ := time.Parse(time.RFC3339, ost.DateTime)
	return t.UTC().Format("20060102T150405Z")
}

func (h *harness) Close() { h.srv.Close() }

func TestConformanceCalendar(t *testing.T) {
	adaptertest.RunCalendar(t, newHarness)
}

func TestConformanceContacts(t *testing.T) {
	adaptertest.RunContacts(t, newHarness)
}

func (h *harness) adapter(t *testing.T) *Adapter {
	t.Helper()
	a, err := h.Adapter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return a.(*Adapter)
}

func simpleCal(uid, summary string) *ical.Calendar {
	text := strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//EN
BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:20240601T100000Z
DTEND:20240601T110000Z
SUMMARY:%s
END:VEVENT
END:VCALENDAR
`, uid, summary), "\n", "\r\n")
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		panic(err)
	}
	return cal
}

func seedN(t *testing.T, h *harness, n int) string {
	t.Helper()
	objs := make([]adapters.Object, n)
	for i := range objs {
		id := fmt.Sprintf("ev-%05d@example.com", i)
		objs[i] = adapters.Object{ID: id, Data: simpleCal(id, "n")}
	}
	coll, err := h.Seed(t.Context(), adapters.KindCalendar, objs...)
	if err != nil {
		t.Fatal(err)
	}
	return coll
}

// TestCallCounts pins the upstream cost: an initial Changes of N events
// is ⌈N/2500⌉ list calls, a Changes without changes one call, and no
// per-event GET ever.
func TestCallCounts(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	const n = 2600
	coll := seedN(t, h, n)
	a := h.adapter(t)
	ctx := t.Context()
	if _, err := a.Collections(ctx); err != nil {
		t.Fatal(err)
	}
	h.srv.ResetCalls()
	all, err := a.Changes(ctx, coll, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Updated) != n {
		t.Fatalf("Changes(\"\") = %d objects, want %d", len(all.Updated), n)
	}
	calls := h.srv.Calls()
	if got, want := calls["calendar.events.list"], (n+2499)/2500; got < want || got > want+1 {
		t.Errorf("initial Changes made %d list calls, want %d (+1)", got, want)
	}
	h.srv.ResetCalls()
	same, err := a.Changes(ctx, coll, all.Token)
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Updated)+len(same.Deleted) != 0 || same.Token != all.Token {
		t.Errorf("no-change Changes = %d/%d, token %q (was %q)", len(same.Updated), len(same.Deleted), same.Token, all.Token)
	}
	if got := h.srv.Calls(); got["calendar.events.list"] != 1 || len(got) != 1 {
		t.Errorf("no-change Changes calls = %v, want one events.list", got)
	}
	h.srv.ResetCalls()
	for _, o := range all.Updated[:10] {
		if _, err := a.Object(ctx, coll, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.srv.Calls(); got["calendar.events.get"] != 0 {
		t.Errorf("Object made per-event GETs: %v", got)
	}
}

// TestRateLimitRecovery: throttled calls are retried and succeed.
func TestRateLimitRecovery(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 3)
	a := h.adapter(t)
	ctx := t.Context()
	h.srv.Fail("calendar.events.list", 2, 403, "rateLimitExceeded", 0)
	h.srv.Fail("calendar.calendarList.list", 1, 429, "", time.Millisecond)
	objs, err := a.Objects(ctx, coll, adapters.Query{})
	if err != nil || len(objs) != 3 {
		t.Fatalf("Objects after throttling = %d, %v", len(objs), err)
	}
	if st := a.Status(); !st.Healthy {
		t.Errorf("Status after recovery = %+v", st)
	}
	// Exhausted retries surface as RetryAfterError.
	h.srv.Fail("calendar.events.list", 100, 503, "backendError", 0)
	_, err = a.Objects(ctx, coll, adapters.Query{})
	var ra *adapters.RetryAfterError
	if !errorsAs(err, &ra) || !errorsIs(err, adapters.ErrUnavailable) {
		t.Errorf("Objects with 503s = %v, want RetryAfterError", err)
	}
	if st := a.Status(); st.Healthy {
		t.Errorf("Status healthy after exhausted retries")
	}
}

// TestWriteFailureIsNotSuccess: a 5xx on a write is an error, not
// retried (it may have been applied), and never reported as stored.
func TestWriteFailureIsNotSuccess(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 1)
	a := h.adapter(t)
	ctx := t.Context()
	if _, err := a.Objects(ctx, coll, adapters.Query{}); err != nil {
		t.Fatal(err)
	}
	h.srv.ResetCalls()
	h.srv.Fail("calendar.events.import", 1, 500, "backendError", 0)
	_, err := a.Put(ctx, coll, adapters.Object{ID: "new@example.com", Data: simpleCal("new@example.com", "x")}, adapters.Cond{IfAbsent: true})
	if !errorsIs(err, adapters.ErrUnavailable) {
		t.Fatalf("Put during 500 = %v, want ErrUnavailable", err)
	}
	if got := h.srv.Calls()["calendar.events.import"]; got != 1 {
		t.Errorf("import called %d times, want 1 (no retry of a write on 5xx)", got)
	}
	if _, err := a.Object(ctx, coll, "new@example.com"); !errorsIs(err, adapters.ErrNotFound) {
		t.Errorf("Object after failed Put = %v, want ErrNotFound", err)
	}
	// Throttled writes are retried: Google refused them untouched.
	h.srv.Fail("calendar.events.import", 1, 429, "", 0)
	if _, err := a.Put(ctx, coll, adapters.Object{ID: "new@example.com", Data: simpleCal("new@example.com", "x")}, adapters.Cond{}); err != nil {
		t.Fatalf("Put after 429: %v", err)
	}
}

// TestExpiredSyncToken: when Google refuses the mirror's sync token
// (410), the adapter relists and still answers the caller's token.
func TestExpiredSyncToken(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 3)
	a := h.adapter(t)
	ctx := t.Context()
	all, err := a.Changes(ctx, coll, "")
	if err != nil {
		t.Fatal(err)
	}
	h.srv.PutEvent(coll, &calendar.Event{Id: "googleside1", Summary: "made on Google",
		Start: &calendar.EventDateTime{DateTime: "2024-07-01T10:00:00Z"}, End: &calendar.EventDateTime{DateTime: "2024-07-01T11:00:00Z"}})
	h.srv.InvalidateSyncTokens()
	ch, err := a.Changes(ctx, coll, all.Token)
	if err != nil {
		t.Fatalf("Changes after expiry: %v", err)
	}
	if len(ch.Updated) != 1 || ch.Updated[0].ID != "googleside1" {
		t.Errorf("Changes after expiry = %+v", ch.Updated)
	}
	if _, err := a.Changes(ctx, coll, "other-process-7"); !errorsIs(err, adapters.ErrInvalidToken) {
		t.Errorf("Changes(foreign token) = %v, want ErrInvalidToken", err)
	}
}

// TestInvalidGrant: a revoked refresh token makes Status unhealthy with
// the re-authorisation command, and reads fail with ErrUnauthorized.
func TestInvalidGrant(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 1)
	a := h.adapter(t)
	ctx := t.Context()
	if _, err := a.Objects(ctx, coll, adapters.Query{}); err != nil {
		t.Fatal(err)
	}
	h.srv.RevokeRefreshTokens()
	h.srv.ExpireAccessTokens()
	a.ts.mu.Lock()
	a.ts.tok.Expiry = time.Now().Add(-time.Hour)
	a.ts.mu.Unlock()
	_, err := a.Objects(ctx, coll, adapters.Query{})
	if !errorsIs(err, adapters.ErrUnauthorized) {
		t.Fatalf("Objects after revocation = %v, want ErrUnauthorized", err)
	}
	st := a.Status()
	if st.Healthy || !strings.Contains(st.Detail, "davgate auth google") {
		t.Errorf("Status = %+v, want unhealthy with the auth command", st)
	}
	h.srv.ResetCalls()
	if _, err := a.Objects(ctx, coll, adapters.Query{}); !errorsIs(err, adapters.ErrUnauthorized) {
		t.Errorf("second read = %v", err)
	}
	if n := len(h.srv.Calls()); n != 0 {
		t.Errorf("calls while needing re-auth: %v", h.srv.Calls())
	}
}

// TestTokenRefreshPersists: a refreshed token is written to token_file.
func TestTokenRefreshPersists(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 1)
	a := h.adapter(t)
	a.ts.mu.Lock()
	old := a.ts.tok.AccessToken
	a.ts.tok.Expiry = time.Now().Add(-time.Hour)
	a.ts.mu.Unlock()
	if _, err := a.Objects(t.Context(), coll, adapters.Query{}); err != nil {
		t.Fatal(err)
	}
	tok, err := readToken(filepath.Join(h.dir, "token.json"))
	if err != nil || tok.AccessToken == old {
		t.Errorf("token file after refresh: %v, access token changed: %v", err, tok != nil && tok.AccessToken != old)
	}
	if fi, err := osStat(filepath.Join(h.dir, "token.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, %v", fi.Mode().Perm(), err)
	}
}
