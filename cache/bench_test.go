package cache_test

import (
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/cache"
)

// warm returns a cache holding a loaded 10,000-object collection.
func warm(b *testing.B) (*cache.Adapter, string) {
	b.Helper()
	m := newMemory(b)
	seed(b, m, 10000)
	c := cache.Wrap(m, cache.Options{TTL: time.Hour})
	tok, err := c.Token(b.Context(), "cal")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Objects(b.Context(), "cal", adapters.Query{}); err != nil {
		b.Fatal(err)
	}
	return c, tok
}

func BenchmarkObjectsWarm10k(b *testing.B) {
	c, _ := warm(b)
	ctx := b.Context()
	for b.Loop() {
		objs, err := c.Objects(ctx, "cal", adapters.Query{})
		if err != nil || len(objs) != 10000 {
			b.Fatal(len(objs), err)
		}
	}
}

func BenchmarkChangesCurrentToken10k(b *testing.B) {
	c, tok := warm(b)
	ctx := b.Context()
	for b.Loop() {
		if _, err := c.Changes(ctx, "cal", tok); err != nil {
			b.Fatal(err)
		}
	}
}
