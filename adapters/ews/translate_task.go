package ews

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
	"github.com/davgate/davgate/adapters/icalfix"
)

// This file is free of I/O: typed tasks in, VTODOs out, and back. The
// client's iCalendar is kept in davgate-ical as for events.

// propStatus carries the EWS task status iCalendar has no value for.
const propStatus = "X-DAVGATE-EWS-STATUS"

// statusToICal maps EWS task statuses to STATUS (+ propStatus).
var statusToICal = map[string][2]string{
	"NotStarted":      {"NEEDS-ACTION", ""},
	"InProgress":      {"IN-PROCESS", ""},
	"Completed":       {"COMPLETED", ""},
	"WaitingOnOthers": {"IN-PROCESS", "WaitingOnOthers"},
	"Deferred":        {"NEEDS-ACTION", "Deferred"},
}

func taskDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := api.ParseTime(s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// setTaskTime sets a DATE when t is midnight UTC (Outlook's due and start
// dates are days), else a UTC DATE-TIME; COMPLETED is always a DATE-TIME.
func setTaskTime(c *ical.Component, name string, t time.Time) {
	p := ical.NewProp(name)
	if name != ical.PropCompleted && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		p.SetDate(t)
	} else {
		p.SetDateTime(t.UTC())
	}
	c.Props.Set(p)
}

// calendarFromTask builds the VTODO of a typed task.
func calendarFromTask(t *api.Task, uid string) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//davgate//ews//EN")
	td := ical.NewComponent(ical.CompToDo)
	td.Props.SetText(ical.PropUID, uid)
	stamp, ok := taskDate(t.LastModifiedTime)
	if !ok {
		stamp = time.Unix(0, 0).UTC()
	}
	td.Props.SetDateTime(ical.PropDateTimeStamp, stamp)
	if t.Subject != "" {
		td.Props.SetText(ical.PropSummary, t.Subject)
	}
	if t.Body != nil && strings.TrimSpace(t.Body.Value) != "" {
		td.Props.SetText(ical.PropDescription, t.Body.Value)
	}
	st := statusToICal[cmpOr(t.Status, "NotStarted")]
	if st[0] != "" {
		td.Props.SetText(ical.PropStatus, st[0])
	}
	if st[1] != "" {
		setRaw(td, propStatus, st[1])
	}
	if p, err := strconv.ParseFloat(t.PercentComplete, 64); err == nil && p > 0 {
		setRaw(td, ical.PropPercentComplete, strconv.Itoa(int(p)))
	}
	switch t.Importance {
	case "High":
		setRaw(td, ical.PropPriority, "1")
	case "Low":
		setRaw(td, ical.PropPriority, "9")
	default:
		setRaw(td, ical.PropPriority, "5")
	}
	if d, ok := taskDate(t.StartDate); ok {
		setTaskTime(td, ical.PropDateTimeStart, d)
	}
	if d, ok := taskDate(t.DueDate); ok {
		setTaskTime(td, ical.PropDue, d)
	}
	if d, ok := taskDate(t.CompleteDate); ok {
		setTaskTime(td, ical.PropCompleted, d)
	}
	if t.Categories != nil && len(*t.Categories) > 0 {
		td.Props.SetText(ical.PropCategories, strings.Join(*t.Categories, ","))
	}
	cal.Children = append(cal.Children, td)
	return cal
}

// todoOf returns cal's first VTODO, or nil.
func todoOf(cal *ical.Calendar) *ical.Component {
	for _, c := range cal.Children {
		if c.Name == ical.CompToDo {
			return c
		}
	}
	return nil
}

