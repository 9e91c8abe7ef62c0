package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPythonCaldav runs testdata/e2e/python/caldav_check.py (Debian's
// python3-caldav) against the target: discovery from the root URL,
// time-range search with an old weekly series, event_by_uid, a refused write
// to the feed and create/update/stale-update/delete on the writable calendar.
func TestPythonCaldav(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/python3", "apt-get install python3")
	if _, err := runToolErr(t, "", nil, "/usr/bin/python3", "-c", "import caldav, requests"); err != nil {
		missing(t, "python3-caldav missing; install it with: apt-get install python3-caldav")
	}
	feed := loadFeed(t)
	tg := startTarget(t, feed)
	env := append(tg.env(),
		"E2E_WINDOW_START="+windowStart.Format(time.RFC3339),
		"E2E_WINDOW_END="+windowEnd.Format(time.RFC3339),
		"E2E_WINDOW_UIDS="+strings.Join(uidsIn(t, feed, windowStart, windowEnd), ","),
		"E2E_RECUR_UID="+recurringUID(t, feed),
		"E2E_FEED_UIDS="+strings.Join(uids(feed), ","),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	script := filepath.Join(repoRoot, "testdata", "e2e", "python", "caldav_check.py")
	out := runTool(t, "", env, "/usr/bin/python3", script)
	t.Logf("caldav_check.py:\n%s", out)
}
