package adaptertest

import (
	"fmt"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
)

// Fixtures are written as text, the way clients send them, and decoded,
// so that they exercise the same parser the gateway uses.

const berlinTZ = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
`

// calendar wraps body in a VCALENDAR and decodes it; it panics on
// malformed fixtures, which are programming errors in this package.
func calendar(body string) *ical.Calendar {
	text := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//davgate//adaptertest//EN\n" + body + "END:VCALENDAR\n"
	text = strings.ReplaceAll(text, "\n", "\r\n")
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		panic(fmt.Sprintf("adaptertest: bad calendar fixture: %v\n%s", err, text))
	}
	return cal
}

func card(body string) vcard.Card {
	text := strings.ReplaceAll("BEGIN:VCARD\n"+body+"END:VCARD\n", "\n", "\r\n")
	c, err := vcard.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		panic(fmt.Sprintf("adaptertest: bad vCard fixture: %v\n%s", err, text))
	}
	return c
}

// icalText escapes s as an iCalendar TEXT value (RFC 5545 §3.3.11).
func icalText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}

// simpleEvent is a one-hour event; rev changes its summary, so two
// revisions differ in content only.
func simpleEvent(id string, rev int) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:20240601T100000Z
DTEND:20240601T110000Z
SUMMARY:Revision %d
END:VEVENT
`, icalText(id), rev))}
}

func allDayEvent(id string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:20240310
DTEND;VALUE=DATE:20240311
SUMMARY:All-day event
TRANSP:TRANSPARENT
END:VEVENT
`, icalText(id)))}
}

func berlinEvent(id string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(berlinTZ + fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240415T093000
DTEND;TZID=Europe/Berlin:20240415T103000
SUMMARY:Berlin meeting
LOCATION:Alexanderplatz 1\, Berlin
DESCRIPTION:Line one\nLine two
END:VEVENT
`, icalText(id)))}
}

// recurringEvent is a weekly series with one excluded and one moved
// instance, all in one object as RFC 4791 §4.1 requires.
func recurringEvent(id string) adapters.Object {
	uid := icalText(id)
	return adapters.Object{ID: id, Data: calendar(berlinTZ + fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240101T090000
DTEND;TZID=Europe/Berlin:20240101T093000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=Europe/Berlin:20240108T090000
SUMMARY:Weekly standup
END:VEVENT
BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240115T090000
DTSTART;TZID=Europe/Berlin:20240115T100000
DTEND;TZID=Europe/Berlin:20240115T103000
SUMMARY:Weekly standup (moved)
END:VEVENT
`, uid, uid))}
}

func todo(id string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VTODO
UID:%s
DTSTAMP:20240101T000000Z
DUE:20240501T170000Z
SUMMARY:File taxes
STATUS:NEEDS-ACTION
PRIORITY:1
END:VTODO
`, icalText(id)))}
}

// timedEvent is a UTC event from start to end (iCalendar basic format).
func timedEvent(id, start, end string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:%s
DTEND:%s
SUMMARY:%s
END:VEVENT
`, icalText(id), start, end, icalText(id)))}
}

func weeklySince2024(id string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:20240101T080000Z
DTEND:20240101T090000Z
RRULE:FREQ=WEEKLY
SUMMARY:Weekly since 2024
END:VEVENT
`, icalText(id)))}
}

func allDayOn(id, date string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:%s
SUMMARY:All day
END:VEVENT
`, icalText(id), date))}
}

func berlinLateEvent(id string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(berlinTZ + fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20250607T233000
DTEND;TZID=Europe/Berlin:20250608T003000
SUMMARY:Late in Berlin
END:VEVENT
`, icalText(id)))}
}

// hostileEvent carries text that breaks naive escaping.
func hostileEvent(id string) adapters.Object {
	return adapters.Object{ID: id, Data: calendar(fmt.Sprintf(`BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:20240601T100000Z
DTEND:20240601T110000Z
SUMMARY:%s
DESCRIPTION:%s
END:VEVENT
`, icalText(id), icalText(hostileText), icalText(hostileText+"\nsecond line")))}
}

const hostileText = `Grüße, 日本語; a\b "quoted" <tag> & 100% + @ / ü €`

// hostileIDs are IDs (and UIDs) that break naive path or escaping code.
var hostileIDs = []string{
	"user@example.com",
	"a/b+c%20d",
	"with space and ünïcødé 日本",
	"../dot/..",
	"'quote\"&<>",
	strings.Repeat("long-uid-", 120) + "@example.com",
}

func vcard3(id string) adapters.Object {
	return adapters.Object{ID: id, Card: card(fmt.Sprintf(`VERSION:3.0
UID:%s
FN:Jane Doe
N:Doe;Jane;;;
EMAIL;TYPE=INTERNET,WORK:jane@example.com
TEL;TYPE=CELL:+1 555 0100
ADR;TYPE=HOME:;;1 Main St;Springfield;;12345;USA
ORG:Example Inc.
NOTE:Met at the conference\, 2024
`, vcardText(id)))}
}

func vcard4(id string) adapters.Object {
	return adapters.Object{ID: id, Card: card(fmt.Sprintf(`VERSION:4.0
UID:%s
FN:Jürgen Müller
N:Müller;Jürgen;;Dr.;
EMAIL;TYPE=work;PREF=1:j.mueller@example.de
TEL;VALUE=uri;TYPE=cell:tel:+49-30-1234567
BDAY:19800102
KIND:individual
`, vcardText(id)))}
}

func simpleCard(id string, rev int) adapters.Object {
	return adapters.Object{ID: id, Card: card(fmt.Sprintf(`VERSION:3.0
UID:%s
FN:Revision %d
N:Revision;%d;;;
`, vcardText(id), rev, rev))}
}

func hostileCard(id string) adapters.Object {
	return adapters.Object{ID: id, Card: card(fmt.Sprintf(`VERSION:4.0
UID:%s
FN:%s
NOTE:%s
`, vcardText(id), vcardText(hostileText), vcardText(hostileText+"\nsecond line")))}
}

// vcardText escapes s the way go-vcard's encoder does.
func vcardText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, ",", `\,`).Replace(s)
}
