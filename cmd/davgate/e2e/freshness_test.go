package e2e

import (
	"testing"
	"time"
)

// TestFeedRefreshDefaultCache runs davgate with the documented config (no
// cache: section, so the default object cache applies) and an ICS source with
// refresh: 1s, min_refresh: 1s. A change of the feed must show in the
// collection's ETags within a few refresh periods, as the source promises.
func TestFeedRefreshDefaultCache(t *testing.T) {
	if targetName() != "davgate" {
		t.Skip("davgate-specific: feed refresh vs the gateway's object cache")
	}
	t.Parallel()
	feed := loadFeed(t)
	tg := startDavgate(t, feed, "")
	_ = tg.etags(t, tg.FeedURL) // load the feed once, as a client would
	const limit = 10 * time.Second
	took, ok := tg.waitFeedChange(t, withSummary(t, feed, changedUID, "Product launch (refresh check)"), limit)
	if !ok {
		// Wait on (with a second change, since the first may land any
		// moment) to tell how stale the collection really gets.
		extra, seen := tg.waitFeedChange(t, withSummary(t, feed, changedUID, "Product launch (second check)"), 60*time.Second)
		t.Errorf("with refresh: 1s and the default cache, a feed change was not visible within %s; "+
			"the next change showed %s after the first was published (seen=%v). "+
			"The gateway's object cache (cache.ttl, default 30s) seems to override the source's refresh",
			limit, (limit + extra).Round(time.Second), seen)
		return
	}
	t.Logf("feed change visible after %s", took.Round(10*time.Millisecond))
}
