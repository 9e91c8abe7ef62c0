package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTsdav runs testdata/e2e/tsdav/check.mjs (tsdav 2.x on node) in two
// phases around a change of one feed event: discovery, calendars, time-range
// fetch, initial and incremental sync-collection, and conditional writes.
func TestTsdav(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found; install Node.js 20 and run: npm ci --prefix testdata/e2e/tsdav")
	}
	dir := filepath.Join(repoRoot, "testdata", "e2e", "tsdav")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tsdav", "package.json")); err != nil {
		missing(t, "tsdav not installed; run: npm ci --prefix testdata/e2e/tsdav")
	}
	feed := loadFeed(t)
	tg := startTarget(t, feed)
	const newSummary = "Product launch (moved to the big room)"
	env := append(tg.env(),
		"E2E_WINDOW_START="+windowStart.Format(time.RFC3339),
		"E2E_WINDOW_END="+windowEnd.Format(time.RFC3339),
		"E2E_WINDOW_UIDS="+strings.Join(uidsIn(t, feed, windowStart, windowEnd), ","),
		"E2E_RECUR_UID="+recurringUID(t, feed),
		"E2E_FEED_UIDS="+strings.Join(uids(feed), ","),
		"E2E_CHANGED_UID="+changedUID,
		"E2E_CHANGED_SUMMARY="+newSummary,
	)
	script := filepath.Join(dir, "check.mjs")
	state := filepath.Join(t.TempDir(), "state.json")

	out := runTool(t, "", env, node, script, "phase1", state)
	t.Logf("check.mjs phase1:\n%s", out)

	tg.SetFeed(t, withSummary(t, feed, changedUID, newSummary))

	out = runTool(t, "", env, node, script, "phase2", state)
	t.Logf("check.mjs phase2:\n%s", out)
}
