// Package googletest is a stateful fake of Google Calendar API v3, People
// API v1 and Google's OAuth 2.0 endpoints on an httptest.Server. It speaks
// their REST+JSON wire format (paths, query parameters, etags, sync tokens,
// error bodies), so the google adapter's real generated clients run against
// it unchanged, pointed at CalendarBase, PeopleBase and TokenURL.
//
// State lives in memory: calendars are global (shared between users with a
// per-user access role), contacts belong to a user. Tests seed and mutate it
// with the helper methods, which act as "changes made on the Google side",
// and script faults with Fail/Inject. Seeding helpers panic on misuse
// (unknown calendar, bad JSON): that is a bug in the test, not a condition.
package googletest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"sync"
	"time"
)

// DefaultUser is the account API calls act as unless WithUser says
// otherwise. Its primary calendar has this ID.
const DefaultUser = "user@example.com"

// etagBase makes etags look like Google's ("3181161784712000").
const etagBase = 3181161784712000

type config struct {
	user          string
	now           func() time.Time
	calSyncTTL    time.Duration
	peopleSyncTTL time.Duration
	maxPage       int
	noAuth        bool
	clientID      string
	clientSecret  string
	tokenTTL      time.Duration
	devInterval   int
	log           *slog.Logger
}

// Option configures a Server.
type Option func(*config)

// WithUser sets the default account's email (and primary calendar ID).
func WithUser(email string) Option { return func(c *config) { c.user = email } }

// WithClock sets the clock used for updated times, token expiry and sync
// token age, so tests can move time forward.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithCalendarSyncTokenTTL makes Calendar sync tokens older than d answer 410
// fullSyncRequired. The default is no expiry (Google's is undocumented).
func WithCalendarSyncTokenTTL(d time.Duration) Option {
	return func(c *config) { c.calSyncTTL = d }
}

// WithPeopleSyncTokenTTL sets when People sync tokens expire with
// EXPIRED_SYNC_TOKEN. The default is Google's 7 days.
func WithPeopleSyncTokenTTL(d time.Duration) Option {
	return func(c *config) { c.peopleSyncTTL = d }
}

// WithMaxPageSize caps every list page at n items whatever maxResults or
// pageSize the client asks for, so paging runs with few seeded items.
func WithMaxPageSize(n int) Option { return func(c *config) { c.maxPage = n } }

// WithoutAuth accepts API calls without a bearer token, acting as the
// default user (for clients built with option.WithoutAuthentication). A
// token that is present is still checked.
func WithoutAuth() Option { return func(c *config) { c.noAuth = true } }

// WithClient makes the OAuth endpoints accept only this client. By default
// any client_id and secret are accepted.
func WithClient(id, secret string) Option {
	return func(c *config) { c.clientID, c.clientSecret = id, secret }
}

// WithAccessTokenTTL sets the lifetime of issued access tokens (default 1h,
// announced as expires_in 3599 like Google).
func WithAccessTokenTTL(d time.Duration) Option { return func(c *config) { c.tokenTTL = d } }

// WithDeviceInterval sets the polling interval, in seconds, announced by the
// device authorization endpoint (Google says 5).
func WithDeviceInterval(seconds int) Option { return func(c *config) { c.devInterval = seconds } }

// WithLogger logs each request at Debug.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	cfg config
	ts  *httptest.Server

	mu       sync.Mutex
	seq      int64 // bumped on every write: etags and sync positions
	ids      int64 // generated IDs
	tokenGen int64 // bumped by InvalidateSyncTokens
	cals     map[string]*cal
	users    map[string]*user
	pages    map[string]*page
	oauth    oauthState
	faults   []*Fault
	calls    map[string]int
}

// New starts a Server on a free loopback port. Close it when done.
func New(opts ...Option) *Server {
	cfg := config{
		user:          DefaultUser,
		now:           time.Now,
		peopleSyncTTL: 7 * 24 * time.Hour,
		tokenTTL:      time.Hour,
		devInterval:   5,
		log:           slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:   cfg,
		cals:  map[string]*cal{},
		users: map[string]*user{},
		pages: map[string]*page{},
		calls: map[string]int{},
	}
	s.oauth.init()
	s.mu.Lock()
	s.userLocked(cfg.user)
	s.mu.Unlock()
	mux := http.NewServeMux()
	s.routeCalendar(mux)
	s.routePeople(mux)
	s.routeOAuth(mux)
	s.ts = httptest.NewServer(mux)
	return s
}

// URL is the server's base URL, without a trailing slash.
func (s *Server) URL() string { return s.ts.URL }

// CalendarBase is the option.WithEndpoint value for calendar.NewService.
func (s *Server) CalendarBase() string { return s.ts.URL + "/calendar/v3/" }

