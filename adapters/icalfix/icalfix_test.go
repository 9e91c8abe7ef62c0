package icalfix

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

func TestLoadLocation(t *testing.T) {
	for _, tc := range []struct{ tzid, want string }{
		{"Europe/Berlin", "Europe/Berlin"},
		{`"Europe/Berlin"`, "Europe/Berlin"},
		{"W. Europe Standard Time", "Europe/Berlin"},
		{"w. europe standard time", "Europe/Berlin"},
		{"Pacific Standard Time", "America/Los_Angeles"},
		{"New Zealand Standard Time", "Pacific/Auckland"},
		{"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"},
		{"(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin"},
		{"(GMT+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"},
		{"(UTC+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"},
		{"(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"},
		{"/mozilla.org/20070129_1/Europe/Paris", "Europe/Paris"},
		{"/softwarestudio.org/Olson_20011030_5/America/New_York", "America/New_York"},
		{"/Europe/Stockholm", "Europe/Stockholm"},
		{"Amsterdam, Belgrade, Berlin, Brussels", "Europe/Amsterdam"},
		{"(GMT +01:00)", "UTC+01:00"},
		{"UTC+01", "UTC+01:00"},
		{"(UTC-03:30) Somewhere Unknown", "UTC-03:30"},
		{"UTC", "UTC"},
	} {
		loc, err := LoadLocation(tc.tzid)
		if err != nil {
			t.Errorf("LoadLocation(%q): %v", tc.tzid, err)
			continue
		}
		if loc.String() != tc.want {
			t.Errorf("LoadLocation(%q) = %s, want %s", tc.tzid, loc, tc.want)
		}
	}
	for _, bad := range []string{"", "Local", "Customized Time Zone", "../../etc/passwd", "Europe/Germany", " 1", "tzone://Microsoft/Custom"} {
		if _, err := LoadLocation(bad); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("LoadLocation(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestWindowsTable(t *testing.T) {
	if len(windowsZones) < 130 || len(displayNames) < 130 {
		t.Fatalf("table too small: %d zones, %d display names", len(windowsZones), len(displayNames))
	}
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%q maps to %q, which tzdata does not know: %v", win, iana, err)
		}
	}
	for disp, win := range displayNames {
		if _, ok := windowsZones[win]; !ok {
			t.Errorf("display name %q maps to unknown Windows zone %q", disp, win)
		}
	}
}

func decodeText(t *testing.T, text string) *ical.Calendar {
	t.Helper()
	cals, err := Decode(strings.NewReader(text))
	if err != nil || len(cals) != 1 {
		t.Fatalf("Decode: %d calendars, %v", len(cals), err)
	}
	return cals[0]
}

