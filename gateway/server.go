package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/davgate/davgate/adapters"
)

// Server serves the DAV surface, /healthz and /metrics.
type Server struct {
	opts    Options
	log     *slog.Logger
	users   map[string]*userEntry
	handler http.Handler
	prep    *preparedCache
	idBase  string
	idSeq   atomic.Uint64
}

type userEntry struct {
	name    string
	sources []*srcEntry
	byName  map[string]*srcEntry
	// primary is the first source that can create collections: a bare
	// collection segment a client invents (MKCALENDAR /…/<uuid>/) lands there.
	primary *srcEntry

	aliasMu sync.RWMutex
	aliases map[aliasKey]collAlias
}

type srcEntry struct {
	Source
	caps adapters.Capabilities
}

var sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// New builds a Server.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s := &Server{opts: opts, log: opts.Logger, users: map[string]*userEntry{}, idBase: hex.EncodeToString(b[:]), prep: newPreparedCache()}
	for _, u := range opts.Users {
		if u.Name == "" || strings.ContainsAny(u.Name, "/") {
			return nil, fmt.Errorf("gateway: invalid user name %q", u.Name)
		}
		if _, dup := s.users[u.Name]; dup {
			return nil, fmt.Errorf("gateway: user %q declared twice", u.Name)
		}
		ue := &userEntry{name: u.Name, byName: map[string]*srcEntry{}}
		for _, src := range u.Sources {
			if !sourceNameRE.MatchString(src.Name) {
				return nil, fmt.Errorf("gateway: user %q: source name %q must match %s", u.Name, src.Name, sourceNameRE)
			}
			if _, dup := ue.byName[src.Name]; dup {
				return nil, fmt.Errorf("gateway: user %q: source %q declared twice", u.Name, src.Name)
			}
			if src.Adapter == nil {
				return nil, fmt.Errorf("gateway: user %q: source %q has no adapter", u.Name, src.Name)
			}
			se := &srcEntry{Source: src, caps: adapters.CapabilitiesOf(src.Adapter)}
			ue.sources = append(ue.sources, se)
			ue.byName[src.Name] = se
			if ue.primary == nil && se.caps.CollectionWrite {
				ue.primary = se
			}
		}
		s.users[u.Name] = ue
	}
	s.handler = s.chain()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// chain lists the middlewares in request order; they are applied in
// reverse so the list reads top to bottom.
func (s *Server) chain() http.Handler {
	mws := []func(http.Handler) http.Handler{
		s.recoverPanics,
		s.scope,
		s.accessLog,
		s.authenticate,
		s.limitBody,
	}
	h := http.Handler(http.HandlerFunc(s.route))
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

type scopeKey struct{}

type reqScope struct {
	id   string
	user string
}

func scopeOf(ctx context.Context) *reqScope {
	if sc, ok := ctx.Value(scopeKey{}).(*reqScope); ok {
		return sc
	}
	return &reqScope{}
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) scope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := &reqScope{id: s.idBase + "-" + strconv.FormatUint(s.idSeq.Add(1), 36)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, sc)))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += int64(n)
	return n, err
}

func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		if s.opts.Metrics != nil {
			s.opts.Metrics.ObserveRequest(r.Method, sw.status, d.Seconds())
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			sc := scopeOf(r.Context())
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"bytes", sw.bytes, "duration", d, "user", sc.user, "request_id", sc.id)
		}
	})
}

// open paths need no credentials: they reveal nothing about users.
func openPath(r *http.Request) bool {
	p := r.URL.Path
	return p == "/healthz" || p == "/metrics" || strings.HasPrefix(p, "/.well-known/") || r.Method == http.MethodOptions
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if ok && s.opts.Auth != nil && s.users[user] != nil && s.opts.Auth.Authenticate(r.Context(), user, pass) {
			scopeOf(r.Context()).user = user
			next.ServeHTTP(w, r)
			return
		}
		if openPath(r) {
			next.ServeHTTP(w, r)
			return
		}
		if ok {
			s.log.Info("authentication failed", "user", user, "remote", r.RemoteAddr, "path", r.URL.Path)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="davgate", charset="UTF-8"`)
		http.Error(w, "authentication required: use your davgate user name and password", http.StatusUnauthorized)
	})
}

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			s.fail(w, r, errStatus(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.opts.MaxBodyBytes)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		s.serveHealth(w, r)
		return
	case "/metrics":
		if s.opts.Metrics == nil {
			http.NotFound(w, r)
			return
		}
		s.opts.Metrics.Handler().ServeHTTP(w, r)
		return
	case "/.well-known/caldav", "/.well-known/carddav", "/.well-known/caldav/", "/.well-known/carddav/":
		// RFC 6764 §5: redirect to the context path; the principal is found
		// there with current-user-principal once the client authenticates.
		http.Redirect(w, r, davRoot, http.StatusMovedPermanently)
		return
	}
	t := parsePath(r.URL.EscapedPath())
	if t.level == lvNone {
		s.fail(w, r, errStatus(http.StatusNotFound, "no such resource: davgate serves /dav/"))
		return
	}
	sc := scopeOf(r.Context())
	if t.level > lvRoot && t.user != sc.user && r.Method != http.MethodOptions {
		// Another user's tree does not exist for this user.
		s.fail(w, r, errStatus(http.StatusNotFound, "not found"))
		return
	}
	var err error
	switch r.Method {
	case http.MethodOptions:
		s.serveOptions(w, r, t)
		return
	case "PROPFIND":
		err = s.propfind(w, r, t)
	case "REPORT":
		err = s.report(w, r, t)
	case http.MethodGet, http.MethodHead:
		err = s.get(w, r, t)
	case http.MethodPut:
		err = s.put(w, r, t)
	case http.MethodDelete:
		err = s.delete(w, r, t)
	case "MKCALENDAR", "MKCOL":
		err = s.mkcol(w, r, t)
	case "PROPPATCH":
		err = s.proppatch(w, r, t)
	default:
		w.Header().Set("Allow", strings.Join(s.allow(r.Context(), t), ", "))
		err = errStatus(http.StatusMethodNotAllowed, r.Method+" is not supported here")
	}
	if err != nil {
		s.fail(w, r, err)
	}
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Status  string         `json:"status"`
		Sources []SourceHealth `json:"sources,omitempty"`
	}{Status: "ok"}
	if s.opts.Health != nil {
		out.Sources = s.opts.Health()
		for _, sh := range out.Sources {
			if !sh.Status.Healthy {
				out.Status = "degraded"
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}
