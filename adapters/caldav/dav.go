package caldav

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/davgate/davgate/adapters"
)

// XML namespaces.
const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"
	nsCardAV = "urn:ietf:params:xml:ns:carddav"
	nsApple  = "http://apple.com/ns/ical/"
	nsCS     = "http://calendarserver.org/ns/"
)

// elem is a generic XML element: multistatus props are read this way so
// that one decoder serves every PROPFIND and REPORT.
type elem struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []elem     `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (e *elem) child(ns, local string) *elem {
	if e == nil {
		return nil
	}
	for i := range e.Children {
		if e.Children[i].XMLName.Space == ns && e.Children[i].XMLName.Local == local {
			return &e.Children[i]
		}
	}
	return nil
}

func (e *elem) has(ns, local string) bool { return e.child(ns, local) != nil }

func (e *elem) text() string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Text)
}

type multistatus struct {
	Responses []response `xml:"DAV: response"`
	SyncToken string     `xml:"DAV: sync-token"`
}

type response struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Status string `xml:"DAV: status"`
	Prop   elem   `xml:"DAV: prop"`
}

// statusCode parses "HTTP/1.1 404 Not Found"; an absent status is 200.
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return http.StatusOK
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return http.StatusOK
	}
	return n
}

// prop returns a property found with a 2xx status.
func (r *response) prop(ns, local string) *elem {
	for i := range r.Propstats {
		if statusCode(r.Propstats[i].Status)/100 != 2 {
			continue
		}
		if p := r.Propstats[i].Prop.child(ns, local); p != nil {
			return p
		}
	}
	return nil
}

// href returns the response's href.
func (r *response) href() string {
	if len(r.Hrefs) == 0 {
		return ""
	}
	return strings.TrimSpace(r.Hrefs[0])
}

// xmlText escapes s for XML character data.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// request is one upstream call. Bodies are byte slices so that retried
// requests can be rebuilt.
type request struct {
	method string
	url    string
	header http.Header
	body   []byte
	// what names the operation in errors ("get object \"x\"").
	what string
}

// idempotent reports whether a failed request may be retried by the
// adapter: reads only. Writes are retried by the caller's policy, which
// knows whether a write that may have landed can be repeated.
func (r request) idempotent() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, "PROPFIND", "REPORT":
		return true
	}
	return false
}

const (
	maxAttempts = 3
	maxBody     = 64 << 20 // a multistatus of a large collection
)

// do sends r and returns the response for 2xx statuses (207 included);
// any other status is classified by errorFromResponse. The caller closes
// the body.
func (a *Adapter) do(ctx context.Context, r request) (*http.Response, error) {
	backoff := a.backoff
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("caldav: %s: %w", r.what, err)
		}
		resp, err := a.send(ctx, r)
		if err == nil {
			return resp, nil
		}
		if !r.idempotent() || attempt == maxAttempts || !errors.Is(err, adapters.ErrUnavailable) || ctx.Err() != nil {
			return nil, err
		}
		wait := backoff
		var ra *adapters.RetryAfterError
		if errors.As(err, &ra) && ra.After > wait {
			if ra.After > 10*time.Second {
				return nil, err // the caller decides about long waits
			}
			wait = ra.After
		}
		a.log.DebugContext(ctx, "retrying upstream read", "what", r.what, "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("caldav: %s: %w", r.what, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
}

func (a *Adapter) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("caldav: %s: %w: %v", r.what, adapters.ErrInvalid, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if a.username != "" {
		req.SetBasicAuth(a.username, a.password)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("caldav: %s: %w", r.what, ctx.Err())
		}
		// Refused connections, resets, TLS and timeouts: all mean the
		// server cannot be reached now.
		return nil, fmt.Errorf("caldav: %s: %w: %v", r.what, adapters.ErrUnavailable, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, errorFromResponse(r.what, resp)
}

// preconditions maps RFC 4791/6352/6578 precondition elements to the
// sentinel that says what the caller can do about them.
var preconditions = map[string]error{
	"valid-calendar-data":             adapters.ErrInvalid,
	"valid-calendar-object-resource":  adapters.ErrInvalid,
	"valid-address-data":              adapters.ErrInvalid,
	"valid-filter":                    adapters.ErrInvalid,
	"supported-calendar-data":         adapters.ErrUnsupported,
	"supported-calendar-component":    adapters.ErrUnsupported,
	"supported-address-data":          adapters.ErrUnsupported,
	"max-resource-size":               adapters.ErrUnsupported,
	"min-date-time":                   adapters.ErrUnsupported,
	"max-date-time":                   adapters.ErrUnsupported,
	"max-instances":                   adapters.ErrUnsupported,
	"max-attendees-per-instance":      adapters.ErrUnsupported,
	"no-uid-conflict":                 adapters.ErrUnsupported,
	"calendar-collection-location-ok": adapters.ErrUnsupported,
	"valid-sync-token":                adapters.ErrInvalidToken,
	"resource-must-be-null":           adapters.ErrPrecondition,
}

// errorFromResponse is the adapter's single classification of upstream
// statuses. The server's own reason (a precondition element, or the first
// line of a text body) goes into the error so that migrations can report
// why an object was refused.
func errorFromResponse(what string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	reason, pre := reasonOf(resp.Header.Get("Content-Type"), body)
	detail := resp.Status
	if reason != "" {
		detail += ": " + reason
	}
	if s, ok := preconditions[pre]; ok && resp.StatusCode != http.StatusPreconditionFailed {
		return fmt.Errorf("caldav: %s: %w (%s)", what, s, detail)
	}
	var s error
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		s = adapters.ErrUnauthorized
	case code == http.StatusForbidden:
		s = adapters.ErrReadOnly
	case code == http.StatusNotFound, code == http.StatusGone:
		s = adapters.ErrNotFound
	case code == http.StatusConflict:
		// RFC 4918 §9.7.1: PUT into a missing parent collection.
		s = adapters.ErrNotFound
	case code == http.StatusMethodNotAllowed:
		// MKCOL/MKCALENDAR on an existing resource (RFC 4918 §9.3.1);
		// elsewhere the method is not offered.
		if strings.HasPrefix(what, "create collection") {
			s = adapters.ErrPrecondition
		} else {
			s = adapters.ErrUnsupported
		}
	case code == http.StatusPreconditionFailed:
		s = adapters.ErrPrecondition
	case code == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("caldav: %s: too large: %w (%s)", what, adapters.ErrUnsupported, detail)
	case code == http.StatusUnsupportedMediaType, code == http.StatusNotImplemented:
		s = adapters.ErrUnsupported
	case code == http.StatusTooManyRequests, code >= 500:
		err := fmt.Errorf("caldav: %s: %w (%s)", what, adapters.ErrUnavailable, detail)
		if after := retryAfter(resp.Header.Get("Retry-After")); after > 0 {
			return &adapters.RetryAfterError{After: after, Err: err}
		}
		return err
	default: // 400, 422 and the rest: the request or the data is wrong
		s = adapters.ErrInvalid
	}
	return fmt.Errorf("caldav: %s: %w (%s)", what, s, detail)
}

// reasonOf extracts a DAV:error precondition name, or the first line of a
// text body, bounded so that a verbose server cannot flood logs.
func reasonOf(contentType string, body []byte) (reason, precondition string) {
	if strings.Contains(contentType, "xml") || bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		var e elem
		if xml.Unmarshal(body, &e) == nil && e.XMLName.Local == "error" {
			for _, c := range e.Children {
				precondition = c.XMLName.Local
				reason = c.XMLName.Local
				if t := c.text(); t != "" {
					reason += ": " + t
				}
				break
			}
			if t := e.text(); t != "" && reason == "" {
				reason = t
			}
			return trim(reason), precondition
		}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	return trim(line), ""
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// multistatus sends r and decodes a 207 answer.
func (a *Adapter) multistatus(ctx context.Context, r request) (*multistatus, error) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set("Content-Type", `application/xml; charset="utf-8"`)
	resp, err := a.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		return nil, fmt.Errorf("caldav: %s: %w: status %s, want 207 Multi-Status", r.what, adapters.ErrUnsupported, resp.Status)
	}
	ms, err := decodeMultistatus(resp)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("caldav: %s: %w", r.what, ctx.Err())
		}
		return nil, fmt.Errorf("caldav: %s: %w", r.what, err)
	}
	return ms, nil
}

// decodeMultistatus reads a 207 body. A body cut short is a transport
// failure, so it is ErrUnavailable.
func decodeMultistatus(resp *http.Response) (*multistatus, error) {
	var ms multistatus
	if err := xml.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&ms); err != nil {
		return nil, fmt.Errorf("%w: bad multistatus: %v", adapters.ErrUnavailable, err)
	}
	return &ms, nil
}

// propfind sends a PROPFIND for props (pre-rendered XML elements).
func (a *Adapter) propfind(ctx context.Context, u string, depth string, what string, props ...string) (*multistatus, error) {
	body := `<?xml version="1.0" encoding="utf-8"?>` +
		`<d:propfind xmlns:d="DAV:" xmlns:c="` + nsCalDAV + `" xmlns:card="` + nsCardAV +
		`" xmlns:a="` + nsApple + `" xmlns:cs="` + nsCS + `"><d:prop>` + strings.Join(props, "") + `</d:prop></d:propfind>`
	return a.multistatus(ctx, request{method: "PROPFIND", url: u, header: http.Header{"Depth": {depth}}, body: []byte(body), what: what})
}

// resolve turns an href from a response into an absolute URL string and
// its decoded path.
func (a *Adapter) resolve(href string) (*url.URL, error) {
	u, err := a.base.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("caldav: bad href %q: %w", href, adapters.ErrInvalid)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// withSlash makes a collection path end in "/", the form servers use in
// hrefs, so that paths compare equal.
func withSlash(p string) string {
	if !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}