func TestResolverFromVTimezone(t *testing.T) {
	cal := decodeText(t, `BEGIN:VCALENDAR
BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+1000
TZOFFSETTO:+1100
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:My Zone
X-LIC-LOCATION:Europe/Rome
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
END:VCALENDAR
`)
	r := NewResolver(cal)
	loc, err := r("Customized Time Zone")
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != 10*3600 {
		t.Errorf("custom zone offset %d, want +10h from STANDARD", off)
	}
	if loc, err := r("My Zone"); err != nil || loc.String() != "Europe/Rome" {
		t.Errorf("X-LIC-LOCATION: %v, %v", loc, err)
	}
	if _, err := r("Nowhere"); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("unknown TZID: %v", err)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		cals       int
		dropped    int
	}{
		{"BOM", "\xef\xbb\xbfBEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", 1, 0},
		{"truncated param line", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Europe/Paris\nUID:a\nEND:VEVENT\nEND:VCALENDAR\n", 1, 1},
		{"garbage line", "BEGIN:VCALENDAR\nthis is not a property\nX-A:b\nEND:VCALENDAR\n", 1, 1},
		{"concatenated", "BEGIN:VCALENDAR\nX-A:1\nEND:VCALENDAR\nBEGIN:VCALENDAR\nX-A:2\nEND:VCALENDAR\n", 2, 0},
		{"bare VEVENT", "BEGIN:VEVENT\nUID:a\nEND:VEVENT\n", 1, 0},
		{"missing END", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\n", 1, 0},
		{"illegal quote", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nATTENDEE;CN=a\"b:mailto:x\nUID:a\nEND:VEVENT\nEND:VCALENDAR\n", 1, 1},
		{"quote around value", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=\"W. Europe Standard Time:20200609T090000\"\nEND:VEVENT\nEND:VCALENDAR\n", 1, 0},
		{"mac line ends", "BEGIN:VCALENDAR\rX-A:1\rEND:VCALENDAR\r", 1, 0},
		{"latin-1", "BEGIN:VCALENDAR\nX-A:M\xfcller\nEND:VCALENDAR\n", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cals, st, err := DecodeBytes([]byte(tc.text))
			if err != nil {
				t.Fatalf("DecodeBytes: %v", err)
			}
			if len(cals) != tc.cals || st.DroppedLines != tc.dropped {
				t.Errorf("%d calendars, %d dropped lines; want %d, %d", len(cals), st.DroppedLines, tc.cals, tc.dropped)
			}
		})
	}
	if cals, _ := Decode(strings.NewReader("BEGIN:VCALENDAR\nX-A:M\xfcller\nEND:VCALENDAR\n")); len(cals) == 1 {
		if v := cals[0].Props.Get("X-A").Value; v != "Müller" {
			t.Errorf("Latin-1 decoded as %q", v)
		}
	}
	for _, bad := range []string{"", "hello world", "\x00\x01\x02"} {
		if _, err := Decode(strings.NewReader(bad)); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("Decode(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func encode(t *testing.T, cal *ical.Calendar) string {
	t.Helper()
	var b bytes.Buffer
	if err := ical.NewEncoder(&b).Encode(cal); err != nil {
		t.Fatalf("encode after Normalize: %v", err)
	}
	return b.String()
}

func TestNormalize(t *testing.T) {
	cal := decodeText(t, `BEGIN:VCALENDAR
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Unused
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:a
LAST-MODIFIED:20250102T030405Z
DTSTART;TZID=W. Europe Standard Time:20260105T093000
DTEND;TZID=W. Europe Standard Time:20260105T100000
DURATION:PT1H
RRULE:FREQ=WEEKLY
EXDATE;TZID=W. Europe Standard Time:20260112T093000,20260119T093000
SUMMARY:one
SUMMARY:two
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT5M
END:VALARM
END:VEVENT
BEGIN:VEVENT
CREATED:20240101T000000Z
DTSTART;TZID="(UTC+05:30) Somewhere":20260105T093000
SUMMARY:no uid
END:VEVENT
BEGIN:VTODO
DTSTART:2026-01-05T09:30:00Z
SUMMARY:sloppy
END:VTODO
BEGIN:VJOURNAL
DTSTART;TZID=Nowhere/Special:20260105T093000
END:VJOURNAL
END:VCALENDAR
`)
	stamp := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	rep, err := Normalize(cal, Options{Stamp: stamp, StripAlarms: true})
	if err != nil {
		t.Fatal(err)
	}
	out := encode(t, cal)
	for _, want := range []string{
		"PRODID:" + DefaultProdID, "VERSION:2.0",
		"TZID:Europe/Berlin", "DTSTART;TZID=Europe/Berlin:20260105T093000",
		"EXDATE;TZID=Europe/Berlin:20260112T093000\r\nEXDATE;TZID=Europe/Berlin:20260119T093000",
		"DTSTAMP:20250102T030405Z",    // from LAST-MODIFIED
		"DTSTAMP:20240101T000000Z",    // from CREATED
		"DTSTAMP:20260203T040506Z",    // fallback
		"DTSTART:20260105T040000Z",    // fixed +05:30 → UTC
		"DTSTART:20260105T093000Z",    // sloppy syntax repaired
		"DTSTART:20260105T093000\r\n", // unknown zone → floating
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"VALARM", "TZID:Unused", "DURATION", "SUMMARY:two", "Standard Time"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, out)
		}
	}
	if rep.ValuesSplit != 1 || rep.UIDsAdded != 3 || rep.AlarmsStripped != 1 || len(rep.UnknownTZIDs) != 1 || rep.TimesToUTC != 1 {
		t.Errorf("report = %+v", rep)
	}
	// go-ical can evaluate the result.
	for _, ev := range cal.Events() {
		if _, err := ev.DateTimeStart(time.UTC); err != nil {
			t.Errorf("DTSTART unreadable after Normalize: %v", err)
		}
		if _, err := ev.RecurrenceSet(time.UTC); err != nil {
			t.Errorf("RecurrenceSet: %v", err)
		}
	}
	// Normalize is idempotent.
	again, err := Normalize(cal, Options{Stamp: stamp})
	if err != nil || again.Changed() || encode(t, cal) != out {
		t.Errorf("second Normalize changed something: %+v, %v", again, err)
	}
}

