package ews

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
	"github.com/davgate/davgate/adapters/icalfix"
)

// This file is free of I/O: EWS items in, iCalendar out, and back.

// Extended properties davgate keeps on items (PublicStrings namespace).
var (
	propID = api.ExtendedFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "davgate-id", PropertyType: "String"}
	// propICal holds the client's iCalendar as PUT.
	propICal = api.ExtendedFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "davgate-ical", PropertyType: "String"}
	// propFP fingerprints Exchange's typed properties right after a
	// davgate write; propICal is served only while it still matches.
	propFP = api.ExtendedFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "davgate-fp", PropertyType: "String"}
)

// decodeMime returns the bytes of a base64 MimeContent.
func decodeMime(m *api.MimeContent) ([]byte, error) {
	if m == nil || strings.TrimSpace(m.Value) == "" {
		return nil, fmt.Errorf("ews: item has no MimeContent: %w", adapters.ErrInvalid)
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m.Value), ""))
	if err != nil {
		return nil, fmt.Errorf("ews: MimeContent: %w: %v", adapters.ErrInvalid, err)
	}
	return b, nil
}

// encodeMime returns a MimeContent holding data.
func encodeMime(data []byte) *api.MimeContent {
	return &api.MimeContent{CharacterSet: "UTF-8", Value: base64.StdEncoding.EncodeToString(data)}
}

// calendarFromItem builds the CalDAV object of a calendar item from its
// MimeContent (Exchange's own iCalendar export: master plus one VEVENT per
// modified occurrence) and the typed properties MimeContent lacks or gets
// wrong:
//   - METHOD is dropped (CalDAV resources carry none);
//   - Windows TZIDs become IANA names (CLDR), VTIMEZONEs renamed along;
//   - TRANSP:TRANSPARENT from X-MICROSOFT-CDO-BUSYSTATUS:FREE (or, on the
//     master, LegacyFreeBusyStatus Free) when TRANSP is absent;
//   - UID from calendar:UID when the export has none;
//   - ORGANIZER and ATTENDEE from Organizer/Required/OptionalAttendees
//     when the export has none (Exchange omits them);
func calendarFromItem(it *api.CalendarItem, mime []byte) (*ical.Calendar, error) {
	cals, _, err := icalfix.DecodeBytes(mime)
	if err != nil {
		return nil, fmt.Errorf("ews: MimeContent: %w", err)
	}
	cal := cals[0]
	cal.Props.Del(ical.PropMethod)
	if it.UID != "" { // before Normalize, which would derive one
		for _, c := range cal.Children {
			if c.Name == ical.CompEvent && c.Props.Get(ical.PropUID) == nil {
				c.Props.SetText(ical.PropUID, it.UID)
			}
		}
	}
	var modified time.Time
	if it.LastModifiedTime != "" {
		modified, _ = api.ParseTime(it.LastModifiedTime)
	}
	if _, err := icalfix.Normalize(cal, icalfix.Options{Stamp: modified, ProdID: "-//davgate//ews//EN"}); err != nil {
		return nil, err
	}
	var master *ical.Component
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		if c.Props.Get(ical.PropRecurrenceID) == nil && master == nil {
			master = c
		}
		// FREE → TRANSPARENT; busy states are OPAQUE, the default,
		// so nothing is added for them.
		if c.Props.Get(ical.PropTransparency) == nil {
			busy := ""
			if p := c.Props.Get("X-MICROSOFT-CDO-BUSYSTATUS"); p != nil {
				busy = strings.ToUpper(p.Value)
			} else if c == master {
				busy = strings.ToUpper(it.LegacyFreeBusyStatus)
			}
			if busy == "FREE" {
				c.Props.SetText(ical.PropTransparency, "TRANSPARENT")
			}
		}
	}
	if master != nil {
		if master.Props.Get(ical.PropOrganizer) == nil && it.Organizer != nil && it.Organizer.Mailbox.EmailAddress != "" &&
			it.RequiredAttendees != nil {
			master.Props.Add(person(ical.PropOrganizer, it.Organizer.Mailbox, "", ""))
		}
		if len(master.Props.Values(ical.PropAttendee)) == 0 {
			req, opt := it.AllAttendees()
			for _, at := range req {
				master.Props.Add(person(ical.PropAttendee, at.Mailbox, "REQ-PARTICIPANT", at.ResponseType))
			}
			for _, at := range opt {
				master.Props.Add(person(ical.PropAttendee, at.Mailbox, "OPT-PARTICIPANT", at.ResponseType))
			}
		}
	}
	return cal, nil
}

