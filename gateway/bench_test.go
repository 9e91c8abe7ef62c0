package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
	"github.com/davgate/davgate/cache"
)

// BenchmarkPropfind10k measures PROPFIND Depth:1 (getetag) over a cached
// 10,000-object collection: the gateway's own cost, without the network.
func BenchmarkPropfind10k(b *testing.B) {
	mem, _ := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{{ID: "c"}}})
	s, err := New(Options{Users: []User{{Name: "u", Sources: []Source{{Name: "m", Adapter: cache.Wrap(mem, cache.Options{TTL: 1 << 62})}}}}, Auth: plainAuth{"u": "p"}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		ev := strings.NewReplacer("ev1@example.com", fmt.Sprintf("ev-%d", i)).Replace(event1)
		cal, err := safeDecodeCal([]byte(ev))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := mem.Put(context.Background(), "c", adapters.Object{ID: fmt.Sprintf("ev-%d", i), Data: cal}, adapters.Cond{}); err != nil {
			b.Fatal(err)
		}
	}
	body := `<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest("PROPFIND", "/dav/calendars/u/m~c/", strings.NewReader(body))
		req.SetBasicAuth("u", "p")
		req.Header.Set("Depth", "1")
		w := &discard{h: http.Header{}}
		s.ServeHTTP(w, req)
		if w.code != http.StatusMultiStatus {
			b.Fatal(w.code)
		}
	}
}

type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(c int)           { d.code = c }
func (d *discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }
