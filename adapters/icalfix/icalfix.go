// Package icalfix repairs real-world iCalendar data so that go-ical can
// encode it and the matcher can evaluate it: safe decoding (BOM, panics),
// TZID resolution (IANA, Windows/CLDR, Outlook display names), missing
// PRODID/VERSION/DTSTAMP/UID, multi-value EXDATE/RDATE.
package icalfix