// taskFromCalendar maps a VTODO onto typed task fields.
func taskFromCalendar(cal *ical.Calendar) (api.Task, error) {
	var t api.Task
	td := todoOf(cal)
	if td == nil {
		return t, fmt.Errorf("ews: tasks folders hold VTODOs only: %w", adapters.ErrUnsupported)
	}
	text := func(name string) string {
		if p := td.Props.Get(name); p != nil {
			if v, err := p.Text(); err == nil {
				return v
			}
			return p.Value
		}
		return ""
	}
	t.Subject = text(ical.PropSummary)
	if d := text(ical.PropDescription); d != "" {
		t.Body = &api.BodyContent{BodyType: "Text", Value: d}
	}
	switch strings.ToUpper(text(ical.PropStatus)) {
	case "IN-PROCESS":
		t.Status = "InProgress"
		if text(propStatus) == "WaitingOnOthers" {
			t.Status = "WaitingOnOthers"
		}
	case "COMPLETED":
		t.Status = "Completed"
	case "CANCELLED":
		t.Status = "Deferred"
	default:
		t.Status = "NotStarted"
		if text(propStatus) == "Deferred" {
			t.Status = "Deferred"
		}
	}
	pc := 0
	if v := text(ical.PropPercentComplete); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 100 {
			pc = n
		}
	}
	if t.Status == "Completed" {
		pc = 100
	}
	t.PercentComplete = strconv.Itoa(pc)
	t.Importance = "Normal"
	if n, err := strconv.Atoi(text(ical.PropPriority)); err == nil && n > 0 {
		switch {
		case n < 5:
			t.Importance = "High"
		case n > 5:
			t.Importance = "Low"
		}
	}
	resolve := icalfix.NewResolver(cal)
	tm := func(name string) (string, error) {
		p := td.Props.Get(name)
		if p == nil {
			return "", nil
		}
		if p.ValueType() == ical.ValueDate {
			d, err := time.ParseInLocation("20060102", p.Value, time.UTC)
			return api.FormatTime(d), err
		}
		loc := time.UTC
		if tz := p.Params.Get(ical.ParamTimezoneID); tz != "" {
			if l, err := resolve(tz); err == nil {
				loc = l
			}
		}
		d, err := icalfix.ParseDateTime(p.Value, "", loc)
		if err != nil {
			return "", fmt.Errorf("ews: %s: %w", name, adapters.ErrInvalid)
		}
		return api.FormatTime(d), nil
	}
	var err error
	if t.StartDate, err = tm(ical.PropDateTimeStart); err != nil {
		return t, err
	}
	if t.DueDate, err = tm(ical.PropDue); err != nil {
		return t, err
	}
	if t.CompleteDate, err = tm(ical.PropCompleted); err != nil {
		return t, err
	}
	var cats []string
	for _, p := range td.Props.Values(ical.PropCategories) {
		for _, c := range strings.Split(p.Value, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cats = append(cats, c)
			}
		}
	}
	if len(cats) > 0 {
		t.Categories = &cats
	}
	return t, nil
}

// taskFingerprint hashes a task's typed properties; see fingerprint.
func taskFingerprint(t *api.Task) string {
	h := sha256.New()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w(t.Subject)
	if t.Body != nil {
		w(strings.TrimSpace(t.Body.Value))
	}
	w(cmpOr(t.Importance, "Normal"))
	w(cmpOr(t.Status, "NotStarted"))
	w(cmpOr(t.PercentComplete, "0"))
	w(normTime(t.StartDate))
	w(normTime(t.DueDate))
	w(normTime(t.CompleteDate))
	if t.Categories != nil {
		w(strings.Join(*t.Categories, ","))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// taskUpdates lists the changes that turn cur into want, one field each.
func taskUpdates(cur, want *api.Task) []api.Update {
	var u []api.Update
	set := func(uri string, t *api.Task) {
		u = append(u, api.Update{XMLName: api.SetField("", nil).XMLName, FieldURI: &api.FieldURI{FieldURI: uri}, Task: t})
	}
	str := func(uri, c, w string, t *api.Task) {
		switch {
		case c == w:
		case w == "":
			u = append(u, api.DeleteField(uri))
		default:
			set(uri, t)
		}
	}
	str("item:Subject", cur.Subject, want.Subject, &api.Task{Subject: want.Subject})
	cb, wb := "", ""
	if cur.Body != nil {
		cb = strings.TrimSpace(cur.Body.Value)
	}
	if want.Body != nil {
		wb = want.Body.Value
	}
	if cb != strings.TrimSpace(wb) {
		if wb == "" {
			u = append(u, api.DeleteField("item:Body"))
		} else {
			set("item:Body", &api.Task{Body: want.Body})
		}
	}
	if cmpOr(cur.Importance, "Normal") != want.Importance {
		set("item:Importance", &api.Task{Importance: want.Importance})
	}
	if cmpOr(cur.PercentComplete, "0") != want.PercentComplete {
		set("task:PercentComplete", &api.Task{PercentComplete: want.PercentComplete})
	}
	if cmpOr(cur.Status, "NotStarted") != want.Status {
		set("task:Status", &api.Task{Status: want.Status})
	}
	str("task:StartDate", normTime(cur.StartDate), normTime(want.StartDate), &api.Task{StartDate: want.StartDate})
	str("task:DueDate", normTime(cur.DueDate), normTime(want.DueDate), &api.Task{DueDate: want.DueDate})
	str("task:CompleteDate", normTime(cur.CompleteDate), normTime(want.CompleteDate), &api.Task{CompleteDate: want.CompleteDate})
	var cc, wc []string
	if cur.Categories != nil {
		cc = *cur.Categories
	}
	if want.Categories != nil {
		wc = *want.Categories
	}
	if !slices.Equal(cc, wc) {
		if len(wc) == 0 {
			u = append(u, api.DeleteField("item:Categories"))
		} else {
			set("item:Categories", &api.Task{Categories: want.Categories})
		}
	}
	return u
}

// setRaw sets a property whose value needs no escaping and no VALUE
// parameter (integers, X- tokens).
func setRaw(c *ical.Component, name, v string) {
	p := ical.NewProp(name)
	p.Value = v
	c.Props.Set(p)
}
