package filter

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
)

func TestMatchCard(t *testing.T) {
	card := vcard.Card{
		"FN":    {{Value: "Jürgen Müller"}},
		"EMAIL": {{Value: "j@work.example", Params: vcard.Params{"TYPE": {"work"}}}, {Value: "jm@home.example", Params: vcard.Params{"TYPE": {"home"}}}},
		"TEL":   {{Value: "+49 30 1234"}},
	}
	tests := []struct {
		name string
		f    CardFilter
		want bool
	}{
		{"empty filter", CardFilter{}, true},
		{"unicode-casemap default", CardFilter{Props: []CardPropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "MÜLLER"}}}}}, true},
		{"ascii-casemap misses umlaut", CardFilter{Props: []CardPropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "MÜLLER", Collation: "i;ascii-casemap"}}}}}, false},
		{"lower-case name", CardFilter{Props: []CardPropFilter{{Name: "fn", TextMatches: []TextMatch{{Text: "jürgen", MatchType: "starts-with"}}}}}, true},
		{"equals", CardFilter{Props: []CardPropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "jürgen", MatchType: "equals"}}}}}, false},
		{"ends-with second instance", CardFilter{Props: []CardPropFilter{{Name: "EMAIL", TextMatches: []TextMatch{{Text: "home.example", MatchType: "ends-with"}}}}}, true},
		{"negate", CardFilter{Props: []CardPropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "smith", Negate: true}}}}}, true},
		{"param filter", CardFilter{Props: []CardPropFilter{{Name: "EMAIL", Params: []ParamFilter{{Name: "type", TextMatch: &TextMatch{Text: "HOME", MatchType: "equals"}}}}}}, true},
		{"prop allof fails", CardFilter{Props: []CardPropFilter{{Name: "EMAIL", AllOf: true, TextMatches: []TextMatch{{Text: "work"}, {Text: "nowhere"}}}}}, false},
		{"prop anyof", CardFilter{Props: []CardPropFilter{{Name: "EMAIL", TextMatches: []TextMatch{{Text: "work"}, {Text: "nowhere"}}}}}, true},
		{"is-not-defined", CardFilter{Props: []CardPropFilter{{Name: "NICKNAME", IsNotDefined: true}}}, true},
		{"filter anyof", CardFilter{Props: []CardPropFilter{{Name: "NICKNAME"}, {Name: "TEL"}}}, true},
		{"filter allof", CardFilter{AllOf: true, Props: []CardPropFilter{{Name: "NICKNAME"}, {Name: "TEL"}}}, false},
		{"unknown match-type never matches", CardFilter{Props: []CardPropFilter{{Name: "FN", TextMatches: []TextMatch{{Text: "j", MatchType: "regex"}}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchCard(card, tt.f); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func encode(t testing.TB, c *ical.Calendar) string {
	t.Helper()
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.String()
}

func TestExpand(t *testing.T) {
	c := calendar(t,
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
		event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DTEND;TZID=Europe/Berlin:20240101T110000", "RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;TZID=Europe/Berlin:20240115T100000", "SUMMARY:weekly"),
		event("RECURRENCE-ID;TZID=Europe/Berlin:20240108T100000", "DTSTART;TZID=Europe/Berlin:20240109T100000", "DTEND;TZID=Europe/Berlin:20240109T110000", "SUMMARY:moved"),
		comp("VEVENT", "DTSTART:20240301T000000Z", "SUMMARY:outside"),
	)
	out, err := Expand(c, ts(t, "20240101T000000Z"), ts(t, "20240201T000000Z"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range out.Children {
		rid := ""
		if p := ch.Props.Get(ical.PropRecurrenceID); p != nil {
			rid = p.Value
		}
		if ch.Props.Get(ical.PropRecurrenceRule) != nil || ch.Props.Get(ical.PropExceptionDates) != nil {
			t.Errorf("instance keeps recurrence properties")
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", ch.Props.Get(ical.PropSummary).Value, rid, ch.Props.Get(ical.PropDateTimeStart).Value, ch.Props.Get(ical.PropDateTimeEnd).Value))
	}
	want := []string{
		"weekly 20240101T090000Z 20240101T090000Z 20240101T100000Z",
		"weekly 20240122T090000Z 20240122T090000Z 20240122T100000Z",
		"weekly 20240129T090000Z 20240129T090000Z 20240129T100000Z",
		"moved 20240108T090000Z 20240109T090000Z 20240109T100000Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s := encode(t, out)
	if strings.Contains(s, "VTIMEZONE") || strings.Contains(s, "TZID") {
		t.Errorf("expanded output keeps time zones:\n%s", s)
	}
	t.Run("all-day stays date", func(t *testing.T) {
		out, err := Expand(calendar(t, event("DTSTART;VALUE=DATE:20240101", "RRULE:FREQ=DAILY;COUNT=3")), ts(t, "20240102T000000Z"), ts(t, "20240103T000000Z"))
		if err != nil || len(out.Children) != 1 {
			t.Fatalf("got %v, %v", out, err)
		}
		if p := out.Children[0].Props.Get(ical.PropRecurrenceID); p.Value != "20240102" || p.ValueType() != ical.ValueDate {
			t.Errorf("RECURRENCE-ID = %+v", p)
		}
	})
	t.Run("hostile rule is refused", func(t *testing.T) {
		_, err := Expand(calendar(t, event("DTSTART:20240101T000000Z", "RRULE:FREQ=SECONDLY")), ts(t, "20240101T000000Z"), ts(t, "20250101T000000Z"), WithMaxIterations(1000))
		if err == nil {
			t.Error("no error")
		}
	})
}

func TestFreeBusy(t *testing.T) {
	c1 := calendar(t,
		event("DTSTART:20240110T090000Z", "DTEND:20240110T100000Z"),
		event("DTSTART:20240110T093000Z", "DTEND:20240110T103000Z"),
		event("DTSTART:20240110T110000Z", "DTEND:20240110T120000Z", "STATUS:TENTATIVE"),
		event("DTSTART:20240110T130000Z", "DTEND:20240110T140000Z", "TRANSP:TRANSPARENT"),
		event("DTSTART:20240110T140000Z", "DTEND:20240110T150000Z", "STATUS:CANCELLED"),
		event("DTSTART:20240101T070000Z", "DURATION:PT2H", "RRULE:FREQ=DAILY"),
	)
	c2 := calendar(t, comp("VFREEBUSY", "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240110T160000Z/PT1H", "FREEBUSY;FBTYPE=FREE:20240110T170000Z/PT1H"))
	got := FreeBusy([]*ical.Calendar{c1, c2}, ts(t, "20240110T080000Z"), ts(t, "20240110T200000Z"))
	want := []Period{
		{ts(t, "20240110T080000Z"), ts(t, "20240110T103000Z"), FBBusy},
		{ts(t, "20240110T110000Z"), ts(t, "20240110T120000Z"), FBBusyTentative},
		{ts(t, "20240110T160000Z"), ts(t, "20240110T170000Z"), FBBusyUnavailable},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	s := encode(t, EncodeFreeBusy(got, ts(t, "20240110T080000Z"), ts(t, "20240110T200000Z"), ts(t, "20240101T000000Z")))
	for _, line := range []string{"FREEBUSY;FBTYPE=BUSY:20240110T080000Z/20240110T103000Z", "FREEBUSY;FBTYPE=BUSY-TENTATIVE:", "DTSTAMP:20240101T000000Z"} {
		if !strings.Contains(s, line) {
			t.Errorf("missing %q in\n%s", line, s)
		}
	}
}

// TestBoundsConservative checks that Bounds never excludes an object that
// Match accepts, over random ranges.
func TestBoundsConservative(t *testing.T) {
	objs := map[string]*ical.Calendar{
		"single":     calendar(t, event("DTSTART:20240110T100000Z", "DURATION:PT1H")),
		"count":      calendar(t, event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=30")),
		"until":      calendar(t, event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;UNTIL=20240301T000000Z")),
		"rdate":      calendar(t, event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE:20230101T000000Z,20250101T000000Z")),
		"override":   calendar(t, event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"), event("RECURRENCE-ID:20240102T100000Z", "DTSTART:20240201T100000Z", "DURATION:PT1H")),
		"alarm":      calendar(t, event("DTSTART:20240110T100000Z", "DURATION:PT1H", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-P2D\r\nEND:VALARM")),
		"todo due":   calendar(t, comp("VTODO", "DUE:20240110T100000Z")),
		"todo dates": calendar(t, comp("VTODO", "DTSTART:20240110T100000Z", "DUE:20240115T100000Z")),
		"all-day":    calendar(t, event("DTSTART;VALUE=DATE:20240110")),
	}
	base := ts(t, "20231201T000000Z")
	for name, c := range objs {
		t.Run(name, func(t *testing.T) {
			// Seeded per object so a failure reproduces whatever order
			// the map is walked in.
			rnd := rand.New(rand.NewSource(int64(len(name))))
			lo, hi, unbounded := Bounds(c)
			for i := 0; i < 2000; i++ {
				a := base.Add(time.Duration(rnd.Intn(24*120)) * time.Hour)
				b := a.Add(time.Duration(1+rnd.Intn(24*10)) * time.Hour)
				ok, err := Match(c, CompFilter{Name: "VCALENDAR", Comps: []CompFilter{
					{Name: "VEVENT", TimeRange: &TimeRange{a, b}},
				}})
				alarm, _ := Match(c, CompFilter{Name: "VCALENDAR", Comps: []CompFilter{
					{Name: "VEVENT", Comps: []CompFilter{{Name: "VALARM", TimeRange: &TimeRange{a, b}}}},
				}})
				todo, _ := Match(c, inRange("VTODO", &TimeRange{a, b}))
				if err != nil {
					t.Fatal(err)
				}
				inside := (lo.IsZero() || lo.Before(b)) && (unbounded || !a.After(hi))
				if (ok || alarm || todo) && !inside {
					t.Fatalf("[%v, %v) matches but Bounds = %v, %v, %v", a, b, lo, hi, unbounded)
				}
			}
		})
	}
}

// TestBoundsInclusiveEnds pins the RFC 4791 §9.9 rows whose range end is
// inclusive (end >= DUE, end >= COMPLETED): a range ending exactly there
// matches, so the envelope must not exclude it.
func TestBoundsInclusiveEnds(t *testing.T) {
	for _, prop := range []string{"DUE:20240110T100000Z", "COMPLETED:20240110T100000Z"} {
		c := calendar(t, comp("VTODO", prop))
		a, b := ts(t, "20240110T030000Z"), ts(t, "20240110T100000Z")
		ok, err := Match(c, inRange("VTODO", &TimeRange{a, b}))
		if err != nil || !ok {
			t.Fatalf("%s: Match = %v, %v; want true (end >= %s)", prop, ok, err, prop)
		}
		lo, hi, unbounded := Bounds(c)
		if !(lo.IsZero() || lo.Before(b)) || !(unbounded || !a.After(hi)) {
			t.Errorf("%s: Bounds = %v, %v, %v excludes [%v, %v)", prop, lo, hi, unbounded, a, b)
		}
	}
}