func person(name string, m api.Mailbox, role, response string) *ical.Prop {
	p := ical.NewProp(name)
	p.Value = "mailto:" + m.EmailAddress
	if m.Name != "" {
		p.Params.Set(ical.ParamCommonName, m.Name)
	}
	if role != "" {
		p.Params.Set(ical.ParamRole, role)
	}
	switch response {
	case "Accept":
		p.Params.Set(ical.ParamParticipationStatus, "ACCEPTED")
	case "Decline":
		p.Params.Set(ical.ParamParticipationStatus, "DECLINED")
	case "Tentative":
		p.Params.Set(ical.ParamParticipationStatus, "TENTATIVE")
	case "NoResponseReceived", "Unknown":
		p.Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
	}
	return p
}

// fingerprint hashes the typed properties a change made elsewhere
// (Outlook, OWA, a phone) would touch. It is computed from Exchange's
// answer after a davgate write and again on each read: equal means the
// item is as davgate left it, so the stored client iCalendar still holds.
func fingerprint(it *api.CalendarItem) string {
	h := sha256.New()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	bl := func(p *bool) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	}
	w(str(it.Subject))
	w(normTime(it.Start))
	w(normTime(it.End))
	w(bl(it.IsAllDayEvent))
	w(str(it.Location))
	w(it.LegacyFreeBusyStatus)
	w(it.Sensitivity)
	if it.Body != nil {
		w(strings.TrimSpace(it.Body.Value))
	}
	if it.Recurrence != nil {
		b, _ := xml.Marshal(it.Recurrence)
		w(string(b))
	}
	for _, o := range it.Modified() {
		w(normTime(o.Start) + normTime(o.End) + normTime(o.OriginalStart))
	}
	for _, o := range it.Deleted() {
		w(normTime(o.Start))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

func normTime(s string) string {
	if t, err := api.ParseTime(s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return s
}

// versionOf derives an object's Version: the master's ChangeKey, combined
// with the ChangeKeys of its modified occurrences when there are any.
func versionOf(it *api.CalendarItem) string {
	if it.ItemID == nil {
		return ""
	}
	if len(it.Modified()) == 0 {
		return it.ItemID.ChangeKey
	}
	h := sha256.New()
	for _, o := range it.Modified() {
		h.Write([]byte(o.ItemID.ChangeKey + "\x00"))
	}
	return it.ItemID.ChangeKey + "." + hex.EncodeToString(h.Sum(nil)[:6])
}

// storedCalendar returns the client's iCalendar kept on the item when it
// is still valid (the fingerprint matches), else nil.
func storedCalendar(it *api.CalendarItem) []byte {
	ics, ok := it.Extended(propICal)
	if !ok || ics == "" {
		return nil
	}
	fp, ok := it.Extended(propFP)
	if !ok || fp != fingerprint(it) {
		return nil
	}
	return []byte(ics)
}

// icalForCreate prepares the client's calendar for CreateItem: the bytes
// Exchange imports. METHOD is removed (Exchange would treat REQUEST as a
// meeting request).
func icalForCreate(cal *ical.Calendar) ([]byte, error) {
	c := &ical.Calendar{Component: icalfix.Clone(cal.Component)}
	c.Props.Del(ical.PropMethod)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("ews: encode iCalendar: %w: %v", adapters.ErrInvalid, err)
	}
	return buf.Bytes(), nil
}

// eventFields returns the typed fields of the master VEVENT for an
// UpdateItem: Subject, Body, Start, End, IsAllDayEvent, Location,
// LegacyFreeBusyStatus, and Recurrence when the RRULE maps onto EWS
// patterns (nil otherwise, with ok=false when an RRULE exists).
type eventFields struct {
	Subject, Description, Location string
	Start, End                     time.Time
	AllDay                         bool
	FreeBusy                       string
	Recurrence                     *api.Recurrence
	RecurrenceOK                   bool
	HasRRule                       bool
}

func masterOf(cal *ical.Calendar) *ical.Component {
	var first *ical.Component
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		if first == nil {
			first = c
		}
		if c.Props.Get(ical.PropRecurrenceID) == nil {
			return c
		}
	}
	return first
}

func fieldsOf(cal *ical.Calendar) (eventFields, error) {
	ev := masterOf(cal)
	if ev == nil {
		return eventFields{}, fmt.Errorf("ews: no VEVENT: %w", adapters.ErrUnsupported)
	}
	return fieldsOfEvent(icalfix.NewResolver(cal), ev)
}

