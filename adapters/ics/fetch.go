package ics

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/davgate/davgate/adapters"
)

// ErrPrivateAddress is wrapped by fetch errors when the feed's host
// resolves to an address refused without allow_private.
var ErrPrivateAddress = errors.New("address is loopback, private, link-local or unspecified (set allow_private: true to allow it)")

// cgnat is RFC 6598 shared address space, private in all but name.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func refusedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || cgnat.Contains(ip) ||
		(ip.Is4() && ip.As4()[0] == 0)
}

// guardControl runs after name resolution, right before connect, so DNS
// tricks (a public name resolving to 127.0.0.1, rebinding) are caught too.
func guardControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("ics: dial %q: %w", address, ErrPrivateAddress)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || refusedAddr(ip) {
		return fmt.Errorf("ics: refusing to connect to %s: %w", host, ErrPrivateAddress)
	}
	return nil
}

// newClient copies base and, unless private targets are allowed, guards
// its dialer. A Transport that is not an *http.Transport (a test's) is
// kept as it is: it does not dial through net.Dialer anyway.
func newClient(base *http.Client, allowPrivate bool) *http.Client {
	c := *base
	if allowPrivate {
		return &c
	}
	var t *http.Transport
	switch rt := base.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = rt.Clone()
	default:
		return &c
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guardControl}
	t.DialContext = d.DialContext
	t.DialTLSContext = nil
	c.Transport = t
	return &c
}

// fetched is one fetch's outcome.
type fetched struct {
	body         []byte
	hash         [32]byte
	notModified  bool
	etag         string
	lastModified string
	// file sources: what to compare next time
	modTime time.Time
	size    int64
}

// validators are what the last successful fetch returned, for the
// conditional GET.
type validators struct {
	etag, lastModified string
	modTime            time.Time
	size               int64
}

func (a *Adapter) fetch(ctx context.Context, v validators) (fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	if a.src.path != "" {
		return a.fetchFile(v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.src.url, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("ics: feed %s: %w: %v", a.src.redacted, adapters.ErrInvalid, err)
	}
	req.Header.Set("User-Agent", a.opts.UserAgent)
	req.Header.Set("Accept", "text/calendar, text/plain;q=0.5, */*;q=0.1")
	for k, val := range a.opts.Headers {
		req.Header.Set(k, val)
	}
	user, pass := a.src.user, a.src.pass
	if a.opts.Username != "" {
		user, pass = a.opts.Username, a.opts.Password
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if v.etag != "" {
		req.Header.Set("If-None-Match", v.etag)
	}
	if v.lastModified != "" {
		req.Header.Set("If-Modified-Since", v.lastModified)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL with its secrets: keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fetched{}, fmt.Errorf("ics: feed %s: timed out after %s: %w", a.src.redacted, a.opts.Timeout, adapters.ErrUnavailable)
		}
		return fetched{}, fmt.Errorf("ics: feed %s: %w: %w", a.src.redacted, adapters.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && (v.etag != "" || v.lastModified != "") {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return fetched{notModified: true}, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return fetched{}, a.errorFromResponse(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, a.opts.MaxSize+1))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fetched{}, fmt.Errorf("ics: feed %s: read body: %w: %w", a.src.redacted, adapters.ErrUnavailable, err)
	}
	if int64(len(body)) > a.opts.MaxSize {
		return fetched{}, fmt.Errorf("ics: feed %s is larger than max_size (%d bytes); raise max_size: %w", a.src.redacted, a.opts.MaxSize, adapters.ErrInvalid)
	}
	return fetched{body: body, hash: sha256.Sum256(body), etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
}

func (a *Adapter) fetchFile(v validators) (fetched, error) {
	st, err := os.Stat(a.src.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fetched{}, fmt.Errorf("ics: feed file %s: %w", a.src.path, adapters.ErrNotFound)
		}
		return fetched{}, fmt.Errorf("ics: feed file %s: %w: %w", a.src.path, adapters.ErrUnavailable, err)
	}
	if st.IsDir() {
		return fetched{}, fmt.Errorf("ics: feed file %s is a directory: %w", a.src.path, adapters.ErrInvalid)
	}
	if st.Size() > a.opts.MaxSize {
		return fetched{}, fmt.Errorf("ics: feed file %s is larger than max_size (%d bytes): %w", a.src.path, a.opts.MaxSize, adapters.ErrInvalid)
	}
	if !v.modTime.IsZero() && st.ModTime().Equal(v.modTime) && st.Size() == v.size {
		return fetched{notModified: true}, nil
	}
	f, err := os.Open(a.src.path)
	if err != nil {
		return fetched{}, fmt.Errorf("ics: feed file %s: %w: %w", a.src.path, adapters.ErrUnavailable, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(f, a.opts.MaxSize+1)); err != nil {
		return fetched{}, fmt.Errorf("ics: feed file %s: %w: %w", a.src.path, adapters.ErrUnavailable, err)
	}
	if int64(buf.Len()) > a.opts.MaxSize {
		return fetched{}, fmt.Errorf("ics: feed file %s is larger than max_size: %w", a.src.path, adapters.ErrInvalid)
	}
	return fetched{body: buf.Bytes(), hash: sha256.Sum256(buf.Bytes()), modTime: st.ModTime(), size: st.Size()}, nil
}

// errorFromResponse classifies a feed's HTTP status; it is the only place
// that does.
func (a *Adapter) errorFromResponse(resp *http.Response) error {
	what := fmt.Sprintf("ics: feed %s answered %s", a.src.redacted, resp.Status)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%s; check username/password or the URL's token: %w", what, adapters.ErrUnauthorized)
	case code == http.StatusNotFound || code == http.StatusGone:
		return fmt.Errorf("%s; the feed moved or was unpublished: %w", what, adapters.ErrNotFound)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		cause := fmt.Errorf("%s: %w", what, adapters.ErrUnavailable)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), a.env.Now()); ok {
			return &adapters.RetryAfterError{After: d, Err: cause}
		}
		if code == http.StatusInternalServerError && a.opts.UserAgent == defaultUserAgent() {
			return fmt.Errorf("%s (Microsoft 365 answers 500 to unknown agents: try a browser-like user_agent): %w", what, adapters.ErrUnavailable)
		}
		return cause
	default:
		return fmt.Errorf("%s: %w", what, adapters.ErrUnavailable)
	}
}

func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}