// PeopleBase is the option.WithEndpoint value for people.NewService.
func (s *Server) PeopleBase() string { return s.ts.URL + "/" }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

func (s *Server) now() time.Time { return s.cfg.now() }

// nextSeq records a write and returns its position.
func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

func etagOf(seq int64) string { return fmt.Sprintf("%q", strconv.FormatInt(etagBase+seq*1000, 10)) }

// rfc3339ms formats like Google's updated/created fields.
func rfc3339ms(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Calls returns how many requests each operation received, keyed by the
// discovery method ID ("calendar.events.list", "people.people.connections.list")
// or "oauth.token", "oauth.auth", "oauth.device", "oauth.revoke". Requests
// answered with an injected fault or a 401 count too: they reached Google.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// ResetCalls zeroes the counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// Fault scripts a failure or delay for matching operations.
type Fault struct {
	// Op is a path.Match pattern over operation names (see Calls):
	// "calendar.events.list", "calendar.events.*", "*".
	Op string
	// Times is how many matching calls the fault hits; 0 means every call
	// until ClearFaults.
	Times int
	// Status is the HTTP status to answer; 0 answers normally (after Delay).
	Status int
	// Reason is the errors[].reason ("rateLimitExceeded", "backendError");
	// empty picks the usual one for Status. Message defaults from Reason.
	Reason, Message string
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter time.Duration
	// Delay is slept before answering (aborted if the client gives up).
	Delay time.Duration
	// AfterWrite applies the call before answering Status: a write that
	// happened although the client saw an error (a lost response).
	AfterWrite bool
}

// Inject adds a fault. Faults are tried in the order added; the first one
// matching a call (and not used up) applies.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := path.Match(f.Op, ""); err != nil {
		panic(fmt.Sprintf("googletest: bad fault pattern %q: %v", f.Op, err))
	}
	s.faults = append(s.faults, &f)
}

// Fail makes the next times calls matching op answer status with reason
// (empty: the usual one), and Retry-After when retryAfter > 0. Example:
// s.Fail("calendar.events.list", 2, 403, "rateLimitExceeded", 0).
func (s *Server) Fail(op string, times, status int, reason string, retryAfter time.Duration) {
	s.Inject(Fault{Op: op, Times: times, Status: status, Reason: reason, RetryAfter: retryAfter})
}

