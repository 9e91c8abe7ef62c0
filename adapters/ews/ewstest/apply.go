package ewstest

import (
	"bytes"
	"encoding/base64"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters/icalfix"
)

// applyError carries an EWS ResponseCode.
type applyError string

func (e applyError) Error() string { return string(e) }

// parseICS decodes MimeContent; Exchange answers undecodable MIME with
// ErrorMimeContentConversionFailed.
func parseICS(data []byte) (*ical.Calendar, error) {
	cals, _, err := icalfix.DecodeBytes(data)
	if err != nil || len(cals) == 0 {
		return nil, applyError("ErrorMimeContentConversionFailed")
	}
	if _, err := deriveCal(cals[0]); err != nil {
		return nil, applyError("ErrorMimeContentConversionFailed")
	}
	return cals[0], nil
}

func (it *item) ensureMaps() {
	if it.props == nil {
		it.props = map[string]string{}
	}
	if it.idx == nil {
		it.idx = map[string]string{}
	}
	if it.multi == nil {
		it.multi = map[string][]string{}
	}
}

// apply sets the fields present in el (a t:CalendarItem / t:Contact /
// t:Task / t:Item element) on it; appendMode appends to list fields
// (AppendToItemField). It returns the field URIs touched.
func (c *requestCtx) apply(it *item, el *node, appendMode bool) ([]string, error) {
	it.ensureMaps()
	var touched []string
	var allDay *bool
	var startT, endT *time.Time
	var master *ical.Component
	if it.cal != nil {
		if ci := it.info(); ci != nil {
			master = ci.master
		}
		if it.editComp != nil {
			master = it.editComp
		}
	}
	loc := c.floating()
	for _, k := range el.Kids {
		name := k.Local
		v := k.text()
		switch {
		case name == "MimeContent":
			continue
		case name == "ExtendedProperty":
			uri := k.kid("ExtendedFieldURI")
			if uri == nil {
				return nil, applyError("ErrorInvalidExtendedProperty")
			}
			// Exchange keeps extended values verbatim (no trimming).
			vals := []string{rawText(k.kid("Value"))}
			if vs := k.kid("Values"); vs != nil {
				vals = nil
				for _, x := range vs.kidsNamed("Value") {
					vals = append(vals, rawText(x))
				}
			}
			c.setExt(it, master, uri, vals)
			touched = append(touched, "ext:"+extKey(uri))
			continue
		}
		uri := fieldURIFor(it.kind, name)
		touched = append(touched, uri)
		if master != nil {
			switch name {
			case "Subject":
				setProp(master, ical.PropSummary, v)
			case "Body":
				if appendMode {
					v = propText(master, ical.PropDescription) + v
				}
				setProp(master, ical.PropDescription, v)
			case "Location":
				setProp(master, ical.PropLocation, v)
			case "Sensitivity":
				setProp(master, ical.PropClass, map[string]string{"Private": "PRIVATE", "Confidential": "CONFIDENTIAL", "Personal": "PRIVATE"}[v])
			case "Importance":
				setProp(master, "PRIORITY", map[string]string{"High": "1", "Low": "9"}[v])
			case "Categories":
				var cats []string
				if appendMode {
					cats = it.categories()
				}
				for _, s := range k.kidsNamed("String") {
					cats = append(cats, s.text())
				}
				master.Props.Del(ical.PropCategories)
				if len(cats) > 0 {
					setProp(master, ical.PropCategories, strings.Join(cats, ","))
				}
			case "Start", "End":
				t, err := parseEWSTime(v, loc)
				if err != nil {
					return nil, applyError("ErrorInvalidValueForProperty")
				}
				if name == "Start" {
					startT = &t
				} else {
					endT = &t
				}
			case "IsAllDayEvent":
				b := v == "true" || v == "1"
				allDay = &b
			case "LegacyFreeBusyStatus":
				setProp(master, "X-MICROSOFT-CDO-BUSYSTATUS", strings.ToUpper(v))
				if v == "Free" {
					setProp(master, ical.PropTransparency, "TRANSPARENT")
				} else {
					setProp(master, ical.PropTransparency, "OPAQUE")
				}
			case "UID":
				setProp(master, ical.PropUID, v)
			case "Organizer":
				mbx := k.at("Mailbox")
				p := ical.NewProp(ical.PropOrganizer)
				p.Value = "mailto:" + mbx.kid("EmailAddress").text()
				if n := mbx.kid("Name").text(); n != "" {
					p.Params.Set(ical.ParamCommonName, n)
				}
				master.Props.Set(p)
			case "RequiredAttendees", "OptionalAttendees", "Resources":
				setAttendees(master, name, k, appendMode)
			case "Recurrence":
				rr, err := rruleFromEWS(k)
				if err != nil {
					return nil, applyError("ErrorInvalidRecurrence")
				}
				setProp(master, ical.PropRecurrenceRule, rr)
			case "ReminderIsSet", "ReminderMinutesBeforeStart":
				it.props["item:"+name] = v
			case "StartTimeZone", "EndTimeZone", "MeetingTimeZone", "StartTimeZoneId", "EndTimeZoneId", "ItemClass":
				// times are stored in UTC; zone ids only steer parsing
			case "IsResponseRequested", "AllowNewTimeProposal", "IsOnlineMeeting", "ConferenceType", "Culture":
			default:
				it.props[uri] = v
			}
			continue
		}
		c.applyTyped(it, k, uri, appendMode)
	}
	if master != nil {
		ci := it.info()
		if it.editComp != nil {
			ci = nil
		}
		ad := ci != nil && ci.allDay
		if allDay != nil {
			ad = *allDay
		}
		if startT == nil && allDay != nil && ci != nil {
			startT = &ci.start
		}
		if endT == nil && allDay != nil && ci != nil {
			endT = &ci.end
		}
		if startT != nil {
			setTimeProp(master, ical.PropDateTimeStart, dateIn(*startT, ad, loc), ad)
		}
		if endT != nil {
			master.Props.Del(ical.PropDuration)
			setTimeProp(master, ical.PropDateTimeEnd, dateIn(*endT, ad, loc), ad)
		}
	}
	return touched, nil
}