// propTime parses a DATE or DATE-TIME value of p (one of a list when p is
// multi-valued): DATEs are midnight UTC, TZIDs go through resolve, and an
// unknown TZID or a floating time is taken as UTC.
func propTime(resolve icalfix.Resolver, p *ical.Prop, value string) (time.Time, bool, error) {
	if p.ValueType() == ical.ValueDate || (len(value) == 8 && !strings.Contains(value, "T")) {
		t, err := time.ParseInLocation("20060102", value, time.UTC)
		return t, true, err
	}
	var loc *time.Location = time.UTC
	if tz := p.Params.Get(ical.ParamTimezoneID); tz != "" {
		l, err := resolve(tz)
		if err == nil {
			loc = l
		}
	}
	t, err := icalfix.ParseDateTime(value, "", loc)
	return t, false, err
}

// fieldsOfEvent returns the typed fields of one VEVENT (the master or an
// override).
func fieldsOfEvent(resolve icalfix.Resolver, ev *ical.Component) (eventFields, error) {
	var f eventFields
	text := func(name string) string {
		if p := ev.Props.Get(name); p != nil {
			return p.Value
		}
		return ""
	}
	f.Subject, f.Description, f.Location = text(ical.PropSummary), text(ical.PropDescription), text(ical.PropLocation)
	ts := func(name string) (time.Time, bool, error) {
		p := ev.Props.Get(name)
		if p == nil {
			return time.Time{}, false, nil
		}
		return propTime(resolve, p, p.Value)
	}
	var err error
	var endDate bool
	if f.Start, f.AllDay, err = ts(ical.PropDateTimeStart); err != nil || f.Start.IsZero() {
		return f, fmt.Errorf("ews: DTSTART: %w", adapters.ErrInvalid)
	}
	if f.End, endDate, err = ts(ical.PropDateTimeEnd); err != nil {
		return f, fmt.Errorf("ews: DTEND: %w", adapters.ErrInvalid)
	}
	_ = endDate
	if f.End.IsZero() {
		if d, err := ev.Props.Get(ical.PropDuration).Duration(); ev.Props.Get(ical.PropDuration) != nil && err == nil {
			f.End = f.Start.Add(d)
		} else if f.AllDay {
			f.End = f.Start.AddDate(0, 0, 1)
		} else {
			f.End = f.Start
		}
	}
	switch strings.ToUpper(text(ical.PropTransparency)) {
	case "TRANSPARENT":
		f.FreeBusy = "Free"
	default:
		f.FreeBusy = "Busy"
	}
	if p := ev.Props.Get(ical.PropRecurrenceRule); p != nil {
		f.HasRRule = true
		f.Recurrence, f.RecurrenceOK = recurrenceFromRRule(p.Value, f.Start)
	}
	return f, nil
}

