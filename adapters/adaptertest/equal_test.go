package adaptertest

import (
	"strings"
	"testing"
)

func TestDiffCalendar(t *testing.T) {
	base := berlinEvent("equal@example.com").Data
	tests := []struct {
		name  string
		other string // body of a calendar compared with base
		equal bool
	}{
		{"reordered with other DTSTAMP and PRODID", `BEGIN:VEVENT
SUMMARY:Berlin meeting
DTEND;TZID=Europe/Berlin:20240415T103000
DTSTART;VALUE=DATE-TIME;TZID=Europe/Berlin:20240415T093000
DTSTAMP:20990101T000000Z
UID:equal@example.com
DESCRIPTION:Line one\nLine two
LOCATION:Alexanderplatz 1\, Berlin
END:VEVENT
` + berlinTZ, true},
		{"summary changed", strings.Replace(berlinTZ+berlinEventBody, "Berlin meeting", "Other", 1), false},
		{"timezone missing", berlinEventBody, false},
		{"RRULE parts reordered (Xandikos)", strings.Replace(berlinTZ+berlinEventBody, "BYMONTH=10;BYDAY=-1SU", "BYDAY=-1SU;BYMONTH=10", 1), true},
		{"extra property", strings.Replace(berlinTZ+berlinEventBody, "END:VEVENT", "STATUS:CANCELLED\nEND:VEVENT", 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := calendar(tc.other)
			d := DiffCalendar(base, other)
			if (d == "") != tc.equal || EqualCalendar(base, other) != tc.equal {
				t.Errorf("DiffCalendar = %q, want equal=%v", d, tc.equal)
			}
		})
	}
	if !EqualCalendar(base, calendar(strings.Replace(berlinTZ+berlinEventBody, "Berlin meeting", "Other", 1)), "SUMMARY") {
		t.Error("ignore list not applied")
	}
}

const berlinEventBody = `BEGIN:VEVENT
UID:equal@example.com
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240415T093000
DTEND;TZID=Europe/Berlin:20240415T103000
SUMMARY:Berlin meeting
LOCATION:Alexanderplatz 1\, Berlin
DESCRIPTION:Line one\nLine two
END:VEVENT
`

func TestDiffCard(t *testing.T) {
	a := vcard3("card@example.com").Card
	b := card(`VERSION:3.0
PRODID:-//other//EN
REV:20990101T000000Z
NOTE:Met at the conference\, 2024
ORG:Example Inc.
ADR;TYPE=HOME:;;1 Main St;Springfield;;12345;USA
TEL;TYPE=cell:+1 555 0100
EMAIL;TYPE=work,internet:jane@example.com
N:Doe;Jane;;;
FN:Jane Doe
UID:card@example.com
`)
	if d := DiffCard(a, b); d != "" {
		t.Errorf("reordered card differs:\n%s", d)
	}
	b.SetValue("FN", "John Doe")
	if EqualCard(a, b) {
		t.Error("changed FN not detected")
	}
}
