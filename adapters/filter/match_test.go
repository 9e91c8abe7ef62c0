package filter

import (
	"errors"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
)

// The range most rows use: 2024-01-10 10:00–12:00 UTC.
const (
	rs = "20240110T100000Z"
	re = "20240110T120000Z"
)

func TestEventTable(t *testing.T) {
	tests := []struct {
		name       string
		lines      []string
		start, end string
		want       bool
	}{
		// DTEND: start < DTEND AND end > DTSTART.
		{"dtend overlaps range start", []string{"DTSTART:20240110T090000Z", "DTEND:20240110T103000Z"}, rs, re, true},
		{"dtend ends at range start", []string{"DTSTART:20240110T090000Z", "DTEND:20240110T100000Z"}, rs, re, false},
		{"dtend starts at range end", []string{"DTSTART:20240110T120000Z", "DTEND:20240110T130000Z"}, rs, re, false},
		{"dtend equals range", []string{"DTSTART:20240110T100000Z", "DTEND:20240110T120000Z"}, rs, re, true},
		{"dtend contains range", []string{"DTSTART:20240110T080000Z", "DTEND:20240110T140000Z"}, rs, re, true},
		{"dtend open range start", []string{"DTSTART:20200110T080000Z", "DTEND:20200110T090000Z"}, "", re, true},
		{"dtend open range end", []string{"DTSTART:20300110T080000Z", "DTEND:20300110T090000Z"}, rs, "", true},
		{"dtend before open-ended range", []string{"DTSTART:20200110T080000Z", "DTEND:20200110T090000Z"}, rs, "", false},
		{"dtend equal to dtstart is an instant", []string{"DTSTART:20240110T100000Z", "DTEND:20240110T100000Z"}, rs, re, true},
		{"dtend with tzid", []string{"DTSTART;TZID=Europe/Berlin:20240110T113000", "DTEND;TZID=Europe/Berlin:20240110T120000"}, rs, re, true},
		// DURATION > 0: start < DTSTART+DURATION AND end > DTSTART.
		{"duration overlaps", []string{"DTSTART:20240110T090000Z", "DURATION:PT1H30M"}, rs, re, true},
		{"duration ends at range start", []string{"DTSTART:20240110T090000Z", "DURATION:PT1H"}, rs, re, false},
		// DURATION = 0: start <= DTSTART AND end > DTSTART.
		{"zero duration at range start", []string{"DTSTART:20240110T100000Z", "DURATION:PT0S"}, rs, re, true},
		{"zero duration at range end", []string{"DTSTART:20240110T120000Z", "DURATION:PT0S"}, rs, re, false},
		// DATE-TIME DTSTART alone: an instant.
		{"instant at range start", []string{"DTSTART:20240110T100000Z"}, rs, re, true},
		{"instant before range", []string{"DTSTART:20240110T095959Z"}, rs, re, false},
		{"instant at range end", []string{"DTSTART:20240110T120000Z"}, rs, re, false},
		// DATE DTSTART alone: one day.
		{"date covers range", []string{"DTSTART;VALUE=DATE:20240110"}, rs, re, true},
		{"date the day before", []string{"DTSTART;VALUE=DATE:20240109"}, rs, re, false},
		{"date starting at range end", []string{"DTSTART;VALUE=DATE:20240111"}, "20240110T000000Z", "20240111T000000Z", false},
		{"date with date dtend", []string{"DTSTART;VALUE=DATE:20240108", "DTEND;VALUE=DATE:20240111"}, rs, re, true},
		{"no dtstart cannot be excluded", []string{"SUMMARY:x"}, rs, re, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, event(tt.lines...))
			if got := mustMatch(t, c, inRange("VEVENT", tr(t, tt.start, tt.end))); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTodoTable(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  bool
	}{
		{"start+duration touching range start", []string{"DTSTART:20240110T090000Z", "DURATION:PT1H"}, true},
		{"start+duration before range", []string{"DTSTART:20240110T080000Z", "DURATION:PT1H"}, false},
		{"start+duration at range end", []string{"DTSTART:20240110T120000Z", "DURATION:PT1H"}, false},
		{"start+due overlapping", []string{"DTSTART:20240110T080000Z", "DUE:20240110T110000Z"}, true},
		{"start+due before range", []string{"DTSTART:20240110T080000Z", "DUE:20240110T090000Z"}, false},
		{"start+due at range end", []string{"DTSTART:20240110T120000Z", "DUE:20240110T130000Z"}, false},
		{"start only inside", []string{"DTSTART:20240110T100000Z"}, true},
		{"start only before", []string{"DTSTART:20240110T090000Z"}, false},
		{"due only at range end", []string{"DUE:20240110T120000Z"}, true},
		{"due only at range start", []string{"DUE:20240110T100000Z"}, false},
		{"completed and created spanning", []string{"CREATED:20240110T090000Z", "COMPLETED:20240110T110000Z"}, true},
		{"completed and created before", []string{"CREATED:20240110T070000Z", "COMPLETED:20240110T080000Z"}, false},
		{"completed at range end", []string{"COMPLETED:20240110T120000Z"}, true},
		{"completed after range", []string{"COMPLETED:20240110T130000Z"}, false},
		{"created inside", []string{"CREATED:20240110T110000Z"}, true},
		{"created long before", []string{"CREATED:20000110T110000Z"}, true},
		{"created at range end", []string{"CREATED:20240110T120000Z"}, false},
		{"no dates", []string{"SUMMARY:someday"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, comp("VTODO", tt.lines...))
			if got := mustMatch(t, c, inRange("VTODO", tr(t, rs, re))); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOtherComponents(t *testing.T) {
	alarm := func(lines ...string) string {
		s := "BEGIN:VALARM\r\nACTION:DISPLAY\r\n"
		for _, l := range lines {
			s += l + "\r\n"
		}
		return s + "END:VALARM"
	}
	alarmFilter := func(start, end string) CompFilter {
		return CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT", Comps: []CompFilter{{Name: "VALARM", TimeRange: tr(t, start, end)}}}}}
	}
	ev := []string{"DTSTART:20240110T100000Z", "DTEND:20240110T110000Z"}
	tests := []struct {
		name string
		data string
		f    CompFilter
		want bool
	}{
		{"journal date", comp("VJOURNAL", "DTSTART;VALUE=DATE:20240110"), inRange("VJOURNAL", tr(t, rs, re)), true},
		{"journal instant before", comp("VJOURNAL", "DTSTART:20240110T090000Z"), inRange("VJOURNAL", tr(t, rs, re)), false},
		{"journal without dtstart", comp("VJOURNAL", "SUMMARY:x"), inRange("VJOURNAL", tr(t, rs, re)), false},
		{"freebusy dtend at range start", comp("VFREEBUSY", "DTSTART:20240110T080000Z", "DTEND:20240110T100000Z"), inRange("VFREEBUSY", tr(t, rs, re)), true},
		{"freebusy period inside", comp("VFREEBUSY", "FREEBUSY:20240109T000000Z/PT1H,20240110T110000Z/20240110T113000Z"), inRange("VFREEBUSY", tr(t, rs, re)), true},
		{"freebusy period outside", comp("VFREEBUSY", "FREEBUSY:20240109T000000Z/PT1H"), inRange("VFREEBUSY", tr(t, rs, re)), false},
		{"alarm before start", event(append(ev, alarm("TRIGGER:-PT15M"))...), alarmFilter("20240110T094500Z", "20240110T095000Z"), true},
		{"alarm outside", event(append(ev, alarm("TRIGGER:-PT15M"))...), alarmFilter("20240110T090000Z", "20240110T093000Z"), false},
		{"alarm related to end", event(append(ev, alarm("TRIGGER;RELATED=END:PT5M"))...), alarmFilter("20240110T110500Z", "20240110T110600Z"), true},
		{"alarm repeat", event(append(ev, alarm("TRIGGER:-PT15M", "REPEAT:2", "DURATION:PT5M"))...), alarmFilter("20240110T095500Z", "20240110T095600Z"), true},
		{"alarm absolute", event(append(ev, alarm("TRIGGER;VALUE=DATE-TIME:20240101T080000Z"))...), alarmFilter("20240101T080000Z", "20240101T080100Z"), true},
		{"alarm of a later instance", event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=20", alarm("TRIGGER:-P1D")), alarmFilter("20240109T100000Z", "20240109T100100Z"), true},
		{"alarm after the last instance", event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2", alarm("TRIGGER:-PT1M")), alarmFilter("20240103T095900Z", "20240103T100000Z"), false},
		{"todo alarm related to due", comp("VTODO", "DUE:20240110T120000Z", alarm("TRIGGER;RELATED=END:-PT1H")),
			CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VTODO", Comps: []CompFilter{{Name: "VALARM", TimeRange: tr(t, "20240110T110000Z", "20240110T110100Z")}}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustMatch(t, calendar(t, tt.data), tt.f); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecurrence(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	ny, _ := time.LoadLocation("America/New_York")
	weekly := []string{"DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=10"}
	override := func(rid, start string) string {
		return event("RECURRENCE-ID:"+rid, "DTSTART:"+start, "DURATION:PT1H")
	}
	tests := []struct {
		name       string
		comps      []string
		start, end string
		opts       []Option
		want       bool
	}{
		{"daily instance started before window", []string{event("DTSTART:20240101T090000Z", "DTEND:20240101T110000Z", "RRULE:FREQ=DAILY")}, "20240110T100000Z", "20240110T103000Z", nil, true},
		{"daily instance ended before window", []string{event("DTSTART:20240101T090000Z", "DTEND:20240101T093000Z", "RRULE:FREQ=DAILY")}, "20240110T100000Z", "20240110T103000Z", nil, false},
		{"weekly exdate on window instance", []string{event(append(weekly, "EXDATE:20240108T100000Z")...)}, "20240108T000000Z", "20240109T000000Z", nil, false},
		{"weekly next instance after exdate", []string{event(append(weekly, "EXDATE:20240108T100000Z")...)}, "20240115T000000Z", "20240116T000000Z", nil, true},
		{"multi-value exdate second", []string{event(append(weekly, "EXDATE:20240108T100000Z,20240115T100000Z")...)}, "20240115T000000Z", "20240116T000000Z", nil, false},
		{"multi-value exdate untouched", []string{event(append(weekly, "EXDATE:20240108T100000Z,20240115T100000Z")...)}, "20240122T000000Z", "20240123T000000Z", nil, true},
		{"date exdate on date-time series", []string{event(append(weekly, "EXDATE;VALUE=DATE:20240108")...)}, "20240108T000000Z", "20240109T000000Z", nil, false},
		{"override moved into window", []string{event(weekly...), override("20240108T100000Z", "20240110T150000Z")}, "20240110T140000Z", "20240110T160000Z", nil, true},
		{"override moved out of window", []string{event(weekly...), override("20240108T100000Z", "20240110T150000Z")}, "20240108T090000Z", "20240108T110000Z", nil, false},
		{"override with tzid recurrence-id", []string{event(weekly...), event("RECURRENCE-ID;TZID=Europe/Berlin:20240108T110000", "DTSTART:20240110T150000Z", "DURATION:PT1H")}, "20240108T090000Z", "20240108T110000Z", nil, false},
		{"rdate", []string{event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE:20240301T100000Z")}, "20240301T103000Z", "20240301T110000Z", nil, true},
		{"multi-value rdate", []string{event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE:20240201T100000Z,20240301T100000Z")}, "20240301T103000Z", "20240301T110000Z", nil, true},
		{"rdate period longer than master", []string{event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE;VALUE=PERIOD:20240401T100000Z/PT3H")}, "20240401T120000Z", "20240401T123000Z", nil, true},
		{"rdate excluded by exdate", []string{event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE:20240301T100000Z", "EXDATE:20240301T100000Z")}, "20240301T103000Z", "20240301T110000Z", nil, false},
		{"open end unbounded", []string{event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY")}, "20300101T000000Z", "", nil, true},
		{"open end after count", []string{event(weekly...)}, "20300101T000000Z", "", nil, false},
		{"open start before dtstart", []string{event(weekly...)}, "", "20231201T000000Z", nil, false},
		{"open start after dtstart", []string{event(weekly...)}, "", "20240301T000000Z", nil, true},
		{"count last instance", []string{event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5")}, "20240105T000000Z", "20240106T000000Z", nil, true},
		{"count exhausted", []string{event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5")}, "20240106T000000Z", "20240107T000000Z", nil, false},
		{"until inclusive", []string{event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240105T090000Z")}, "20240105T000000Z", "20240106T000000Z", nil, true},
		{"until exhausted", []string{event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240105T090000Z")}, "20240106T000000Z", "20240107T000000Z", nil, false},
		{"until as date includes that day", []string{event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240105")}, "20240105T000000Z", "20240106T000000Z", nil, true},
		{"berlin after dst 09:00 CEST", []string{event("DTSTART;TZID=Europe/Berlin:20240320T090000", "DURATION:PT30M", "RRULE:FREQ=DAILY")}, "20240402T070000Z", "20240402T071000Z", nil, true},
		{"berlin after dst not at 08:00Z", []string{event("DTSTART;TZID=Europe/Berlin:20240320T090000", "DURATION:PT30M", "RRULE:FREQ=DAILY")}, "20240402T080000Z", "20240402T081000Z", nil, false},
		{"berlin before dst 09:00 CET", []string{event("DTSTART;TZID=Europe/Berlin:20240320T090000", "DURATION:PT30M", "RRULE:FREQ=DAILY")}, "20240325T080000Z", "20240325T081000Z", nil, true},
		{"berlin dst day", []string{event("DTSTART;TZID=Europe/Berlin:20240320T090000", "DURATION:PT30M", "RRULE:FREQ=DAILY")}, "20240331T070000Z", "20240331T071000Z", nil, true},
		{"floating all-day in new york", []string{event("DTSTART;VALUE=DATE:20240110", "DTEND;VALUE=DATE:20240111")}, "20240110T030000Z", "20240110T040000Z", []Option{WithFloating(ny)}, false},
		{"floating all-day in utc", []string{event("DTSTART;VALUE=DATE:20240110", "DTEND;VALUE=DATE:20240111")}, "20240110T030000Z", "20240110T040000Z", nil, true},
		{"floating all-day late in new york", []string{event("DTSTART;VALUE=DATE:20240110", "DTEND;VALUE=DATE:20240111")}, "20240111T040000Z", "20240111T050000Z", []Option{WithFloating(ny)}, true},
		{"recurring all-day in berlin after dst", []string{event("DTSTART;VALUE=DATE:20240301", "RRULE:FREQ=WEEKLY")}, "20240404T223000Z", "20240404T224500Z", []Option{WithFloating(berlin)}, true},
		{"recurring all-day in berlin the evening before", []string{event("DTSTART;VALUE=DATE:20240301", "RRULE:FREQ=WEEKLY")}, "20240404T213000Z", "20240404T214500Z", []Option{WithFloating(berlin)}, false},
		{"unknown tzid falls back to utc", []string{event("DTSTART;TZID=Mars/Olympus:20240110T100000", "DURATION:PT1H")}, rs, re, nil, true},
		{"resolver maps windows zone", []string{event("DTSTART;TZID=W. Europe Standard Time:20240110T110000", "DURATION:PT30M")}, "20240110T100000Z", "20240110T103000Z",
			[]Option{WithResolver(func(string) (*time.Location, error) { return berlin, nil })}, true},
		{"orphan override", []string{override("20240108T100000Z", "20240110T150000Z")}, "20240110T140000Z", "20240110T160000Z", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, tt.comps...)
			if got := mustMatch(t, c, inRange("VEVENT", tr(t, tt.start, tt.end)), tt.opts...); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHostileRules(t *testing.T) {
	tests := []struct {
		name string
		rule string
		want bool
	}{
		{"unbounded secondly", "FREQ=SECONDLY", true},
		{"secondly with impossible days", "FREQ=SECONDLY;BYHOUR=3;BYMONTH=2;BYMONTHDAY=30", true},
		{"hourly never reaching byhour", "FREQ=HOURLY;INTERVAL=24;BYHOUR=5", true},
		{"daily impossible days", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", false},
		{"monthly bysetpos out of reach", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=10", false},
		{"huge interval", "FREQ=DAILY;INTERVAL=999999999999", true},
		{"garbage", "FREQ=SOMETIMES", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, event("DTSTART:20000101T000000Z", "DURATION:PT1S", "RRULE:"+tt.rule))
			begin := time.Now()
			got, err := Match(c, inRange("VEVENT", tr(t, "20240110T000000Z", "20240111T000000Z")))
			if took := time.Since(begin); took > 3*time.Second {
				t.Errorf("took %v", took)
			}
			if err != nil && !errors.Is(err, adapters.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if _, _, unbounded := Bounds(c); tt.want && !unbounded {
				t.Errorf("Bounds not unbounded for a matching hostile rule")
			}
		})
	}
}

func TestPropFilters(t *testing.T) {
	data := calendar(t, event("DTSTART:20240110T100000Z", "SUMMARY:Team MEETING in MÜNCHEN",
		"ATTENDEE;PARTSTAT=DECLINED:mailto:a@example.com",
		"ATTENDEE;PARTSTAT=ACCEPTED;CN=Bob:mailto:b@example.com",
		"DESCRIPTION:line\\, with comma"))
	on := func(pf PropFilter) CompFilter {
		return CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT", Props: []PropFilter{pf}}}}
	}
	tests := []struct {
		name string
		f    CompFilter
		want bool
	}{
		{"ascii-casemap default", on(PropFilter{Name: "SUMMARY", TextMatch: &TextMatch{Text: "meeting"}}), true},
		{"octet is exact", on(PropFilter{Name: "SUMMARY", TextMatch: &TextMatch{Text: "meeting", Collation: "i;octet"}}), false},
		{"ascii-casemap leaves non-ascii", on(PropFilter{Name: "SUMMARY", TextMatch: &TextMatch{Text: "münchen"}}), false},
		{"unicode-casemap folds non-ascii", on(PropFilter{Name: "SUMMARY", TextMatch: &TextMatch{Text: "münchen", Collation: "i;unicode-casemap"}}), true},
		{"negate", on(PropFilter{Name: "SUMMARY", TextMatch: &TextMatch{Text: "lunch", Negate: true}}), true},
		{"lower-case property name", on(PropFilter{Name: "summary", TextMatch: &TextMatch{Text: "team"}}), true},
		{"second property instance", on(PropFilter{Name: "ATTENDEE", TextMatch: &TextMatch{Text: "b@example"}}), true},
		{"param on second instance", on(PropFilter{Name: "ATTENDEE", Params: []ParamFilter{{Name: "PARTSTAT", TextMatch: &TextMatch{Text: "accepted"}}}}), true},
		{"text and param on different instances", on(PropFilter{Name: "ATTENDEE", TextMatch: &TextMatch{Text: "a@example"}, Params: []ParamFilter{{Name: "PARTSTAT", TextMatch: &TextMatch{Text: "accepted"}}}}), false},
		{"param is-not-defined on one instance", on(PropFilter{Name: "ATTENDEE", Params: []ParamFilter{{Name: "CN", IsNotDefined: true}}}), true},
		{"prop is-not-defined", on(PropFilter{Name: "LOCATION", IsNotDefined: true}), true},
		{"prop is-not-defined but present", on(PropFilter{Name: "SUMMARY", IsNotDefined: true}), false},
		{"prop exists", on(PropFilter{Name: "DESCRIPTION"}), true},
		{"escaped text is unescaped", on(PropFilter{Name: "DESCRIPTION", TextMatch: &TextMatch{Text: "line, with"}}), true},
		{"prop time-range", on(PropFilter{Name: "DTSTART", TimeRange: tr(t, rs, re)}), true},
		{"prop time-range outside", on(PropFilter{Name: "DTSTART", TimeRange: tr(t, re, "")}), false},
		{"comp is-not-defined", CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VTODO", IsNotDefined: true}}}, true},
		{"comp is-not-defined but present", CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT", IsNotDefined: true}}}, false},
		{"wrong root", CompFilter{Name: "VCARD"}, false},
		{"calendar prop", CompFilter{Name: "VCALENDAR", Props: []PropFilter{{Name: "VERSION", TextMatch: &TextMatch{Text: "2.0", MatchType: "equals"}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustMatch(t, data, tt.f); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("recurring dtstart time-range", func(t *testing.T) {
		c := calendar(t, event("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY"))
		if !mustMatch(t, c, on(PropFilter{Name: "DTSTART", TimeRange: tr(t, "20240110T100000Z", "20240110T100001Z")})) {
			t.Error("instance DTSTART not matched")
		}
	})
	t.Run("unknown collation", func(t *testing.T) {
		f := on(PropFilter{Name: "SUMMARY", TextMatch: &TextMatch{Text: "x", Collation: "i;klingon"}})
		if _, err := Match(data, f); !errors.Is(err, adapters.ErrUnsupported) {
			t.Errorf("err = %v, want ErrUnsupported", err)
		}
		if err := f.Validate(); !errors.Is(err, adapters.ErrUnsupported) {
			t.Errorf("Validate = %v, want ErrUnsupported", err)
		}
	})
}

func TestMalformed(t *testing.T) {
	bad := event("DTSTART:2024-01-10T10:00:00Z", "SUMMARY:broken")
	good := comp("VEVENT", "DTSTART:20240110T100000Z", "SUMMARY:fine")
	t.Run("time-range needs the bad date", func(t *testing.T) {
		ok, err := Match(calendar(t, bad), inRange("VEVENT", tr(t, rs, re)))
		if ok || !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("got %v, %v; want false, ErrInvalid", ok, err)
		}
	})
	t.Run("text-match does not", func(t *testing.T) {
		f := CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT", Props: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "broken"}}}}}}
		if !mustMatch(t, calendar(t, bad), f) {
			t.Error("no match")
		}
	})
	t.Run("another component matches", func(t *testing.T) {
		if !mustMatch(t, calendar(t, bad, good), inRange("VEVENT", tr(t, rs, re))) {
			t.Error("no match")
		}
	})
	t.Run("bad exdate", func(t *testing.T) {
		_, err := Match(calendar(t, event("DTSTART:20240110T100000Z", "RRULE:FREQ=DAILY", "EXDATE:nope")), inRange("VEVENT", tr(t, rs, re)))
		if !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("nil calendar", func(t *testing.T) {
		if _, err := Match(nil, CompFilter{Name: "VCALENDAR"}); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPreparedConcurrent(t *testing.T) {
	p, err := Prepare(calendar(t, event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY")))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for i := 0; i < 4; i++ {
		go func() {
			ok, _ := p.Match(inRange("VEVENT", tr(t, "20300101T100000Z", "20300101T103000Z")))
			done <- ok
		}()
	}
	for i := 0; i < 4; i++ {
		if !<-done {
			t.Error("instance past the cache not matched")
		}
	}
}
