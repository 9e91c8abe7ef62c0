package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body)
}

func TestScrape(t *testing.T) {
	now := time.Unix(1_700_000_100, 0)
	m := New(Options{Now: func() time.Time { return now }})
	m.ObserveRequest("PROPFIND", 207, 0.002)
	m.ObserveRequest("PROPFIND", 207, 0.004)
	m.ObserveRequest("GET", 404, 0.001)
	m.ObserveRequest("BREW", 405, 0.001) // client-chosen methods are bounded

	st := adapters.Status{Healthy: false, Stale: true, Fetches: 7, Failures: 2, LastSuccess: time.Unix(1_700_000_000, 0)}
	m.AddSource("holidays", "ics", func() adapters.Status { return st })
	m.AddSource("fresh", "memory", func() adapters.Status { return adapters.Status{Healthy: true} })
	m.AddCache("holidays", func() CacheStats { return CacheStats{Hits: 10, Misses: 3, Bytes: 4096, Entries: 5} })

	body := scrape(t, m)
	want := []string{
		`davgate_http_requests_total{method="PROPFIND",status="207"} 2`,
		`davgate_http_requests_total{method="GET",status="404"} 1`,
		`davgate_http_requests_total{method="OTHER",status="405"} 1`,
		`davgate_http_request_duration_seconds_count{method="PROPFIND"} 2`,
		`davgate_upstream_fetches_total{source="holidays",type="ics"} 7`,
		`davgate_upstream_failures_total{source="holidays",type="ics"} 2`,
		`davgate_source_healthy{source="holidays",type="ics"} 0`,
		`davgate_source_healthy{source="fresh",type="memory"} 1`,
		`davgate_feed_stale{source="holidays",type="ics"} 1`,
		`davgate_feed_stale{source="fresh",type="memory"} 0`,
		`davgate_feed_last_success_timestamp_seconds{source="holidays",type="ics"} 1.7e+09`,
		`davgate_feed_staleness_seconds{source="holidays",type="ics"} 100`,
		`davgate_cache_hits_total{cache="holidays"} 10`,
		`davgate_cache_misses_total{cache="holidays"} 3`,
		`davgate_cache_bytes{cache="holidays"} 4096`,
		`davgate_cache_entries{cache="holidays"} 5`,
		`go_goroutines `,
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	notWant := []string{
		`method="BREW"`,
		// No success yet: no timestamp rather than a misleading 1970.
		`davgate_feed_last_success_timestamp_seconds{source="fresh"`,
		`davgate_feed_staleness_seconds{source="fresh"`,
	}
	for _, nw := range notWant {
		if strings.Contains(body, nw) {
			t.Errorf("scrape has %q", nw)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestStatusReadAtScrapeTime(t *testing.T) {
	m := New(Options{})
	fetches := uint64(1)
	m.AddSource("s", "ics", func() adapters.Status { return adapters.Status{Fetches: fetches} })
	if body := scrape(t, m); !strings.Contains(body, `davgate_upstream_fetches_total{source="s",type="ics"} 1`) {
		t.Fatalf("first scrape:\n%s", body)
	}
	fetches = 5
	if body := scrape(t, m); !strings.Contains(body, `davgate_upstream_fetches_total{source="s",type="ics"} 5`) {
		t.Fatalf("second scrape:\n%s", body)
	}
}

func TestDuplicateNamesReplace(t *testing.T) {
	m := New(Options{})
	m.AddSource("s", "ics", func() adapters.Status { return adapters.Status{Fetches: 1} })
	m.AddSource("s", "ics", func() adapters.Status { return adapters.Status{Fetches: 2} })
	m.AddCache("c", func() CacheStats { return CacheStats{Hits: 1} })
	m.AddCache("c", func() CacheStats { return CacheStats{Hits: 2} })
	body := scrape(t, m) // a duplicate label set would make this a 500
	for _, w := range []string{`davgate_upstream_fetches_total{source="s",type="ics"} 2`, `davgate_cache_hits_total{cache="c"} 2`} {
		if !strings.Contains(body, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
}

func TestConcurrentObserveAndScrape(t *testing.T) {
	m := New(Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			m.ObserveRequest("GET", 200, 0.001)
			m.AddSource("s"+string(rune('a'+i%26)), "memory", func() adapters.Status { return adapters.Status{} })
		}
	}()
	for range 5 {
		scrape(t, m)
	}
	<-done
}