// dateIn gives the calendar date of t in loc (for all-day values).
func dateIn(t time.Time, date bool, loc *time.Location) time.Time {
	if !date {
		return t
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

func setAttendees(master *ical.Component, name string, k *node, appendMode bool) {
	role := map[string]string{"RequiredAttendees": "REQ-PARTICIPANT", "OptionalAttendees": "OPT-PARTICIPANT", "Resources": "NON-PARTICIPANT"}[name]
	if !appendMode {
		var keep []ical.Prop
		for _, p := range master.Props.Values(ical.PropAttendee) {
			r := strings.ToUpper(p.Params.Get(ical.ParamRole))
			res := strings.EqualFold(p.Params.Get(ical.ParamCalendarUserType), "RESOURCE")
			mine := (name == "Resources" && res) || (!res && (r == role || (r == "" && role == "REQ-PARTICIPANT")))
			if !mine {
				keep = append(keep, p)
			}
		}
		master.Props[ical.PropAttendee] = keep
	}
	for _, a := range k.kidsNamed("Attendee") {
		mbx := a.kid("Mailbox")
		p := ical.NewProp(ical.PropAttendee)
		p.Value = "mailto:" + mbx.kid("EmailAddress").text()
		if n := mbx.kid("Name").text(); n != "" {
			p.Params.Set(ical.ParamCommonName, n)
		}
		p.Params.Set(ical.ParamRole, role)
		if name == "Resources" {
			p.Params.Set(ical.ParamCalendarUserType, "RESOURCE")
		}
		p.Params.Set(ical.ParamParticipationStatus, partstatOf(a.kid("ResponseType").text()))
		master.Props.Add(p)
	}
	if len(master.Props[ical.PropAttendee]) == 0 {
		master.Props.Del(ical.PropAttendee)
	}
}

// fieldURIFor maps an element name to its FieldURI.
func fieldURIFor(k kind, name string) string {
	switch name {
	case "Subject", "Body", "Sensitivity", "Importance", "Categories", "ReminderIsSet", "ReminderMinutesBeforeStart", "ItemClass", "Culture":
		return "item:" + name
	}
	switch k {
	case kindCalendar:
		return "calendar:" + name
	case kindTask:
		return "task:" + name
	case kindContact, kindDistList:
		if name == "Members" {
			return "distributionlist:Members"
		}
		return "contacts:" + name
	}
	return "message:" + name
}

// applyTyped stores a non-calendar element.
func (c *requestCtx) applyTyped(it *item, k *node, uri string, appendMode bool) {
	v := k.text()
	switch k.Local {
	case "Body":
		if bt := k.attr("BodyType"); bt != "" {
			it.props["item:Body@BodyType"] = bt
		}
		if appendMode {
			v = it.props["item:Body"] + v
		}
		it.props["item:Body"] = v
	case "Categories":
		if !appendMode {
			it.multi["item:Categories"] = nil
		}
		for _, s := range k.kidsNamed("String") {
			it.multi["item:Categories"] = append(it.multi["item:Categories"], s.text())
		}
	case "EmailAddresses", "PhoneNumbers", "ImAddresses":
		base := map[string]string{"EmailAddresses": "contacts:EmailAddress", "PhoneNumbers": "contacts:PhoneNumber", "ImAddresses": "contacts:ImAddress"}[k.Local]
		for _, e := range k.kidsNamed("Entry") {
			it.idx[base+"/"+e.attr("Key")] = e.text()
		}
	case "PhysicalAddresses":
		for _, e := range k.kidsNamed("Entry") {
			for _, part := range e.Kids {
				it.idx["contacts:PhysicalAddress:"+part.Local+"/"+e.attr("Key")] = part.text()
			}
		}
	case "CompleteName":
		for _, part := range k.Kids {
			m := map[string]string{"FirstName": "GivenName", "LastName": "Surname", "FullName": "DisplayName", "Suffix": "Generation"}
			n := part.Local
			if x, ok := m[n]; ok {
				n = x
			}
			if it.props["contacts:"+n] == "" {
				it.props["contacts:"+n] = part.text()
			}
		}
	case "Members":
		if !appendMode {
			it.members = nil
		}
		for _, m := range k.kidsNamed("Member") {
			mbx := m.kid("Mailbox")
			it.members = append(it.members, member{Name: mbx.kid("Name").text(), Email: mbx.kid("EmailAddress").text()})
		}
	case "Status":
		it.props[uri] = v
		if v == "Completed" {
			it.props["task:PercentComplete"] = "100"
			if it.props["task:CompleteDate"] == "" {
				it.props["task:CompleteDate"] = ewsTime(c.s.now())
			}
		}
	case "PercentComplete":
		it.props[uri] = v
		if v == "100" {
			it.props["task:Status"] = "Completed"
		}
	default:
		it.props[uri] = v
	}
	if it.kind == kindContact && it.props["contacts:DisplayName"] == "" {
		it.props["contacts:DisplayName"] = strings.TrimSpace(it.props["contacts:GivenName"] + " " + it.props["contacts:Surname"])
	}
	if (it.kind == kindContact || it.kind == kindDistList) && k.Local == "DisplayName" || it.kind == kindContact {
		it.props["item:Subject"] = it.props["contacts:DisplayName"]
	}
	if it.kind == kindDistList {
		it.props["item:Subject"] = it.props["contacts:DisplayName"]
	}
}

// setExt stores an extended property; well-known MAPI tags map onto typed
// fields (DavMail sets the subject through 0x37 and the body through 0x1000).
func (c *requestCtx) setExt(it *item, master *ical.Component, uri *node, vals []string) {
	key := extKey(uri)
	v := ""
	if len(vals) > 0 {
		v = vals[0]
	}
	switch key {
	case "tag:37", "tag:e1d":
		if master != nil {
			setProp(master, ical.PropSummary, v)
		} else {
			it.props["item:Subject"] = v
		}
		return
	case "tag:1000":
		if master != nil {
			setProp(master, ical.PropDescription, v)
		} else {
			it.props["item:Body"] = v
		}
		return
	}
	for _, e := range it.ext {
		if e.key == key {
			e.values = vals
			return
		}
	}
	it.ext = append(it.ext, &extProp{key: key, uri: uri, values: vals})
}

// deleteField implements DeleteItemField.
func (c *requestCtx) deleteField(it *item, uri *node) error {
	it.ensureMaps()
	var master *ical.Component
	if ci := it.info(); ci != nil {
		master = ci.master
	}
	switch uri.Local {
	case "ExtendedFieldURI":
		key := extKey(uri)
		if key == "tag:1000" || key == "tag:37" {
			if master != nil {
				master.Props.Del(map[string]string{"tag:1000": ical.PropDescription, "tag:37": ical.PropSummary}[key])
			} else {
				delete(it.props, map[string]string{"tag:1000": "item:Body", "tag:37": "item:Subject"}[key])
			}
			return nil
		}
		for i, e := range it.ext {
			if e.key == key {
				it.ext = append(it.ext[:i:i], it.ext[i+1:]...)
				break
			}
		}
		return nil
	case "IndexedFieldURI":
		f, idx := uri.attr("FieldURI"), uri.attr("FieldIndex")
		delete(it.idx, f+"/"+idx)
		return nil
	}
	f := uri.attr("FieldURI")
	if master != nil {
		switch f {
		case "item:Subject":
			master.Props.Del(ical.PropSummary)
		case "item:Body":
			master.Props.Del(ical.PropDescription)
		case "item:Categories":
			master.Props.Del(ical.PropCategories)
		case "calendar:Location":
			master.Props.Del(ical.PropLocation)
		case "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources":
			setAttendees(master, strings.TrimPrefix(f, "calendar:"), &node{}, false)
		case "calendar:Recurrence":
			master.Props.Del(ical.PropRecurrenceRule)
			master.Props.Del(ical.PropExceptionDates)
			var kids []*ical.Component
			for _, ch := range it.cal.Children {
				if ch.Name == ical.CompEvent && ch.Props.Get(ical.PropRecurrenceID) != nil {
					continue
				}
				kids = append(kids, ch)
			}
			it.cal.Children = kids
		case "calendar:Start", "calendar:End", "calendar:UID", "item:ItemClass":
			return applyError("ErrorInvalidPropertyDelete")
		default:
			delete(it.props, f)
		}
		return nil
	}
	switch f {
	case "contacts:EmailAddresses", "contacts:PhoneNumbers", "contacts:ImAddresses", "contacts:PhysicalAddresses":
		prefix := map[string]string{"contacts:EmailAddresses": "contacts:EmailAddress/", "contacts:PhoneNumbers": "contacts:PhoneNumber/", "contacts:ImAddresses": "contacts:ImAddress/", "contacts:PhysicalAddresses": "contacts:PhysicalAddress:"}[f]
		for k := range it.idx {
			if strings.HasPrefix(k, prefix) {
				delete(it.idx, k)
			}
		}
	case "item:Categories":
		delete(it.multi, f)
	case "distributionlist:Members":
		it.members = nil
	default:
		delete(it.props, f)
	}
	return nil
}

// ----- building items from CreateItem elements

func (c *requestCtx) newItemFrom(el *node) (*item, error) {
	it := &item{}
	switch el.Local {
	case "CalendarItem":
		it.kind = kindCalendar
	case "Contact":
		it.kind = kindContact
	case "DistributionList":
		it.kind = kindDistList
	case "Task":
		it.kind = kindTask
	case "Message", "Item":
		it.kind = kindMessage
	default:
		return nil, applyError("ErrorInvalidItemForOperation")
	}
	if cls := el.kid("ItemClass").text(); cls != "" {
		it.class = cls
	}
	if it.kind == kindCalendar {
		if mc := el.kid("MimeContent"); mc != nil {
			data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(mc.Text), ""))
			if err != nil {
				return nil, applyError("ErrorMimeContentConversionFailed")
			}
			cal, err := parseICS(data)
			if err != nil {
				return nil, err
			}
			it.cal = cal
		} else {
			it.cal = newCalendar(c.s.newUID())
			now := c.s.now()
			setTimeProp(it.cal.Children[0], ical.PropDateTimeStart, now, false)
			setTimeProp(it.cal.Children[0], ical.PropDateTimeEnd, now.Add(30*time.Minute), false)
		}
		c.normaliseCal(it.cal)
	}
	if _, err := c.apply(it, el, false); err != nil {
		return nil, err
	}
	return it, nil
}

// normaliseCal adds what Exchange always has: a UID and DTSTAMP.
func (c *requestCtx) normaliseCal(cal *ical.Calendar) {
	ci, err := deriveCal(cal)
	if err != nil {
		return
	}
	uid := ci.uid
	if uid == "" {
		uid = c.s.newUID()
	}
	for _, ch := range cal.Children {
		if ch.Name != ical.CompEvent {
			continue
		}
		if ch.Props.Get(ical.PropUID) == nil {
			setProp(ch, ical.PropUID, uid)
		}
		if ch.Props.Get(ical.PropDateTimeStamp) == nil {
			setTimeProp(ch, ical.PropDateTimeStamp, c.s.now(), false)
		}
	}
	if cal.Props.Get(ical.PropVersion) == nil {
		cal.Props.SetText(ical.PropVersion, "2.0")
	}
	if cal.Props.Get(ical.PropProductID) == nil {
		cal.Props.SetText(ical.PropProductID, "Microsoft Exchange Server 2010")
	}
}

func icsOf(cal *ical.Calendar) string {
	var buf bytes.Buffer
	_ = ical.NewEncoder(&buf).Encode(cal)
	return buf.String()
}

func rawText(n *node) string {
	if n == nil {
		return ""
	}
	return n.Text
}
