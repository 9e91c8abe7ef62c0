// Package transfer copies and compares collections between adapter
// instances: `davgate migrate` (any Reader into a Writer, usually the
// caldav adapter), `davgate export` (into the vdir adapter or one file per
// collection) and `davgate verify` all run on it. It is pure Go over the
// adapter contract and knows nothing of flags or terminals.
//
// Copy is idempotent without local state: each source object is compared
// with the target's current copy (semantically, with the same
// normalisation as adaptertest.EqualCalendar), and only differences are
// written. An optional State file remembers which source version produced
// which target version; it makes reruns cheaper and tells a change in the
// source (copied) from an edit on the target (a conflict, resolved by
// Policy), but correctness never depends on it: a lost or stale state only
// turns "source changed" into "conflict".
package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
)

// Policy resolves conflicts: the target holds an object that differs from
// the source and was changed on the target since the last run (or, with no
// state, any difference).
type Policy int

const (
	// Skip leaves the target's copy and reports the object as skipped.
	Skip Policy = iota
	// Overwrite replaces the target's copy with the source's.
	Overwrite
	// KeepBoth leaves the target's copy and writes the source's under a
	// new ID and UID derived from its content, so reruns write it once.
	KeepBoth
)

func (p Policy) String() string {
	switch p {
	case Overwrite:
		return "overwrite"
	case KeepBoth:
		return "keep-both"
	}
	return "skip"
}

// ParsePolicy parses "skip", "overwrite" or "keep-both".
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(s) {
	case "skip", "":
		return Skip, nil
	case "overwrite":
		return Overwrite, nil
	case "keep-both", "keepboth", "both":
		return KeepBoth, nil
	}
	return Skip, fmt.Errorf("conflict policy %q: want skip, overwrite or keep-both: %w", s, adapters.ErrInvalid)
}

// DeleteMode says which target objects without a source counterpart are
// removed.
type DeleteMode int

const (
	// DeleteNone never deletes: a migration adds to what the target has.
	DeleteNone DeleteMode = iota
	// DeleteTracked deletes objects this tool copied earlier (they are in
	// the State) and whose source is gone, unless edited on the target.
	DeleteTracked
	// DeleteAll mirrors: every target object without a source is removed
	// (export into a folder davgate owns).
	DeleteAll
)

// Job is one source collection and where it goes.
type Job struct {
	// Source reads the collection.
	Source adapters.Reader
	// Collection is the source collection as listed by Source.
	Collection adapters.Collection
	// Target is the target collection ID.
	Target string
	// Label names the source collection in reports ("work/calendar").
	Label string
}

// Action is what happened (or, in a dry run, would happen) to one object.
type Action string

// Actions in reports.
const (
	ActCreate    Action = "create"
	ActUpdate    Action = "update"    // source changed, target copy untouched since last run
	ActOverwrite Action = "overwrite" // conflict resolved by Overwrite
	ActKeepBoth  Action = "keep-both" // conflict resolved by KeepBoth
	ActSkip      Action = "skip"      // conflict left alone, or an object not copyable
	ActDelete    Action = "delete"
	ActFail      Action = "fail"
)

// Item is one object that was not simply unchanged.
type Item struct {
	ID     string // source object ID (target ID for deletions)
	UID    string
	Action Action
	// TargetID is where the object went, when it differs from ID.
	TargetID string
	// Reason says why an object was skipped or failed.
	Reason string
	// Err is the failure, matching an adapters sentinel where the adapter
	// classified it.
	Err error
}

// CollectionReport is the outcome for one Job.
type CollectionReport struct {
	Label, Target string
	// CreatedCollection is true if the target collection was created (or
	// would be, in a dry run).
	CreatedCollection bool
	// UpdatedCollection is true if its name or color was changed.
	UpdatedCollection                           bool
	Total                                       int // source objects
	Copied, Unchanged, Skipped, Deleted, Failed int
	Created, Updated, Overwritten, KeptBoth     int // Copied, split by kind
	Pending                                     int // not attempted (aborted)
	Items                                       []Item
	// Err is a collection-level failure (listing, creating); when set,
	// the collection's objects were not attempted.
	Err error
}

// OK reports whether nothing failed and nothing was left pending.
func (c *CollectionReport) OK() bool { return c.Err == nil && c.Failed == 0 && c.Pending == 0 }

// Report is Copy's outcome.
type Report struct {
	DryRun      bool
	Collections []*CollectionReport
	// Aborted is set when the run stopped early (target unreachable,
	// context cancelled); later collections are not in Collections.
	Aborted  error
	Duration time.Duration
}