var icalDays = map[string]string{"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
var ordinals = map[string]string{"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "-1": "Last"}

// recurrenceFromRRule maps the RRULEs EWS can express (DAILY, WEEKLY with
// BYDAY, MONTHLY by day of month or one ordinal weekday, YEARLY likewise;
// INTERVAL; COUNT or UNTIL) onto a Recurrence; ok is false otherwise.
func recurrenceFromRRule(rule string, start time.Time) (*api.Recurrence, bool) {
	parts := map[string]string{}
	for _, kv := range strings.Split(rule, ";") {
		k, v, _ := strings.Cut(kv, "=")
		parts[strings.ToUpper(k)] = strings.ToUpper(v)
	}
	interval := 1
	if v := parts["INTERVAL"]; v != "" {
		if _, err := fmt.Sscanf(v, "%d", &interval); err != nil || interval < 1 {
			return nil, false
		}
	}
	for k := range parts {
		switch k {
		case "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST":
		default:
			return nil, false
		}
	}
	weekday := func(d string) (string, bool) { n, ok := icalDays[d]; return n, ok }
	r := &api.Recurrence{}
	switch parts["FREQ"] {
	case "DAILY":
		if parts["BYDAY"] != "" || parts["BYMONTHDAY"] != "" || parts["BYMONTH"] != "" {
			return nil, false
		}
		r.Daily = &api.Daily{Interval: interval}
	case "WEEKLY":
		if parts["BYMONTHDAY"] != "" || parts["BYMONTH"] != "" {
			return nil, false
		}
		days := []string{start.Weekday().String()}
		if v := parts["BYDAY"]; v != "" {
			days = nil
			for _, d := range strings.Split(v, ",") {
				n, ok := weekday(d)
				if !ok {
					return nil, false
				}
				days = append(days, n)
			}
		}
		r.Weekly = &api.Weekly{Interval: interval, DaysOfWeek: strings.Join(days, " ")}
		if w, ok := weekday(parts["WKST"]); ok {
			r.Weekly.FirstDayOfWeek = w
		}
	case "MONTHLY", "YEARLY":
		if parts["FREQ"] == "YEARLY" && interval != 1 {
			return nil, false
		}
		month := start.Month().String()
		if v := parts["BYMONTH"]; v != "" {
			var m int
			if _, err := fmt.Sscanf(v, "%d", &m); err != nil || m < 1 || m > 12 || parts["FREQ"] == "MONTHLY" {
				return nil, false
			}
			month = time.Month(m).String()
		}
		switch {
		case parts["BYDAY"] != "":
			d := parts["BYDAY"]
			if len(d) < 3 || strings.Contains(d, ",") || parts["BYMONTHDAY"] != "" {
				return nil, false
			}
			ord, ok1 := ordinals[strings.TrimPrefix(d[:len(d)-2], "+")]
			day, ok2 := weekday(d[len(d)-2:])
			if !ok1 || !ok2 {
				return nil, false
			}
			if parts["FREQ"] == "MONTHLY" {
				r.RelativeMonthly = &api.RelativeMonthly{Interval: interval, DaysOfWeek: day, DayOfWeekIndex: ord}
			} else {
				r.RelativeYearly = &api.RelativeYearly{DaysOfWeek: day, DayOfWeekIndex: ord, Month: month}
			}
		default:
			dom := start.Day()
			if v := parts["BYMONTHDAY"]; v != "" {
				if _, err := fmt.Sscanf(v, "%d", &dom); err != nil || dom < 1 || dom > 31 {
					return nil, false
				}
			}
			if parts["FREQ"] == "MONTHLY" {
				r.AbsoluteMonthly = &api.AbsoluteMonthly{Interval: interval, DayOfMonth: dom}
			} else {
				r.AbsoluteYearly = &api.AbsoluteYearly{DayOfMonth: dom, Month: month}
			}
		}
	default:
		return nil, false
	}
	startDate := start.Format("2006-01-02")
	switch {
	case parts["COUNT"] != "":
		var n int
		if _, err := fmt.Sscanf(parts["COUNT"], "%d", &n); err != nil || n < 1 {
			return nil, false
		}
		r.Numbered = &api.RangeNumbered{StartDate: startDate, NumberOfOccurrences: n}
	case parts["UNTIL"] != "":
		u := parts["UNTIL"]
		t, err := time.Parse("20060102", u[:min(8, len(u))])
		if err != nil {
			return nil, false
		}
		r.EndDate = &api.RangeEndDate{StartDate: startDate, EndDate: t.Format("2006-01-02")}
	default:
		r.NoEnd = &api.RangeNoEnd{StartDate: startDate}
	}
	return r, true
}

// updatesFor lists the UpdateItem changes that bring an item's typed
// properties in line with cal (the master VEVENT), plus the stored
// iCalendar. Overrides (RECURRENCE-ID) and EXDATEs are written to their
// occurrences separately (planOccurrences).
func updatesFor(cal *ical.Calendar, stored []byte) ([]api.Update, error) {
	f, err := fieldsOf(cal)
	if err != nil {
		return nil, err
	}
	var u []api.Update
	set := func(uri string, v *api.CalendarItem) { u = append(u, api.SetField(uri, v)) }
	s := f.Subject
	set("item:Subject", &api.CalendarItem{Subject: &s})
	if f.Description != "" {
		set("item:Body", &api.CalendarItem{Body: &api.BodyContent{BodyType: "Text", Value: f.Description}})
	} else {
		u = append(u, api.DeleteField("item:Body"))
	}
	// Recurrence must be cleared before moving Start past the old
	// pattern; EWS applies updates in order.
	if !f.HasRRule {
		u = append(u, api.DeleteField("calendar:Recurrence"))
	}
	allDay := f.AllDay
	set("calendar:IsAllDayEvent", &api.CalendarItem{IsAllDayEvent: &allDay})
	set("calendar:Start", &api.CalendarItem{Start: api.FormatTime(f.Start)})
	set("calendar:End", &api.CalendarItem{End: api.FormatTime(f.End)})
	if f.Location != "" {
		l := f.Location
		set("calendar:Location", &api.CalendarItem{Location: &l})
	} else {
		u = append(u, api.DeleteField("calendar:Location"))
	}
	set("calendar:LegacyFreeBusyStatus", &api.CalendarItem{LegacyFreeBusyStatus: f.FreeBusy})
	if f.HasRRule && f.RecurrenceOK {
		set("calendar:Recurrence", &api.CalendarItem{Recurrence: f.Recurrence})
	}
	u = append(u, api.SetExtended(propICal, string(stored)))
	return u, nil
}

// isCalendarData reports whether cal holds an event (the only component
// EWS calendar folders take).
func isCalendarData(cal *ical.Calendar) bool {
	return slices.ContainsFunc(cal.Children, func(c *ical.Component) bool { return c.Name == ical.CompEvent })
}
