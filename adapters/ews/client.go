package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/go-ntlmssp"
	"golang.org/x/oauth2"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

// callKind says how a call may be retried.
type callKind int

const (
	// read calls are idempotent: retried on throttling, 5xx and network
	// errors.
	read callKind = iota
	// write calls are retried only when the server refused them before
	// doing anything (throttling: ErrorServerBusy, HTTP 503); other
	// failures may hide a stored write and are reported, never retried.
	write
	// syncCall is a read whose ErrorInvalidSyncStateData means "token
	// expired".
	syncCall
)

// ClientConfig configures a Client.
type ClientConfig struct {
	URL string
	// HTTP is the base client; its Transport is wrapped for NTLM.
	HTTP *http.Client
	// Auth is "basic", "ntlm" or "oauth2".
	Auth               string
	Username, Password string
	// TokenSource supplies bearer tokens for Auth "oauth2".
	TokenSource oauth2.TokenSource
	// ServerVersion is sent as RequestServerVersion (default
	// Exchange2013_SP1).
	ServerVersion string
	// Impersonate, when set, is the SMTP address every call acts as
	// (ExchangeImpersonation header plus X-AnchorMailbox).
	Impersonate string
	// MaxRetries bounds retries of one call; MaxRetryWait bounds the
	// time spent waiting; RetryBaseDelay is the first backoff step.
	MaxRetries     int
	MaxRetryWait   time.Duration
	RetryBaseDelay time.Duration
	Now            func() time.Time
}

// Client is a SOAP client for one EWS endpoint and one mailbox identity.
// It is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	http *http.Client

	mu        sync.Mutex
	notBefore time.Time // server-requested back-off, for every call
	// ServerVersion is the last ServerVersionInfo seen.
	serverVersion *api.ServerVersionInfo
	record        func(error)
}

// NewClient builds a client; it does no I/O.
func NewClient(cfg ClientConfig) *Client {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.ServerVersion == "" {
		cfg.ServerVersion = DefaultServerVersion
	}
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Second
	}
	if cfg.MaxRetryWait == 0 {
		cfg.MaxRetryWait = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTP
	if cfg.Auth == AuthNTLM {
		// NTLM authenticates a connection: HTTP/1.1 with keep-alive,
		// and a body the negotiator can replay.
		base := cfg.HTTP.Transport
		if base == nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			t.ForceAttemptHTTP2 = false
			base = t
		}
		hc = &http.Client{Timeout: cfg.HTTP.Timeout, Transport: ntlmssp.Negotiator{RoundTripper: base}}
	}
	return &Client{cfg: cfg, http: hc, record: func(error) {}}
}

// ServerVersion returns the server's last reported version, or nil.
func (c *Client) ServerVersion() *api.ServerVersionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serverVersion
}

// failure describes one failed attempt, for shouldRetry and
// errorFromResponse.
type failure struct {
	status  int           // HTTP status, 0 for a network error
	code    string        // EWS ResponseCode or fault code
	text    string        // MessageText or faultstring
	backoff time.Duration // BackOffMilliseconds or Retry-After
	err     error         // network or decoding error
}

func (f *failure) Error() string {
	switch {
	case f.err != nil:
		return f.err.Error()
	case f.code != "":
		return fmt.Sprintf("%s: %s", f.code, f.text)
	}
	return fmt.Sprintf("HTTP %d %s", f.status, f.text)
}

// Call sends one request and returns its response messages. Transport
// failures, faults and throttling are retried as shouldRetry says and
// classified by errorFromResponse; per-message errors are left to the
// caller (see check), except throttling codes, which fail the call.
func (c *Client) Call(ctx context.Context, op string, kind callKind, req any) ([]api.ResponseMessage, error) {
	resp, err := c.CallResponse(ctx, op, kind, req)
	if err != nil {
		return nil, err
	}
	return resp.Messages.List, nil
}