// Totals sums the collections.
func (r *Report) Totals() CollectionReport {
	var t CollectionReport
	for _, c := range r.Collections {
		t.Total += c.Total
		t.Copied += c.Copied
		t.Unchanged += c.Unchanged
		t.Skipped += c.Skipped
		t.Deleted += c.Deleted
		t.Failed += c.Failed
		t.Pending += c.Pending
		t.Created += c.Created
		t.Updated += c.Updated
		t.Overwritten += c.Overwritten
		t.KeptBoth += c.KeptBoth
		if c.Err != nil {
			t.Err = c.Err
		}
	}
	return t
}

// OK reports whether every collection completed without failures.
func (r *Report) OK() bool {
	if r.Aborted != nil {
		return false
	}
	for _, c := range r.Collections {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Progress is reported after each object.
type Progress struct {
	Label      string // current collection
	Done       int    // objects handled in it
	Total      int    // objects in it
	Collection int    // 1-based index of the current job
	Jobs       int
	// Finished is set once per collection, after its last object.
	Finished bool
	Report   *CollectionReport // only when Finished
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// UID returns the object's UID (the first non-VTIMEZONE component's, or
// the vCard's), or "".
func UID(o adapters.Object) string {
	if o.Card != nil {
		return o.Card.Value(vcard.FieldUID)
	}
	if o.Data == nil {
		return ""
	}
	for _, c := range o.Data.Children {
		if c.Name == ical.CompTimezone {
			continue
		}
		if p := c.Props.Get(ical.PropUID); p != nil {
			return p.Value
		}
	}
	return ""
}

// contentVersion is the object's Version, or a hash of its encoding for
// adapters that leave Version empty, so State can always compare.
func contentVersion(o adapters.Object) string {
	if o.Version != "" {
		return o.Version
	}
	b, err := o.Encode()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:12])
}

// Diff returns "" if a and b hold the same data after normalisation
// (DTSTAMP, PRODID, REV, property and parameter order, line folding,
// the spelling of durations, VTIMEZONE definitions beyond their TZID), else
// a short description of the difference.
func Diff(kind adapters.Kind, a, b adapters.Object, ignore ...string) string {
	if kind == adapters.KindAddressBook || a.Card != nil || b.Card != nil {
		if a.Card == nil || b.Card == nil {
			return "one side has no vCard"
		}
		return adaptertest.DiffCard(a.Card, b.Card, ignore...)
	}
	if a.Data == nil || b.Data == nil {
		return "one side has no iCalendar data"
	}
	return adaptertest.DiffCalendar(normalized(a.Data), normalized(b.Data), ignore...)
}

// decoded fills Data or Card from Raw for adapters that only return bytes.
func decoded(kind adapters.Kind, o adapters.Object) (adapters.Object, error) {
	if o.Data != nil || o.Card != nil || len(o.Raw) == 0 {
		return o, nil
	}
	if kind == adapters.KindAddressBook {
		c, err := vcard.NewDecoder(bytes.NewReader(o.Raw)).Decode()
		if err != nil {
			return o, fmt.Errorf("decode vCard %q: %w: %v", o.ID, adapters.ErrInvalid, err)
		}
		o.Card = c
		return o, nil
	}
	cal, err := ical.NewDecoder(bytes.NewReader(o.Raw)).Decode()
	if err != nil {
		return o, fmt.Errorf("decode calendar %q: %w: %v", o.ID, adapters.ErrInvalid, err)
	}
	o.Data = cal
	return o, nil
}

// withUID returns a deep copy of o whose ID is id and whose UID (in every
// component that has one, so overrides stay attached) is uid.
func withUID(kind adapters.Kind, o adapters.Object, id, uid string) (adapters.Object, error) {
	b, err := o.Encode()
	if err != nil {
		return o, err
	}
	cp, err := decoded(kind, adapters.Object{ID: id, Raw: b})
	if err != nil {
		return o, err
	}
	cp.Raw = nil
	if cp.Card != nil {
		cp.Card.SetValue(vcard.FieldUID, uid)
		return cp, nil
	}
	for _, c := range cp.Data.Children {
		if c.Props.Get(ical.PropUID) != nil {
			c.Props.SetText(ical.PropUID, uid)
		}
	}
	return cp, nil
}

// keepBothID derives the ID and UID of the source's copy under KeepBoth
// from the source content, so a rerun finds the copy it wrote before.
func keepBothID(o adapters.Object, uid string) (id, newUID string) {
	b, _ := o.Encode()
	sum := sha256.Sum256(b)
	tag := "-davgate-" + hex.EncodeToString(sum[:4])
	if uid == "" {
		uid = o.ID
	}
	return o.ID + tag, uid + tag
}

// durationProps hold RFC 5545 durations, which servers re-render
// (Radicale writes PT60M back as PT1H, P7D as P1W or the reverse). The
// comparison reads them as lengths, or a faithful copy would be a
// conflict on every run.
var durationProps = map[string]bool{ical.PropDuration: true, ical.PropTrigger: true, "REFRESH-INTERVAL": true}

// normalized returns cal with duration values in one canonical form and
// each VTIMEZONE reduced to its TZID, sharing everything else; cal itself
// is not modified. Servers re-render time zone definitions (Radicale
// regenerates them from its parsed rules when it splits a collection PUT,
// others substitute their own database's), so events are compared by the
// zone names they use, and a missing VTIMEZONE still shows.
func normalized(cal *ical.Calendar) *ical.Calendar {
	if cal == nil || !hasDuration(cal.Component) && !hasTimezone(cal.Component) {
		return cal
	}
	return &ical.Calendar{Component: normComponent(cal.Component)}
}

func hasTimezone(c *ical.Component) bool {
	for _, ch := range c.Children {
		if ch.Name == ical.CompTimezone {
			return true
		}
	}
	return false
}

func hasDuration(c *ical.Component) bool {
	for name := range c.Props {
		if durationProps[strings.ToUpper(name)] {
			return true
		}
	}
	for _, ch := range c.Children {
		if hasDuration(ch) {
			return true
		}
	}
	return false
}

func normComponent(c *ical.Component) *ical.Component {
	if c.Name == ical.CompTimezone {
		out := &ical.Component{Name: c.Name, Props: ical.Props{}}
		if p := c.Props.Get(ical.PropTimezoneID); p != nil {
			out.Props.Set(&ical.Prop{Name: ical.PropTimezoneID, Value: p.Value})
		}
		return out
	}
	out := &ical.Component{Name: c.Name, Props: make(ical.Props, len(c.Props))}
	for name, props := range c.Props {
		cp := append([]ical.Prop(nil), props...)
		if durationProps[strings.ToUpper(name)] {
			for i := range cp {
				if v, ok := canonDuration(cp[i].Value); ok {
					cp[i].Value = v
				}
			}
		}
		out.Props[name] = cp
	}
	for _, ch := range c.Children {
		out.Children = append(out.Children, normComponent(ch))
	}
	return out
}

// canonDuration renders an RFC 5545 dur-value as [-]P<days>DT<h>H<m>M<s>S
// with zero parts left out; ok is false for anything else (a TRIGGER
// with VALUE=DATE-TIME).
func canonDuration(s string) (string, bool) {
	v := strings.ToUpper(strings.TrimSpace(s))
	neg := false
	switch {
	case strings.HasPrefix(v, "-"):
		neg, v = true, v[1:]
	case strings.HasPrefix(v, "+"):
		v = v[1:]
	}
	if !strings.HasPrefix(v, "P") || len(v) < 3 {
		return s, false
	}
	var total int64
	inTime, num, digits := false, int64(0), false
	for _, r := range v[1:] {
		switch {
		case r >= '0' && r <= '9':
			num, digits = num*10+int64(r-'0'), true
			continue
		case r == 'T' && !inTime && !digits:
			inTime = true
			continue
		}
		if !digits {
			return s, false
		}
		switch {
		case r == 'W' && !inTime:
			total += num * 7 * 86400
		case r == 'D' && !inTime:
			total += num * 86400
		case r == 'H' && inTime:
			total += num * 3600
		case r == 'M' && inTime:
			total += num * 60
		case r == 'S' && inTime:
			total += num
		default:
			return s, false
		}
		num, digits = 0, false
	}
	if digits {
		return s, false
	}
	var b strings.Builder
	if neg && total != 0 {
		b.WriteByte('-')
	}
	b.WriteByte('P')
	d, rest := total/86400, total%86400
	if d > 0 {
		fmt.Fprintf(&b, "%dD", d)
	}
	if rest > 0 || d == 0 {
		b.WriteByte('T')
		h, m, sec := rest/3600, rest%3600/60, rest%60
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if sec > 0 || rest == 0 {
			fmt.Fprintf(&b, "%dS", sec)
		}
	}
	return b.String(), true
}
