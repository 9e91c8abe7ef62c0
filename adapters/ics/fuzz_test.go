package ics

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/davgate/davgate/adapters/icalfix"
)

// FuzzSplit checks that splitting and grouping any input never panics
// and that every part is a balanced BEGIN … END block of the input.
func FuzzSplit(f *testing.F) {
	f.Add([]byte(feed(event("a@x", "20260301T100000Z", "A"))))
	f.Add([]byte("BEGIN:VEVENT\nUID:x\nEND:VEVENT\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n b\r\nRECURRENCE-ID;TZID=\"a:b\":20260101T000000\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("\xef\xbb\xbfBEGIN:VCALENDAR\nX;P=\"q\nBEGIN:VTIMEZONE\nTZID:X\nEND:VTIMEZONE\nEND:VCALENDAR"))
	if seeds, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*.ics")); err == nil {
		for _, s := range seeds {
			if b, err := os.ReadFile(s); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		clean, _ := icalfix.Clean(data)
		fp := split(clean)
		for _, p := range fp.parts {
			if !bytes.Contains(clean, p.text) {
				t.Fatalf("part %q is not a slice of the input", p.text)
			}
			first, _, _ := bytes.Cut(p.text, []byte("\r\n"))
			if name, _, _ := splitLine(first); name != "BEGIN" {
				t.Fatalf("part starts with %q", first)
			}
		}
		groups, order, _ := groupParts(fp.parts)
		if len(groups) != len(order) {
			t.Fatalf("%d groups, %d UIDs in order", len(groups), len(order))
		}
		for _, uid := range order {
			if objectID(uid) == "" {
				t.Fatalf("empty ID for UID %q", uid)
			}
		}
		// The whole pipeline must not panic either.
		_, _ = build(data, nil, buildOptions{workers: 1})
	})
}