func TestNormalizeRejectsEmpty(t *testing.T) {
	cal := decodeText(t, "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
	if _, err := Normalize(cal, Options{}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("Normalize(empty) = %v, want ErrInvalid", err)
	}
	if _, err := Normalize(nil, Options{}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("Normalize(nil) = %v, want ErrInvalid", err)
	}
}

func TestFixturesEncodeAfterNormalize(t *testing.T) {
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range fixtureFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(fixtureDir(t), f)
		cals, _, err := DecodeBytes(data)
		if err != nil && !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("%s: error without ErrInvalid: %v", name, err)
		}
		for _, cal := range cals {
			if _, err := Normalize(cal, Options{Stamp: stamp}); err != nil {
				if !errors.Is(err, adapters.ErrInvalid) {
					t.Errorf("%s: Normalize error without ErrInvalid: %v", name, err)
				}
				continue
			}
			var b bytes.Buffer
			if err := ical.NewEncoder(&b).Encode(cal); err != nil {
				t.Errorf("%s: does not encode after Normalize: %v", name, err)
			}
		}
	}
}

// FuzzDecodeNormalize checks that no input panics and that whatever
// Normalize accepts encodes and decodes again.
func FuzzDecodeNormalize(f *testing.F) {
	for _, s := range []string{
		"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Europe/Paris\nEND:VEVENT\nEND:VCALENDAR\n",
		"\xef\xbb\xbfBEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=W. Europe Standard Time:20260101T100000\nEXDATE:20260102T100000Z,20260103T100000Z\nEND:VEVENT\nEND:VCALENDAR\n",
		"BEGIN:VEVENT\nSUMMARY:a\r\n b\nRDATE;VALUE=PERIOD:20260101T000000Z/PT1H,20260102T000000Z/PT1H\nEND:VEVENT\n",
		"BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:X\nBEGIN:STANDARD\nTZOFFSETTO:0530\nEND:STANDARD\nEND:VTIMEZONE\nBEGIN:VTODO\nDTSTART;TZID=X:20260101T000000\nDURATION:PT1H\nDUE:20260101\nEND:VTODO\nEND:VCALENDAR\n",
		"BEGIN:VCALENDAR\nX;A=\"b:c\":d\nBEGIN:X-THING\nBEGIN:VEVENT\nEND:VEVENT\nEND:X-THING\nEND:VCALENDAR\n",
	} {
		f.Add([]byte(s))
	}
	if seeds, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*.ics")); err == nil {
		for _, s := range seeds {
			if b, err := os.ReadFile(s); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cals, _, _ := DecodeBytes(data)
		for _, cal := range cals {
			if _, err := Normalize(cal, Options{StripAlarms: len(data)%2 == 0}); err != nil {
				continue
			}
			var b bytes.Buffer
			if err := ical.NewEncoder(&b).Encode(cal); err != nil {
				t.Fatalf("Normalize accepted a calendar go-ical cannot encode: %v", err)
			}
			if _, err := DecodeOne(b.Bytes()); err != nil {
				t.Fatalf("encoded calendar does not decode: %v\n%s", err, b.String())
			}
		}
	})
}
