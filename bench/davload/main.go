// Command davload is a small closed-loop HTTP load generator for the DAV
// benchmarks, with a check mode that verifies a multistatus answer.
//
// Load mode runs -c workers, each sending the same request back to back
// over keep-alive connections, for -d (or until -n requests), after -warmup
// unmeasured requests. It prints one JSON object: requests/s, p50/p99
// latency, errors (transport errors or a status other than -status).
//
// Check mode (-check-uids FILE, -expect-hrefs N or -expect-body S with
// -d 0) sends the request once and reports, also as JSON, whether the
// answer is right:
// the set of UIDs in the calendar-data of a REPORT against the expected
// set (missing and extra counts), the number of member hrefs of a
// PROPFIND, or a GET body containing a string. With -d > 0 the same check
// is applied to the first measured response and reported under "check".
//
//	davload -url http://127.0.0.1:5232/dav/calendars/bench/feed/ -X PROPFIND -H 'Depth: 1' \
//	    -body-file propfind.xml -u bench:bench -c 4 -d 10s -status 207
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Name      string  `json:"name,omitempty"`
	Check     *check  `json:"check,omitempty"` // of the first measured response
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"rps"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	BodyBytes int64   `json:"body_bytes"` // of the last response
	FirstErr  string  `json:"first_error,omitempty"`
}

type check struct {
	Name     string   `json:"name,omitempty"`
	OK       bool     `json:"ok"`
	Status   int      `json:"status"`
	Ms       float64  `json:"ms"`
	Bytes    int      `json:"bytes"`
	Returned int      `json:"returned"`
	Expected int      `json:"expected"`
	Missing  int      `json:"missing"`
	Extra    int      `json:"extra"`
	Examples []string `json:"examples,omitempty"` // a few missing (-) and extra (+) UIDs
	Err      string   `json:"error,omitempty"`
}

func main() {
	var hdrs headers
	u := flag.String("url", "", "request URL")
	method := flag.String("X", "GET", "method")
	body := flag.String("body", "", "request body")
	bodyFile := flag.String("body-file", "", "read the request body from this file")
	flag.Var(&hdrs, "H", "header 'Name: value' (repeatable)")
	auth := flag.String("u", "", "basic auth user:password")
	conc := flag.Int("c", 4, "concurrent workers (connections)")
	dur := flag.Duration("d", 10*time.Second, "measurement duration")
	maxReq := flag.Int("n", 0, "stop after this many measured requests (0 = duration only)")
	warmup := flag.Int("warmup", 1, "unmeasured requests per worker before measuring")
	status := flag.Int("status", 0, "expected status; others count as errors (0 = any 2xx)")
	timeout := flag.Duration("timeout", 2*time.Minute, "per-request timeout")
	name := flag.String("name", "", "label copied into the JSON output")
	checkUIDs := flag.String("check-uids", "", "check mode: file of expected UIDs, one a line")
	expectHrefs := flag.Int("expect-hrefs", -1, "check mode: expected number of member hrefs")
	expectBody := flag.String("expect-body", "", "check mode: the body must contain this string")
	flag.Parse()
	if *u == "" {
		fatal(fmt.Errorf("-url is required"))
	}
	payload := []byte(*body)
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			fatal(err)
		}
		payload = b
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        *conc * 2,
		MaxIdleConnsPerHost: *conc * 2,
		MaxConnsPerHost:     *conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // same bytes on the wire for every server
	}
	client := &http.Client{Transport: tr, Timeout: *timeout}
	newReq := func() *http.Request {
		req, err := http.NewRequestWithContext(context.Background(), *method, *u, bytes.NewReader(payload))
		if err != nil {
			fatal(err)
		}
		for _, h := range hdrs {
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				fatal(fmt.Errorf("bad header %q", h))
			}
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		if len(payload) > 0 && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/xml; charset=utf-8")
		}
		if *auth != "" {
			user, pass, _ := strings.Cut(*auth, ":")
			req.SetBasicAuth(user, pass)
		}
		return req
	}
	okStatus := func(code int) bool {
		if *status != 0 {
			return code == *status
		}
		return code >= 200 && code < 300
	}

	checking := *checkUIDs != "" || *expectHrefs >= 0 || *expectBody != ""
	if checking && *dur == 0 {
		c := runCheck(client, newReq(), *checkUIDs, *expectHrefs, *expectBody)
		c.Name = *name
		if c.Status != 0 && !okStatus(c.Status) {
			c.OK = false
			if c.Err == "" {
				c.Err = fmt.Sprintf("status %d", c.Status)
			}
		}
		emit(c)
		return
	}

	var (
		captureOnce sync.Once
		captured    *check
		measuring   atomic.Bool
	)
	do := func() (time.Duration, int64, error) {
		t0 := time.Now()
		resp, err := client.Do(newReq())
		if err != nil {
			return time.Since(t0), 0, err
		}
		var n int64
		capture := false
		if checking && measuring.Load() {
			captureOnce.Do(func() { capture = true })
		}
		if capture {
			data, rerr := io.ReadAll(resp.Body)
			n, err = int64(len(data)), rerr
			defer func() {
				c := verify(resp.StatusCode, data, resp.Request.URL.Path, *checkUIDs, *expectHrefs, *expectBody)
				c.Name, c.Ms = *name, ms(time.Since(t0))
				captured = &c
			}()
		} else {
			n, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return d, n, err
		}
		if !okStatus(resp.StatusCode) {
			return d, n, fmt.Errorf("status %d", resp.StatusCode)
		}
		return d, n, nil
	}

	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < *warmup; i++ {
				_, _, _ = do()
			}
		}()
	}
	wg.Wait()

	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr string
		lastN    int64
		started  int
	)
	measuring.Store(true)
	start := time.Now()
	deadline := start.Add(*dur)
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1024)
			for time.Now().Before(deadline) {
				if *maxReq > 0 {
					mu.Lock()
					if started >= *maxReq {
						mu.Unlock()
						break
					}
					started++
					mu.Unlock()
				}
				d, n, err := do()
				mine = append(mine, d)
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				} else {
					mu.Lock()
					lastN = n
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{Name: *name, Check: captured, Requests: len(lat), Errors: errs, Seconds: elapsed.Seconds(), BodyBytes: lastN, FirstErr: firstErr}
	if len(lat) > 0 {
		r.RPS = float64(len(lat)) / elapsed.Seconds()
		r.P50ms = ms(pct(lat, 0.50))
		r.P99ms = ms(pct(lat, 0.99))
		r.MaxMs = ms(lat[len(lat)-1])
	}
	emit(r)
}

// pct is the nearest-rank percentile of sorted durations.
func pct(s []time.Duration, p float64) time.Duration {
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runCheck(client *http.Client, req *http.Request, uidFile string, expectHrefs int, expectBody string) check {
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return check{Err: err.Error()}
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return check{Err: err.Error(), Status: resp.StatusCode}
	}
	c := verify(resp.StatusCode, data, req.URL.Path, uidFile, expectHrefs, expectBody)
	c.Ms = ms(time.Since(t0))
	return c
}

// verify checks one response body; see the package comment.
func verify(status int, data []byte, reqPath, uidFile string, expectHrefs int, expectBody string) check {
	var c check
	c.Status, c.Bytes = status, len(data)
	if expectBody != "" {
		c.OK = bytes.Contains(data, []byte(expectBody))
		c.Returned, c.Expected = len(data), 1
		if !c.OK {
			c.Err = fmt.Sprintf("body lacks %q", expectBody)
		}
		return c
	}
	resps, err := parseMultistatus(data)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	if expectHrefs >= 0 {
		self := strings.TrimSuffix(reqPath, "/")
		n := 0
		for _, r := range resps {
			p := r.href
			if pu, err := url.Parse(p); err == nil {
				p = pu.Path
			}
			if strings.TrimSuffix(p, "/") != self {
				n++
			}
		}
		c.Returned, c.Expected = n, expectHrefs
		c.OK = n == expectHrefs
		if n < expectHrefs {
			c.Missing = expectHrefs - n
		} else {
			c.Extra = n - expectHrefs
		}
		return c
	}
	raw, err := os.ReadFile(uidFile)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	want := map[string]bool{}
	for _, l := range strings.Fields(string(raw)) {
		want[l] = true
	}
	got := map[string]bool{}
	for _, r := range resps {
		uid := uidOf(r.data)
		if uid == "" {
			// A response without calendar-data (e.g. 404 propstat) names
			// the object by its href only.
			uid = strings.TrimSuffix(lastSegment(r.href), ".ics")
		}
		got[uid] = true
	}
	c.Returned, c.Expected = len(got), len(want)
	var ex []string
	for u := range want {
		if !got[u] {
			c.Missing++
			ex = append(ex, "-"+u)
		}
	}
	for u := range got {
		if !want[u] {
			c.Extra++
			ex = append(ex, "+"+u)
		}
	}
	slices.Sort(ex)
	if len(ex) > 12 {
		ex = ex[:12]
	}
	c.Examples = ex
	c.OK = c.Missing == 0 && c.Extra == 0
	return c
}

func lastSegment(href string) string {
	if u, err := url.PathUnescape(href); err == nil {
		href = u
	}
	href = strings.TrimSuffix(href, "/")
	return href[strings.LastIndex(href, "/")+1:]
}

// uidOf returns the first UID property of an iCalendar text.
func uidOf(ics string) string {
	ics = strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(ics)
	for _, l := range strings.Split(ics, "\n") {
		l = strings.TrimRight(l, "\r")
		if name, v, ok := strings.Cut(l, ":"); ok {
			if n, _, _ := strings.Cut(name, ";"); strings.EqualFold(n, "UID") {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

type msResp struct {
	href string
	data string
}

// parseMultistatus extracts each response's href and calendar-data,
// matching elements by local name.
func parseMultistatus(data []byte) ([]msResp, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var out []msResp
	var cur *msResp
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("parse multistatus: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "response":
				out = append(out, msResp{})
				cur = &out[len(out)-1]
			case "href", "calendar-data":
				text.Reset()
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if cur == nil {
				continue
			}
			switch t.Name.Local {
			case "href":
				if cur.href == "" {
					cur.href = strings.TrimSpace(text.String())
				}
			case "calendar-data":
				cur.data = text.String()
			case "response":
				cur = nil
			}
		}
	}
	return out, nil
}

func emit(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "davload:", err)
	os.Exit(1)
}
