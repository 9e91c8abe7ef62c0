package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/davgate/davgate/adapters"
)

// davError is an HTTP error the gateway answers with, optionally carrying a
// DAV precondition element (RFC 4918 §16) in a DAV:error body.
type davError struct {
	status  int
	precond string // inner XML of <d:error>, e.g. "<c:valid-calendar-data/>"
	msg     string // safe to send to the client
	cause   error  // full chain, for logs only
}

func (e *davError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %v", e.status, e.msg, e.cause)
	}
	return fmt.Sprintf("%d %s", e.status, e.msg)
}

func (e *davError) Unwrap() error { return e.cause }

func errStatus(status int, msg string) *davError { return &davError{status: status, msg: msg} }

func errPrecond(status int, precond, msg string) *davError {
	return &davError{status: status, precond: precond, msg: msg}
}

// needPrivileges is the RFC 3744 §7.1.1 precondition for a refused write.
func needPrivileges(href, priv string) *davError {
	return errPrecond(http.StatusForbidden,
		"<d:need-privileges><d:resource><d:href>"+xmlEscape(href)+"</d:href><d:privilege><d:"+priv+"/></d:privilege></d:resource></d:need-privileges>",
		"this collection is read-only")
}

// fromAdapter is the single mapping from adapter errors to HTTP status
// (the table in STYLE.md).
func fromAdapter(err error) *davError {
	var de *davError
	if errors.As(err, &de) {
		return de
	}
	e := &davError{cause: err}
	switch {
	case errors.Is(err, adapters.ErrNotFound):
		e.status, e.msg = http.StatusNotFound, "not found"
	case errors.Is(err, adapters.ErrPrecondition):
		e.status, e.msg = http.StatusPreconditionFailed, "the resource changed: fetch it again"
	case errors.Is(err, adapters.ErrReadOnly):
		e.status, e.msg = http.StatusForbidden, "this collection is read-only"
	case errors.Is(err, adapters.ErrUnsupported):
		e.status, e.msg = http.StatusForbidden, "the upstream service cannot store this"
	case errors.Is(err, adapters.ErrInvalid):
		e.status, e.msg = http.StatusBadRequest, "invalid data"
	case errors.Is(err, adapters.ErrInvalidToken):
		e.status, e.precond, e.msg = http.StatusForbidden, "<d:valid-sync-token/>", "unknown sync token: synchronise again from scratch"
	case errors.Is(err, adapters.ErrUnauthorized):
		// davgate holds the upstream credentials; the client's are fine.
		e.status, e.msg = http.StatusBadGateway, "the upstream service rejected davgate's credentials"
	case errors.Is(err, adapters.ErrUnavailable):
		e.status, e.msg = http.StatusServiceUnavailable, "the upstream service is unavailable: try again later"
	case errors.Is(err, context.DeadlineExceeded):
		e.status, e.msg = http.StatusGatewayTimeout, "the upstream service timed out"
	case errors.Is(err, context.Canceled):
		e.status, e.msg = 499, "client closed request"
	default:
		e.status, e.msg = http.StatusInternalServerError, "internal error"
	}
	return e
}

func retryAfter(err error) time.Duration {
	var ra *adapters.RetryAfterError
	if errors.As(err, &ra) {
		return ra.After
	}
	if errors.Is(err, adapters.ErrUnavailable) {
		return 30 * time.Second
	}
	return 0
}

// fail answers err and logs it once: Error for 5xx, Debug otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := fromAdapter(err)
	sc := scopeOf(r.Context())
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", e.status, "user", sc.user, "request_id", sc.id, "err", err}
	switch {
	case e.status >= 500 && e.status != 499:
		s.log.Error("request failed", attrs...)
	default:
		s.log.Debug("request refused", attrs...)
	}
	if e.status == 499 {
		return
	}
	if d := retryAfter(err); d > 0 && e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(d.Round(time.Second)/time.Second)))
	}
	msg := e.msg
	if e.status >= 500 {
		msg += " (request " + sc.id + ")"
	}
	if e.precond != "" {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(e.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<d:error %s>%s<d:responsedescription>%s</d:responsedescription></d:error>`, nsDecl, e.precond, xmlEscape(msg))
		return
	}
	http.Error(w, msg, e.status)
}

// logValue keeps slog output of a davError short.
func (e *davError) LogValue() slog.Value { return slog.StringValue(e.Error()) }
