// Package icalfix repairs real-world iCalendar data so that go-ical can
// encode it and the matcher can evaluate it: safe decoding (BOM, Latin-1,
// garbage lines, panics), TZID resolution (IANA, Windows/CLDR, Outlook
// display names, VTIMEZONE), missing PRODID/VERSION/DTSTAMP/UID,
// multi-value EXDATE/RDATE and values the encoder refuses.
//
// The package does no I/O.
package icalfix

//go:generate go run gen_windowszones.go -in /usr/share/unicode/cldr/common/supplemental/windowsZones.xml