// CallResponse is Call returning the whole response body, for operations
// whose answer is not a list of ResponseMessages (GetUserAvailability).
func (c *Client) CallResponse(ctx context.Context, op string, kind callKind, req any) (*api.Response, error) {
	body, err := c.encode(req)
	if err != nil {
		return nil, fmt.Errorf("ews: %s: encode: %w", op, err)
	}
	deadline := c.cfg.Now().Add(c.cfg.MaxRetryWait)
	for attempt := 0; ; attempt++ {
		if err := c.waitBackoff(ctx, deadline, op); err != nil {
			return nil, err
		}
		resp, f := c.once(ctx, body)
		if f == nil {
			c.record(nil)
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wait, retry := c.shouldRetry(f, kind, attempt)
		if f.backoff > 0 && isThrottle(f.code) {
			c.mu.Lock()
			c.notBefore = c.cfg.Now().Add(f.backoff)
			c.mu.Unlock()
		}
		if retry && attempt < c.cfg.MaxRetries && !c.cfg.Now().Add(wait).After(deadline) {
			if f.backoff == 0 || !isThrottle(f.code) {
				if err := sleep(ctx, wait); err != nil {
					return nil, err
				}
			}
			continue
		}
		err := errorFromResponse(op, kind, f, wait)
		c.record(err)
		return nil, err
	}
}

// check classifies one response message: nil on success (and warnings).
func check(op string, kind callKind, m api.ResponseMessage) error {
	if m.ResponseClass != "Error" && (m.ResponseCode == "" || m.ResponseCode == "NoError" || m.ResponseClass == "Warning") {
		return nil
	}
	return errorFromResponse(op, kind, &failure{status: http.StatusOK, code: m.ResponseCode, text: m.MessageText,
		backoff: backoffOf(m.MessageXML)}, 0)
}

func (c *Client) waitBackoff(ctx context.Context, deadline time.Time, op string) error {
	c.mu.Lock()
	nb := c.notBefore
	c.mu.Unlock()
	now := c.cfg.Now()
	if !nb.After(now) {
		return nil
	}
	if nb.After(deadline) {
		return &adapters.RetryAfterError{After: nb.Sub(now), Err: fmt.Errorf("ews: %s: server asked to back off", op)}
	}
	return sleep(ctx, nb.Sub(now))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) encode(req any) ([]byte, error) {
	h := api.Header{RequestServerVersion: api.RequestServerVersion{Version: c.cfg.ServerVersion}}
	if c.cfg.Impersonate != "" {
		h.ExchangeImpersonation = &api.ExchangeImpersonation{SmtpAddress: c.cfg.Impersonate}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(api.NewEnvelope(h, req)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxResponse bounds a response body (MimeContent batches can be large).
const maxResponse = 64 << 20

func (c *Client) once(ctx context.Context, body []byte) (*api.Response, *failure) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, &failure{err: err}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	if c.cfg.Impersonate != "" {
		req.Header.Set("X-AnchorMailbox", c.cfg.Impersonate)
	}
	switch c.cfg.Auth {
	case AuthOAuth2:
		if c.cfg.TokenSource == nil {
			return nil, &failure{status: http.StatusUnauthorized, text: "no token source"}
		}
		tok, err := c.cfg.TokenSource.Token()
		if err != nil {
			return nil, &failure{err: err}
		}
		tok.SetAuthHeader(req)
	default: // basic is preemptive; the NTLM negotiator converts it
		if c.cfg.Username != "" {
			req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &failure{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &failure{status: resp.StatusCode, err: err}
	}
	var env api.ResponseEnvelope
	decErr := xml.Unmarshal(data, &env)
	if decErr == nil && env.Header.ServerVersionInfo != nil {
		c.mu.Lock()
		c.serverVersion = env.Header.ServerVersionInfo
		c.mu.Unlock()
	}
	if decErr == nil && env.Body.Fault != nil {
		fl := env.Body.Fault
		code := fl.Detail.ResponseCode
		if code == "" {
			code = fl.Code
			if i := strings.LastIndexByte(code, ':'); i >= 0 {
				code = code[i+1:]
			}
		}
		return nil, &failure{status: resp.StatusCode, code: code, text: fl.String, backoff: backoffOf(fl.Detail.MessageXML)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &failure{status: resp.StatusCode, text: http.StatusText(resp.StatusCode), backoff: retryAfter(resp.Header)}
	}
	if decErr != nil {
		return nil, &failure{status: resp.StatusCode, err: fmt.Errorf("decode response: %w", decErr)}
	}
	for _, m := range env.Body.Response.Messages.List {
		if isThrottle(m.ResponseCode) {
			return nil, &failure{status: resp.StatusCode, code: m.ResponseCode, text: m.MessageText, backoff: backoffOf(m.MessageXML)}
		}
	}
	return &env.Body.Response, nil
}

func backoffOf(m api.MessageXML) time.Duration {
	if v := m.Get("BackOffMilliseconds"); v != "" {
		if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 0
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

// isThrottle reports the codes that mean "try again later"; the request
// was refused before anything was done, so even writes may be retried.
func isThrottle(code string) bool {
	switch code {
	case "ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorExceededSubscriptionCount",
		"ErrorExceededFindCountLimit", "ErrorTooManyObjectsOpened":
		return true
	}
	return false
}

// isTransient reports codes of failures that may succeed on retry but
// may also have happened after a write was applied.
func isTransient(code string) bool {
	switch code {
	case "ErrorTimeoutExpired", "ErrorInternalServerTransientError", "ErrorMailboxStoreUnavailable",
		"ErrorMailboxMoveInProgress", "ErrorConnectionFailed", "ErrorBatchProcessingStopped":
		return true
	}
	return false
}

// shouldRetry is the one retry policy: throttling (ErrorServerBusy with
// BackOffMilliseconds, HTTP 503) for every call; 5xx, transient codes and
// network errors for reads only. It returns the wait either way, so an
// exhausted retry reports it as RetryAfterError.After.
func (c *Client) shouldRetry(f *failure, kind callKind, attempt int) (time.Duration, bool) {
	wait := c.cfg.RetryBaseDelay << min(attempt, 10)
	wait += time.Duration(rand.Int64N(int64(c.cfg.RetryBaseDelay)/2 + 1))
	if f.backoff > 0 {
		wait = f.backoff
	}
	switch {
	case isThrottle(f.code), f.status == http.StatusServiceUnavailable, f.status == http.StatusTooManyRequests:
		return wait, true
	case isTransient(f.code):
		return wait, kind != write
	case f.code != "":
		return wait, false
	case f.err != nil:
		var nerr net.Error
		if errors.As(f.err, &nerr) || errors.Is(f.err, io.ErrUnexpectedEOF) || errors.Is(f.err, net.ErrClosed) {
			return wait, kind != write
		}
		return wait, false
	case f.status >= 500:
		return wait, kind != write
	}
	return wait, false
}

// errorFromResponse is the one classification of EWS failures (HTTP
// status, SOAP fault or ResponseCode) into the adapters sentinels.
func errorFromResponse(op string, kind callKind, f *failure, wait time.Duration) error {
	var rerr *oauth2.RetrieveError
	if errors.As(f.err, &rerr) {
		if rerr.Response != nil && rerr.Response.StatusCode < 500 {
			return fmt.Errorf("ews: %s: token: %v: %w", op, rerr.ErrorCode, adapters.ErrUnauthorized)
		}
		return &adapters.RetryAfterError{After: max(wait, time.Second), Err: fmt.Errorf("ews: %s: token: %w", op, f.err)}
	}
	if f.code != "" {
		if s := sentinelOf(f.code, kind); s != nil {
			if s == adapters.ErrUnavailable {
				return &adapters.RetryAfterError{After: max(wait, f.backoff, time.Second), Err: fmt.Errorf("ews: %s: %s: %s", op, f.code, f.text)}
			}
			return fmt.Errorf("ews: %s: %s: %s: %w", op, f.code, f.text, s)
		}
		return fmt.Errorf("ews: %s: %s: %s", op, f.code, f.text)
	}
	switch s := f.status; {
	case f.err != nil && s == 0:
		return &adapters.RetryAfterError{After: max(wait, time.Second), Err: fmt.Errorf("ews: %s: %w", op, f.err)}
	case s == http.StatusUnauthorized:
		return fmt.Errorf("ews: %s: HTTP 401: %w", op, adapters.ErrUnauthorized)
	case s == http.StatusForbidden:
		// Exchange Online answers 403 when EWS is disabled for the
		// tenant, the user or the app.
		return fmt.Errorf("ews: %s: HTTP 403 (EWS disabled or not allowed for this account/app): %w", op, adapters.ErrUnauthorized)
	case s == http.StatusNotFound:
		return fmt.Errorf("ews: %s: HTTP 404 (wrong EWS url?): %w", op, adapters.ErrUnavailable)
	case s == http.StatusServiceUnavailable, s == http.StatusTooManyRequests, s >= 500:
		return &adapters.RetryAfterError{After: max(wait, f.backoff, time.Second), Err: fmt.Errorf("ews: %s: %v", op, f)}
	}
	return fmt.Errorf("ews: %s: %v", op, f)
}

// sentinelOf maps ResponseCodes to sentinels; nil means "our bug or
// unknown" (a 500 in the gateway).
func sentinelOf(code string, kind callKind) error {
	switch code {
	case "ErrorItemNotFound", "ErrorFolderNotFound", "ErrorSyncFolderNotFound", "ErrorInvalidIdMalformed",
		"ErrorInvalidIdEmpty", "ErrorInvalidIdNotAnItemAttachmentId", "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
		"ErrorItemCorrupt", "ErrorMoveCopyFailed":
		return adapters.ErrNotFound
	case "ErrorIrresolvableConflict", "ErrorStaleObject", "ErrorChangeKeyRequiredForWriteOperations",
		"ErrorChangeKeyRequired", "ErrorInvalidChangeKey":
		return adapters.ErrPrecondition
	case "ErrorInvalidSyncStateData":
		return adapters.ErrInvalidToken
	case "ErrorAccessDenied", "ErrorCreateItemAccessDenied", "ErrorDeleteDistinguishedFolder",
		"ErrorCannotDeleteObject", "ErrorCalendarIsOrganizerForAccept", "ErrorCalendarIsDelegatedForAccept":
		return adapters.ErrReadOnly
	case "ErrorImpersonateUserDenied", "ErrorNonExistentMailbox", "ErrorInvalidExchangeImpersonationHeaderData",
		"ErrorImpersonationDenied", "ErrorImpersonationFailed", "ErrorInvalidLicense", "ErrorAccountDisabled",
		"ErrorMailboxLogonFailed", "ErrorNoApplicableProxyCASServersAvailable", "ErrorInvalidUserPrincipalName":
		return adapters.ErrUnauthorized
	case "ErrorMimeContentConversionFailed", "ErrorUnsupportedMimeConversion", "ErrorCalendarDurationIsTooLong",
		"ErrorCalendarInvalidRecurrence", "ErrorRecurrenceHasNoOccurrence", "ErrorQuotaExceeded",
		"ErrorMessageSizeExceeded", "ErrorCalendarMeetingRequestIsOutOfDate":
		return adapters.ErrUnsupported
	case "ErrorCalendarEndDateIsEarlierThanStartDate", "ErrorInvalidPropertySet", "ErrorInvalidRecipients",
		"ErrorCalendarInvalidDayForTimeChangePattern", "ErrorCalendarInvalidDayForWeeklyRecurrence",
		"ErrorCalendarInvalidPropertyState", "ErrorCalendarInvalidAttributeValue", "ErrorInvalidPropertyRequest":
		return adapters.ErrInvalid
	}
	if isThrottle(code) || isTransient(code) || code == "ErrorInternalServerError" {
		return adapters.ErrUnavailable
	}
	return nil
}