// Delay slows the next times calls matching op by d.
func (s *Server) Delay(op string, times int, d time.Duration) {
	s.Inject(Fault{Op: op, Times: times, Delay: d})
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for this call, consuming one use. Locked.
func (s *Server) takeFault(op string) *Fault {
	for i, f := range s.faults {
		if ok, _ := path.Match(f.Op, op); !ok {
			continue
		}
		g := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &g
	}
	return nil
}

// apiError is an error answered in Google's JSON error shape.
type apiError struct {
	Code         int
	Message      string
	Reason       string // errors[].reason; empty omits the errors array
	Domain       string
	Status       string // canonical status; empty: from Code
	Location     string
	LocationType string
	Details      []any
	ItemMessage  string // errors[].message when it differs from Message
	header       http.Header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

type errorItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

type errorBody struct {
	Code    int         `json:"code"`
	Message string      `json:"message"`
	Errors  []errorItem `json:"errors,omitempty"`
	Status  string      `json:"status,omitempty"`
	Details []any       `json:"details,omitempty"`
}

var canonical = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
	404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND", 412: "FAILED_PRECONDITION",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

func (e *apiError) write(w http.ResponseWriter) {
	st := e.Status
	if st == "" {
		st = canonical[e.Code]
	}
	b := errorBody{Code: e.Code, Message: e.Message, Status: st, Details: e.Details}
	if e.Reason != "" {
		dom := e.Domain
		if dom == "" {
			dom = "global"
		}
		im := e.ItemMessage
		if im == "" {
			im = e.Message
		}
		b.Errors = []errorItem{{Message: im, Domain: dom, Reason: e.Reason,
			Location: e.Location, LocationType: e.LocationType}}
	}
	for k, v := range e.header {
		w.Header()[k] = v
	}
	writeJSON(w, e.Code, map[string]any{"error": b})
}

// faultError builds the body Google sends for status/reason.
func faultError(f *Fault) *apiError {
	e := &apiError{Code: f.Status, Reason: f.Reason, Message: f.Message}
	if e.Reason == "" {
		switch f.Status {
		case 403, 429:
			e.Reason = "rateLimitExceeded"
		case 500, 503:
			e.Reason = "backendError"
		case 401:
			e.Reason = "authError"
		case 404:
			e.Reason = "notFound"
		default:
			e.Reason = "badRequest"
		}
	}
	switch e.Reason {
	case "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded":
		e.Domain = "usageLimits"
	}
	if e.Message == "" {
		e.Message = map[string]string{
			"rateLimitExceeded":     "Rate Limit Exceeded",
			"userRateLimitExceeded": "User Rate Limit Exceeded",
			"quotaExceeded":         "Calendar usage limits exceeded.",
			"dailyLimitExceeded":    "Daily Limit Exceeded",
			"backendError":          "Backend Error",
			"authError":             "Invalid Credentials",
			"notFound":              "Not Found",
		}[e.Reason]
		if e.Message == "" {
			e.Message = http.StatusText(f.Status)
		}
	}
	if f.Status == 503 && f.Message == "" {
		e.Message = "The service is currently unavailable."
	}
	if f.RetryAfter > 0 {
		e.header = http.Header{"Retry-After": {strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))}}
	}
	return e
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// noContent answers 204 with an empty body (calendar deletes).
type noContent struct{}

// apiHandler runs with s.mu held and returns a value to encode as JSON.
type apiHandler func(r *http.Request, u *user) (any, error)

// api wraps an API operation: count, fault, delay, bearer check, then h
// under the lock.
func (s *Server) api(op string, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.cfg.log.LogAttrs(r.Context(), slog.LevelDebug, "googletest", slog.String("op", op),
			slog.String("method", r.Method), slog.String("url", r.URL.String()))
		s.mu.Lock()
		s.calls[op]++
		f := s.takeFault(op)
		s.mu.Unlock()
		if f != nil && f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f != nil && f.Status != 0 && !f.AfterWrite {
			faultError(f).write(w)
			return
		}
		s.mu.Lock()
		u, aerr := s.authenticate(r)
		var v any
		var err error
		if aerr == nil {
			v, err = h(r, u)
		}
		s.mu.Unlock()
		switch {
		case aerr != nil:
			aerr.write(w)
		case f != nil && f.Status != 0:
			faultError(f).write(w)
		case err != nil:
			ae, ok := err.(*apiError)
			if !ok {
				ae = &apiError{Code: 500, Reason: "backendError", Message: err.Error()}
			}
			ae.write(w)
		default:
			if _, ok := v.(noContent); ok {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, http.StatusOK, v)
		}
	})
}

// readJSON decodes the request body into v, answering Google's 400 on
// malformed input.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return &apiError{Code: 400, Reason: "parseError", Message: "Parse Error"}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &apiError{Code: 400, Reason: "parseError", Message: "Parse Error"}
	}
	return nil
}

// page is a list result snapshotted at its first page and served in
// slices: later pages show the state of the first one, and the sync token
// on the last page names that state, so changes made meanwhile are
// reported by the next incremental sync rather than lost.
type page struct {
	scope string // the list it belongs to, so tokens are not crossed
	items []any
	off   int
	sync  string
}

// paginate builds or resumes a snapshot and returns this page's items, the
// next page token, and the sync token on the last page only. Locked.
func (s *Server) paginate(scope, token string, size int, build func() ([]any, string, error)) (items []any, next, sync string, err error) {
	if s.cfg.maxPage > 0 && size > s.cfg.maxPage {
		size = s.cfg.maxPage
	}
	var p *page
	if token != "" {
		p = s.pages[token]
		if p == nil || p.scope != scope {
			return nil, "", "", &apiError{Code: 400, Reason: "invalid", Message: "Invalid page token value.",
				Location: "pageToken", LocationType: "parameter"}
		}
		delete(s.pages, token)
	} else {
		all, tok, err := build()
		if err != nil {
			return nil, "", "", err
		}
		p = &page{scope: scope, items: all, sync: tok}
	}
	end := min(p.off+size, len(p.items))
	items = p.items[p.off:end]
	if end < len(p.items) {
		s.ids++
		next = "pt" + strconv.FormatInt(s.ids, 36) + "x" + strconv.FormatInt(s.seq, 36)
		s.pages[next] = &page{scope: scope, items: p.items, off: end, sync: p.sync}
		return items, next, "", nil
	}
	return items, "", p.sync, nil
}

// queryInt parses an integer parameter with a default and an upper clamp.
func queryInt(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &apiError{Code: 400, Reason: "invalid", Message: fmt.Sprintf("Invalid value for: %s", name),
			Location: name, LocationType: "parameter"}
	}
	if n == 0 || n > max {
		n = max
	}
	return n, nil
}

// bug reports a misuse of a seeding helper.
func bug(format string, args ...any) { panic(fmt.Sprintf("googletest: "+format, args...)) }
