package ewstest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// shape is a parsed ItemShape / FolderShape.
type shape struct {
	base     string
	mime     bool
	fields   map[string]bool
	indexed  map[string]bool // "contacts:EmailAddress/EmailAddress1"
	ext      []*node
	bodyType string
}

func parseShape(n *node) shape {
	sh := shape{base: n.kid("BaseShape").text(), fields: map[string]bool{}, indexed: map[string]bool{}}
	if sh.base == "" {
		sh.base = "Default"
	}
	sh.mime = strings.EqualFold(n.kid("IncludeMimeContent").text(), "true")
	sh.bodyType = n.kid("BodyType").text()
	for _, k := range n.kid("AdditionalProperties").all() {
		switch k.Local {
		case "FieldURI":
			sh.fields[k.attr("FieldURI")] = true
		case "IndexedFieldURI":
			sh.indexed[k.attr("FieldURI")+"/"+k.attr("FieldIndex")] = true
			sh.fields[k.attr("FieldURI")+"*"] = true
		case "ExtendedFieldURI":
			sh.ext = append(sh.ext, k)
		}
	}
	if sh.fields["item:MimeContent"] {
		sh.mime = true
	}
	return sh
}

// want: the field is requested explicitly, by AllProperties, or by Default.
func (sh shape) want(uri string, inDefault bool) bool {
	return sh.fields[uri] || sh.base == "AllProperties" || (sh.base == "Default" && inDefault)
}

// ----- typed values

var boolStr = map[bool]string{true: "true", false: "false"}

func (it *item) subject() string {
	if it.cal != nil {
		if ci := it.info(); ci != nil {
			return propText(ci.master, ical.PropSummary)
		}
	}
	return it.props["item:Subject"]
}

func (it *item) body() string {
	if it.cal != nil {
		if ci := it.info(); ci != nil {
			return propText(ci.master, ical.PropDescription)
		}
	}
	return it.props["item:Body"]
}

func (it *item) categories() []string {
	if it.cal != nil {
		if ci := it.info(); ci != nil {
			var out []string
			for _, p := range ci.master.Props.Values(ical.PropCategories) {
				for _, v := range strings.Split(p.Value, ",") {
					if v = strings.TrimSpace(v); v != "" {
						out = append(out, v)
					}
				}
			}
			return out
		}
	}
	return it.multi["item:Categories"]
}

func (it *item) sensitivity() string {
	if it.cal != nil {
		if ci := it.info(); ci != nil {
			switch strings.ToUpper(propText(ci.master, ical.PropClass)) {
			case "PRIVATE":
				return "Private"
			case "CONFIDENTIAL":
				return "Confidential"
			}
		}
		return "Normal"
	}
	if v := it.props["item:Sensitivity"]; v != "" {
		return v
	}
	return "Normal"
}

func (it *item) importance() string {
	if v := it.props["item:Importance"]; v != "" {
		return v
	}
	if ci := it.info(); ci != nil {
		if p, err := strconv.Atoi(propText(ci.master, "PRIORITY")); err == nil && p > 0 {
			switch {
			case p < 5:
				return "High"
			case p > 5:
				return "Low"
			}
		}
	}
	return "Normal"
}

func (it *item) reminder() (set bool, minutes int) {
	minutes = 15
	if ci := it.info(); ci != nil {
		for _, a := range ci.master.Children {
			if a.Name != ical.CompAlarm {
				continue
			}
			set = true
			if tr := a.Props.Get(ical.PropTrigger); tr != nil {
				if d, err := tr.Duration(); err == nil {
					minutes = int(-d.Minutes())
				}
			}
			break
		}
	}
	if v, ok := it.props["item:ReminderIsSet"]; ok {
		set = v == "true"
	}
	if v, ok := it.props["item:ReminderMinutesBeforeStart"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			minutes = n
		}
	}
	return set, minutes
}

func (it *item) hasPicture() bool {
	for _, a := range it.atts {
		if a.isPhoto {
			return true
		}
	}
	return false
}

// icsBytes renders the MimeContent of a calendar item.
func (it *item) icsBytes() []byte {
	b, err := encodeICS(it.cal)
	if err != nil {
		return nil
	}
	return b
}

// taskStatus etc. with defaults.
func (it *item) taskField(name string) string {
	v := it.props["task:"+name]
	switch name {
	case "Status":
		if v == "" {
			v = "NotStarted"
		}
	case "PercentComplete":
		if v == "" {
			v = "0"
		}
	}
	return v
}

// scalar is the value of a field for restrictions and sorting.
func (c *requestCtx) scalar(it *item, uri string) (string, bool) {
	ci := it.info()
	switch uri {
	case "item:Subject":
		return it.subject(), it.subject() != ""
	case "item:ItemClass":
		return it.class, true
	case "item:DateTimeCreated", "item:DateTimeReceived", "item:DateTimeSent":
		return ewsTime(it.created), true
	case "item:LastModifiedTime":
		return ewsTime(it.modified), true
	case "item:Body":
		return it.body(), it.body() != ""
	case "item:Importance":
		return it.importance(), true
	case "item:Categories":
		return strings.Join(it.categories(), ","), len(it.categories()) > 0
	case "item:HasAttachments":
		return boolStr[len(it.atts) > 0], true
	case "item:Size":
		return "1024", true
	case "calendar:Start":
		if ci != nil {
			return ewsTime(ci.start), true
		}
	case "calendar:End":
		if ci != nil {
			return ewsTime(ci.end), true
		}
	case "calendar:UID":
		if ci != nil {
			return ci.uid, true
		}
	case "calendar:IsRecurring":
		if ci != nil {
			return "false", true // false on masters, as Exchange answers
		}
	case "calendar:CalendarItemType":
		if ci != nil {
			if ci.recurring {
				return "RecurringMaster", true
			}
			return "Single", true
		}
	case "calendar:Location":
		if ci != nil {
			v := propText(ci.master, ical.PropLocation)
			return v, v != ""
		}
	case "calendar:IsAllDayEvent":
		if ci != nil {
			return boolStr[ci.allDay], true
		}
	case "calendar:LegacyFreeBusyStatus":
		if ci != nil {
			return freeBusyOf(ci.master), true
		}
	case "calendar:IsMeeting":
		if ci != nil {
			return boolStr[len(ci.attendees) > 0], true
		}
	case "calendar:MyResponseType":
		if ci != nil {
			return ci.myResponseType(it.folder.mb), true
		}
	}
	if strings.HasPrefix(uri, "contacts:") || strings.HasPrefix(uri, "task:") {
		if v, ok := it.props[uri]; ok {
			return v, true
		}
		if strings.HasPrefix(uri, "task:") && it.kind == kindTask {
			return it.taskField(strings.TrimPrefix(uri, "task:")), true
		}
		if uri == "contacts:DisplayName" && it.kind == kindDistList {
			return it.props["contacts:DisplayName"], true
		}
	}
	return "", false
}

// extValue is the value of an ExtendedFieldURI: stored verbatim, else
// derived for the MAPI properties DavMail and exchangelib read.
func (c *requestCtx) extValue(it *item, uri *node) ([]string, bool) {
	key := extKey(uri)
	for _, e := range it.ext {
		if e.key == key {
			return e.values, true
		}
	}
	ci := it.info()
	one := func(v string) ([]string, bool) { return []string{v}, true }
	switch key {
	case "tag:37", "tag:e1d", "tag:3001": // PR_SUBJECT, PR_NORMALIZED_SUBJECT, PR_DISPLAY_NAME
		if it.kind == kindContact || it.kind == kindDistList {
			if key == "tag:3001" {
				return one(it.props["contacts:DisplayName"])
			}
		}
		if s := it.subject(); s != "" {
			return one(s)
		}
	case "tag:1000": // PR_BODY
		if b := it.body(); b != "" {
			return one(b)
		}
	case "tag:1a": // PR_MESSAGE_CLASS
		return one(it.class)
	case "tag:3008": // PR_LAST_MODIFICATION_TIME
		return one(ewsTime(it.modified))
	case "tag:3007": // PR_CREATION_TIME
		return one(ewsTime(it.created))
	case "tag:e23": // PR_INTERNET_ARTICLE_NUMBER (imapUid)
		return one(strconv.FormatInt(it.imapUID, 10))
	case "tag:e08": // PR_MESSAGE_SIZE
		return one("1024")
	case "tag:e1b": // PR_HASATTACH
		return one(boolStr[len(it.atts) > 0])
	case "id:appointment:33315": // PidLidRecurring
		if ci != nil {
			return one(boolStr[ci.recurring])
		}
	case "name:publicstrings:urn:schemas:calendar:instancetype":
		if ci != nil {
			if ci.recurring {
				return one("1")
			}
			return one("0")
		}
	case "name:publicstrings:urn:schemas:calendar:uid":
		if ci != nil {
			return one(ci.uid)
		}
	case "id:task:33025": // PidLidTaskStatus
		if it.kind == kindTask {
			return one(map[string]string{"NotStarted": "0", "InProgress": "1", "Completed": "2", "WaitingOnOthers": "3", "Deferred": "4"}[it.taskField("Status")])
		}
	case "id:task:33039": // PidLidTaskDateCompleted
		if v := it.props["task:CompleteDate"]; v != "" {
			return one(v)
		}
	case "id:task:33026": // PidLidPercentComplete (float)
		if it.kind == kindTask {
			p, _ := strconv.ParseFloat(it.taskField("PercentComplete"), 64)
			return one(strconv.FormatFloat(p/100, 'f', -1, 64))
		}
	}
	return nil, false
}

// ----- writing items

func (c *requestCtx) writeItem(w *xw, it *item, sh shape, occ *occurrence) {
	el := "t:" + it.kind.element()
	if it.kind == kindMessage {
		el = "t:Message"
	}
	w.open(el)
	id, ck := it.id, it.ck
	class := it.class
	if occ != nil && occ.id != "" {
		id = occ.id
		class = "IPM.Appointment.Occurrence"
	}
	if sh.mime && occ == nil {
		switch {
		case it.cal != nil:
			w.leaf("t:MimeContent", base64.StdEncoding.EncodeToString(it.icsBytes()), "CharacterSet", "UTF-8")
		case it.kind == kindContact:
			w.leaf("t:MimeContent", base64.StdEncoding.EncodeToString([]byte(it.vcard())), "CharacterSet", "UTF-8")
		}
	}
	w.empty("t:ItemId", "Id", id, "ChangeKey", ck)
	if sh.want("item:ParentFolderId", false) {
		w.empty("t:ParentFolderId", "Id", it.folder.id, "ChangeKey", "AQAAAA==")
	}
	if sh.want("item:ItemClass", false) {
		w.leaf("t:ItemClass", class)
	}
	subject := it.subject()
	if occ != nil && occ.comp != nil {
		subject = propText(occ.comp, ical.PropSummary)
	}
	if sh.want("item:Subject", true) && subject != "" {
		w.leaf("t:Subject", subject)
	}
	if sh.want("item:Sensitivity", false) {
		w.leaf("t:Sensitivity", it.sensitivity())
	}
	if sh.fields["item:Body"] || (sh.base == "AllProperties" && occ == nil && it.kind != kindDistList) {
		bt := it.props["item:Body@BodyType"]
		if bt == "" {
			bt = "Text"
		}
		if sh.bodyType == "Text" || sh.bodyType == "HTML" {
			bt = sh.bodyType
		}
		w.leaf("t:Body", it.body(), "BodyType", bt)
	}
	if (sh.fields["item:Attachments"] || sh.base == "AllProperties") && len(it.atts) > 0 {
		w.open("t:Attachments")
		for _, a := range it.atts {
			w.open("t:FileAttachment")
			w.empty("t:AttachmentId", "Id", a.id)
			w.leaf("t:Name", a.name)
			w.leaf("t:ContentType", a.contentType)
			w.leaf("t:Size", strconv.Itoa(len(a.content)))
			w.leaf("t:LastModifiedTime", it.modified.Format("2006-01-02T15:04:05"))
			w.leaf("t:IsInline", "false")
			w.leaf("t:IsContactPhoto", boolStr[a.isPhoto])
			w.close("t:FileAttachment")
		}
		w.close("t:Attachments")
	}
	if sh.want("item:DateTimeReceived", false) {
		w.leaf("t:DateTimeReceived", ewsTime(it.created))
	}
	if sh.want("item:Size", false) {
		w.leaf("t:Size", strconv.Itoa(1024+len(subject)+len(it.body())))
	}
	if cats := it.categories(); sh.want("item:Categories", false) && len(cats) > 0 {
		w.open("t:Categories")
		for _, cat := range cats {
			w.leaf("t:String", cat)
		}
		w.close("t:Categories")
	}
	if sh.want("item:Importance", false) {
		w.leaf("t:Importance", it.importance())
	}
	if sh.base == "AllProperties" {
		w.leaf("t:IsSubmitted", "false")
		w.leaf("t:IsDraft", boolStr[it.kind == kindContact || it.kind == kindDistList])
		w.leaf("t:IsFromMe", "false")
		w.leaf("t:IsResend", "false")
		w.leaf("t:IsUnmodified", "false")
		w.leaf("t:DateTimeSent", ewsTime(it.created))
		w.leaf("t:DateTimeCreated", ewsTime(it.created))
	} else if sh.fields["item:DateTimeCreated"] {
		w.leaf("t:DateTimeCreated", ewsTime(it.created))
	}
	ci := it.info()
	if sh.base == "AllProperties" && it.kind == kindCalendar {
		w.open("t:ResponseObjects")
		w.empty("t:ForwardItem")
		w.close("t:ResponseObjects")
	}
	remSet, remMin := it.reminder()
	if sh.base == "AllProperties" && (it.kind == kindCalendar || it.kind == kindTask) {
		due := it.created
		if ci != nil {
			due = ci.start
			if occ != nil {
				due = occ.start
			}
		}
		w.leaf("t:ReminderDueBy", ewsTime(due))
	}
	if sh.want("item:ReminderIsSet", false) && (it.kind == kindCalendar || it.kind == kindTask || sh.fields["item:ReminderIsSet"]) {
		w.leaf("t:ReminderIsSet", boolStr[remSet])
	}
	if sh.want("item:ReminderMinutesBeforeStart", false) && (it.kind == kindCalendar || it.kind == kindTask || sh.fields["item:ReminderMinutesBeforeStart"]) {
		w.leaf("t:ReminderMinutesBeforeStart", strconv.Itoa(remMin))
	}
	if sh.want("item:DisplayCc", false) {
		w.leaf("t:DisplayCc", c.display(ci, "OPT-PARTICIPANT"))
	}
	if sh.want("item:DisplayTo", false) {
		w.leaf("t:DisplayTo", c.display(ci, "REQ-PARTICIPANT"))
	}
	if sh.want("item:HasAttachments", true) {
		w.leaf("t:HasAttachments", boolStr[len(it.atts) > 0 && !it.hasPicture() || len(it.atts) > 1])
	}
	for _, u := range sh.ext {
		vals, ok := c.extValue(it, u)
		if !ok {
			continue
		}
		w.open("t:ExtendedProperty")
		w.copyNode("t:", u)
		if strings.HasSuffix(u.attr("PropertyType"), "Array") {
			w.open("t:Values")
			for _, v := range vals {
				w.leaf("t:Value", v)
			}
			w.close("t:Values")
		} else if len(vals) > 0 {
			w.leaf("t:Value", vals[0])
		}
		w.close("t:ExtendedProperty")
	}
	if sh.base == "AllProperties" {
		w.leaf("t:Culture", "en-US")
		w.open("t:EffectiveRights")
		w.leaf("t:CreateAssociated", "false")
		w.leaf("t:CreateContents", "false")
		w.leaf("t:CreateHierarchy", "false")
		w.leaf("t:Delete", "true")
		w.leaf("t:Modify", "true")
		w.leaf("t:Read", "true")
		w.close("t:EffectiveRights")
		w.leaf("t:LastModifiedName", it.folder.mb.name)
	}
	if sh.want("item:LastModifiedTime", false) {
		w.leaf("t:LastModifiedTime", ewsTime(it.modified))
	}
	if sh.base == "AllProperties" {
		w.leaf("t:IsAssociated", "false")
		path := "/calendar/item"
		if it.kind != kindCalendar {
			path = "/item"
		}
		w.leaf("t:WebClientReadFormQueryString", "https://mail.example.test/owa/?ItemID="+url.QueryEscape(id)+"&exvsurl=1&path="+path)
		w.empty("t:ConversationId", "Id", "AAQk"+base64.StdEncoding.EncodeToString([]byte(it.id[8:32])))
	}
	switch it.kind {
	case kindCalendar:
		c.writeCalendarFields(w, it, ci, sh, occ)
	case kindContact:
		c.writeContactFields(w, it, sh)
	case kindDistList:
		c.writeDistListFields(w, it, sh)
	case kindTask:
		c.writeTaskFields(w, it, sh)
	}
	w.close(el)
}

func (c *requestCtx) display(ci *calInfo, role string) string {
	if ci == nil {
		return ""
	}
	var names []string
	for _, a := range ci.attendees {
		r := a.role
		if r == "" {
			r = "REQ-PARTICIPANT"
		}
		if r == role && a.cutype != "RESOURCE" {
			n := a.name
			if n == "" {
				n = a.email
			}
			names = append(names, n)
		}
	}
	return strings.Join(names, "; ")
}

func writeMailbox(w *xw, name, email string) {
	w.open("t:Mailbox")
	if name == "" {
		name = email
	}
	w.leaf("t:Name", name)
	w.leaf("t:EmailAddress", email)
	w.leaf("t:RoutingType", "SMTP")
	w.leaf("t:MailboxType", "Mailbox")
	w.close("t:Mailbox")
}

func (c *requestCtx) writeCalendarFields(w *xw, it *item, ci *calInfo, sh shape, occ *occurrence) {
	if ci == nil {
		return
	}
	comp := ci.master
	start, end := ci.start, ci.end
	calType := "Single"
	if ci.recurring {
		calType = "RecurringMaster"
	}
	if occ != nil && occ.id != "" {
		comp, start, end = occ.comp, occ.start, occ.end
		calType = "Occurrence"
		if occ.exception {
			calType = "Exception"
		}
	} else if occ != nil {
		comp, start, end = occ.comp, occ.start, occ.end
	}
	if sh.want("calendar:UID", false) && ci.uid != "" {
		w.leaf("t:UID", ci.uid)
	}
	if occ != nil && occ.id != "" && sh.want("calendar:RecurrenceId", false) {
		w.leaf("t:RecurrenceId", ewsTime(occ.recID))
	}
	if sh.want("calendar:DateTimeStamp", false) {
		w.leaf("t:DateTimeStamp", ewsTime(it.modified))
	}
	if sh.want("calendar:Start", true) {
		w.leaf("t:Start", ewsTime(start))
	}
	if sh.want("calendar:End", true) {
		w.leaf("t:End", ewsTime(end))
	}
	if occ != nil && occ.id != "" && sh.fields["calendar:OriginalStart"] {
		w.leaf("t:OriginalStart", ewsTime(occ.recID))
	}
	if sh.want("calendar:IsAllDayEvent", false) {
		w.leaf("t:IsAllDayEvent", boolStr[ci.allDay])
	}
	if sh.want("calendar:LegacyFreeBusyStatus", true) {
		w.leaf("t:LegacyFreeBusyStatus", freeBusyOf(comp))
	}
	if loc := propText(comp, ical.PropLocation); sh.want("calendar:Location", true) && loc != "" {
		w.leaf("t:Location", loc)
	}
	if sh.want("calendar:IsMeeting", false) {
		w.leaf("t:IsMeeting", boolStr[len(ci.attendees) > 0])
	}
	if sh.want("calendar:IsCancelled", false) {
		w.leaf("t:IsCancelled", boolStr[strings.EqualFold(propText(comp, ical.PropStatus), "CANCELLED")])
	}
	if sh.want("calendar:IsRecurring", false) {
		w.leaf("t:IsRecurring", boolStr[occ != nil && occ.id != ""])
	}
	if sh.want("calendar:MeetingRequestWasSent", false) {
		w.leaf("t:MeetingRequestWasSent", "false")
	}
	if sh.want("calendar:IsResponseRequested", false) {
		w.leaf("t:IsResponseRequested", "true")
	}
	if sh.want("calendar:CalendarItemType", true) {
		w.leaf("t:CalendarItemType", calType)
	}
	if sh.want("calendar:MyResponseType", false) {
		w.leaf("t:MyResponseType", ci.myResponseType(it.folder.mb))
	}
	if sh.want("calendar:Organizer", true) {
		w.open("t:Organizer")
		if ci.organizer != nil {
			writeMailbox(w, ci.organizer.name, ci.organizer.email)
		} else {
			writeMailbox(w, it.folder.mb.name, it.folder.mb.addr)
		}
		w.close("t:Organizer")
	}
	attendees := func(uri, el string, match func(a attendee) bool) {
		if !sh.want(uri, false) {
			return
		}
		var list []attendee
		for _, a := range ci.attendees {
			if match(a) {
				list = append(list, a)
			}
		}
		if len(list) == 0 {
			return
		}
		w.open(el)
		for _, a := range list {
			w.open("t:Attendee")
			writeMailbox(w, a.name, a.email)
			w.leaf("t:ResponseType", responseType(a.partstat))
			w.close("t:Attendee")
		}
		w.close(el)
	}
	attendees("calendar:RequiredAttendees", "t:RequiredAttendees", func(a attendee) bool {
		return a.cutype != "RESOURCE" && (a.role == "" || a.role == "REQ-PARTICIPANT" || a.role == "CHAIR")
	})
	attendees("calendar:OptionalAttendees", "t:OptionalAttendees", func(a attendee) bool {
		return a.cutype != "RESOURCE" && (a.role == "OPT-PARTICIPANT" || a.role == "NON-PARTICIPANT")
	})
	attendees("calendar:Resources", "t:Resources", func(a attendee) bool { return a.cutype == "RESOURCE" })
	if sh.want("calendar:Duration", false) {
		w.leaf("t:Duration", isoDuration(end.Sub(start)))
	}
	if sh.want("calendar:TimeZone", false) {
		tz := ci.tzid
		if tz == "" {
			tz = "UTC"
		}
		w.leaf("t:TimeZone", tz)
	}
	if sh.want("calendar:AppointmentSequenceNumber", false) {
		w.leaf("t:AppointmentSequenceNumber", orZero(propText(comp, ical.PropSequence)))
	}
	if sh.want("calendar:AppointmentState", false) {
		st := "0"
		if len(ci.attendees) > 0 {
			st = "1"
		}
		w.leaf("t:AppointmentState", st)
	}
	if occ == nil && ci.recurring {
		if sh.want("calendar:Recurrence", false) && ci.rrule != "" {
			writeRecurrence(w, ci.rrule, ci.start)
		}
		needFirst := sh.want("calendar:FirstOccurrence", false) || sh.want("calendar:LastOccurrence", false)
		if needFirst {
			all, _ := it.folder.mb.occurrences(it, time.Time{}, ci.start.AddDate(10, 0, 0), c.floating())
			if len(all) > 0 && sh.want("calendar:FirstOccurrence", false) {
				writeOcc(w, "t:FirstOccurrence", all[0], it.ck)
			}
			bounded := strings.Contains(ci.rrule, "COUNT=") || strings.Contains(ci.rrule, "UNTIL=")
			if len(all) > 0 && bounded && sh.want("calendar:LastOccurrence", false) {
				writeOcc(w, "t:LastOccurrence", all[len(all)-1], it.ck)
			}
		}
		if sh.want("calendar:ModifiedOccurrences", false) && len(ci.overrides) > 0 {
			w.open("t:ModifiedOccurrences")
			for _, o := range ci.overrides {
				rt, _, err := parseCalTime(o.Props.Get(ical.PropRecurrenceID), ci.resolve, c.floating())
				if err != nil {
					continue
				}
				oc := occurrence{recID: rt.UTC(), id: occurrenceID(it.id, rt.UTC()), comp: o}
				st, _, _ := parseCalTime(o.Props.Get(ical.PropDateTimeStart), ci.resolve, c.floating())
				oc.start = st.UTC()
				if en, _, err := parseCalTime(o.Props.Get(ical.PropDateTimeEnd), ci.resolve, c.floating()); err == nil {
					oc.end = en.UTC()
				} else {
					oc.end = oc.start.Add(ci.end.Sub(ci.start))
				}
				it.folder.mb.occ[oc.id] = occRef{master: it.id, recID: oc.recID}
				writeOcc(w, "t:Occurrence", oc, it.ck)
			}
			w.close("t:ModifiedOccurrences")
		}
		if sh.want("calendar:DeletedOccurrences", false) && len(ci.exdates) > 0 {
			w.open("t:DeletedOccurrences")
			for _, d := range ci.exdates {
				w.open("t:DeletedOccurrence")
				w.leaf("t:Start", ewsTime(d))
				w.close("t:DeletedOccurrence")
			}
			w.close("t:DeletedOccurrences")
		}
	}
	if c.rank >= 3 && ci.tzid != "" && sh.want("calendar:StartTimeZone", false) {
		w.empty("t:StartTimeZone", "Id", ci.tzid, "Name", ci.tzid)
	}
	if c.rank >= 3 && ci.tzid != "" && sh.want("calendar:EndTimeZone", false) {
		w.empty("t:EndTimeZone", "Id", ci.tzid, "Name", ci.tzid)
	}
	if c.rank >= 3 && sh.want("calendar:AllowNewTimeProposal", false) {
		w.leaf("t:AllowNewTimeProposal", "true")
	}
	if sh.want("calendar:IsOnlineMeeting", false) {
		w.leaf("t:IsOnlineMeeting", "false")
	}
}

func writeOcc(w *xw, el string, o occurrence, ck string) {
	w.open(el)
	w.empty("t:ItemId", "Id", o.id, "ChangeKey", ck)
	w.leaf("t:Start", ewsTime(o.start))
	w.leaf("t:End", ewsTime(o.end))
	w.leaf("t:OriginalStart", ewsTime(o.recID))
	w.close(el)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func isoDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("P")
	if days := int(d / (24 * time.Hour)); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		d -= time.Duration(days) * 24 * time.Hour
	}
	if d > 0 {
		b.WriteString("T")
		if h := int(d / time.Hour); h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			d -= time.Duration(h) * time.Hour
		}
		if m := int(d / time.Minute); m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			d -= time.Duration(m) * time.Minute
		}
		if s := int(d / time.Second); s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}

// ----- contacts

var contactSimple = []string{"FileAs", "FileAsMapping", "DisplayName", "GivenName", "Initials", "MiddleName", "Nickname"}

var physicalParts = []string{"Street", "City", "State", "CountryOrRegion", "PostalCode"}

func (c *requestCtx) writeContactFields(w *xw, it *item, sh shape) {
	p := it.props
	simple := func(name string, inDefault bool) {
		v, ok := p["contacts:"+name]
		if sh.fields["contacts:"+name] || (ok && v != "" && sh.want("contacts:"+name, inDefault)) {
			w.leaf("t:"+name, v)
		}
	}
	if sh.base == "AllProperties" || sh.fields["contacts:FileAs"] {
		w.leaf("t:FileAs", p["contacts:FileAs"])
	}
	if sh.base == "AllProperties" || sh.fields["contacts:FileAsMapping"] {
		m := p["contacts:FileAsMapping"]
		if m == "" {
			m = "None"
		}
		w.leaf("t:FileAsMapping", m)
	}
	for _, n := range contactSimple[2:] {
		simple(n, n == "DisplayName" || n == "GivenName")
	}
	if sh.want("contacts:CompleteName", false) {
		w.open("t:CompleteName")
		for _, pair := range [][2]string{{"Title", "contacts:Title"}, {"FirstName", "contacts:GivenName"}, {"MiddleName", "contacts:MiddleName"}, {"LastName", "contacts:Surname"}, {"Suffix", "contacts:Generation"}, {"Initials", "contacts:Initials"}, {"FullName", "contacts:DisplayName"}, {"Nickname", "contacts:Nickname"}} {
			if v := p[pair[1]]; v != "" {
				w.leaf("t:"+pair[0], v)
			}
		}
		w.close("t:CompleteName")
	}
	simple("CompanyName", true)
	dict := func(uri, el string, keys []string, inDefault bool) {
		// The whole dictionary is requested by its plural FieldURI
		// (contacts:EmailAddresses), one entry by IndexedFieldURI.
		whole := sh.want(uri, inDefault) || sh.fields[uri+"es"] || sh.fields[uri+"s"]
		if !whole && !sh.fields[uri+"*"] {
			return
		}
		var present []string
		for _, k := range keys {
			if v := it.idx[uri+"/"+k]; v != "" && (whole || sh.indexed[uri+"/"+k]) {
				present = append(present, k)
			}
		}
		if len(present) == 0 {
			return
		}
		w.open(el)
		for _, k := range present {
			v := it.idx[uri+"/"+k]
			if uri == "contacts:EmailAddress" {
				w.leaf("t:Entry", v, "Key", k, "Name", v, "RoutingType", "SMTP", "MailboxType", "Contact")
			} else {
				w.leaf("t:Entry", v, "Key", k)
			}
		}
		w.close(el)
	}
	dict("contacts:EmailAddress", "t:EmailAddresses", []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"}, true)
	// PhysicalAddresses
	var addrKeys []string
	for _, k := range []string{"Home", "Business", "Other"} {
		for _, part := range physicalParts {
			if it.idx["contacts:PhysicalAddress:"+part+"/"+k] != "" {
				addrKeys = append(addrKeys, k)
				break
			}
		}
	}
	wantAddr := sh.want("contacts:PhysicalAddresses", true)
	for _, part := range physicalParts {
		wantAddr = wantAddr || sh.fields["contacts:PhysicalAddress:"+part+"*"]
	}
	if wantAddr && len(addrKeys) > 0 {
		w.open("t:PhysicalAddresses")
		for _, k := range addrKeys {
			w.open("t:Entry", "Key", k)
			for _, part := range physicalParts {
				if v := it.idx["contacts:PhysicalAddress:"+part+"/"+k]; v != "" {
					w.leaf("t:"+part, v)
				}
			}
			w.close("t:Entry")
		}
		w.close("t:PhysicalAddresses")
	}
	dict("contacts:PhoneNumber", "t:PhoneNumbers", phoneKeys, true)
	simple("AssistantName", false)
	simple("Birthday", false)
	simple("BusinessHomePage", false)
	simple("Department", false)
	simple("Generation", false)
	dict("contacts:ImAddress", "t:ImAddresses", []string{"ImAddress1", "ImAddress2", "ImAddress3"}, false)
	simple("JobTitle", false)
	simple("Manager", false)
	simple("OfficeLocation", false)
	simple("Profession", false)
	simple("SpouseName", false)
	simple("Surname", true)
	simple("WeddingAnniversary", false)
	if sh.fields["contacts:HasPicture"] || (sh.base == "AllProperties" && c.rank >= 4 && it.hasPicture()) {
		w.leaf("t:HasPicture", boolStr[it.hasPicture()])
	}
	if c.rank >= 5 {
		simple("Notes", false)
	}
}

var phoneKeys = []string{"AssistantPhone", "BusinessFax", "BusinessPhone", "BusinessPhone2", "Callback", "CarPhone", "CompanyMainPhone", "HomeFax", "HomePhone", "HomePhone2", "Isdn", "MobilePhone", "OtherFax", "OtherTelephone", "Pager", "PrimaryPhone", "RadioPhone", "Telex", "TtyTddPhone"}

func (c *requestCtx) writeDistListFields(w *xw, it *item, sh shape) {
	if v := it.props["contacts:DisplayName"]; sh.want("contacts:DisplayName", true) && v != "" {
		w.leaf("t:DisplayName", v)
	}
	if sh.base == "AllProperties" {
		w.leaf("t:FileAs", it.props["contacts:FileAs"])
	}
	if sh.fields["distributionlist:Members"] || sh.base == "AllProperties" {
		w.open("t:Members")
		for i, m := range it.members {
			w.open("t:Member", "Key", fmt.Sprintf("AAAAAIErH6S+oxAZnW4A3QEPVAI%04d", i))
			w.open("t:Mailbox")
			if m.Name != "" {
				w.leaf("t:Name", m.Name)
			}
			w.leaf("t:EmailAddress", m.Email)
			w.leaf("t:RoutingType", "SMTP")
			w.leaf("t:MailboxType", "OneOff")
			w.close("t:Mailbox")
			w.leaf("t:Status", "Normal")
			w.close("t:Member")
		}
		w.close("t:Members")
	}
}

var taskStatusDesc = map[string]string{"NotStarted": "Not Started", "InProgress": "In Progress", "Completed": "Completed", "WaitingOnOthers": "Waiting on someone else", "Deferred": "Deferred"}

func (c *requestCtx) writeTaskFields(w *xw, it *item, sh shape) {
	all := sh.base == "AllProperties"
	opt := func(name string) {
		if v := it.props["task:"+name]; v != "" && sh.want("task:"+name, false) {
			w.leaf("t:"+name, v)
		}
	}
	if all || sh.fields["task:ChangeCount"] {
		w.leaf("t:ChangeCount", strconv.Itoa(len(it.history)))
	}
	opt("CompleteDate")
	if all || sh.fields["task:DelegationState"] {
		w.leaf("t:DelegationState", "NoMatch")
	}
	opt("DueDate")
	if all || sh.fields["task:IsAssignmentEditable"] {
		w.leaf("t:IsAssignmentEditable", "0")
	}
	if all || sh.fields["task:IsComplete"] {
		w.leaf("t:IsComplete", boolStr[it.taskField("Status") == "Completed"])
	}
	if all || sh.fields["task:IsRecurring"] {
		w.leaf("t:IsRecurring", "false")
	}
	if all || sh.fields["task:IsTeamTask"] {
		w.leaf("t:IsTeamTask", "false")
	}
	if all || sh.fields["task:PercentComplete"] {
		w.leaf("t:PercentComplete", it.taskField("PercentComplete"))
	}
	opt("StartDate")
	if sh.want("task:Status", true) {
		w.leaf("t:Status", it.taskField("Status"))
	}
	if all || sh.fields["task:StatusDescription"] {
		w.leaf("t:StatusDescription", taskStatusDesc[it.taskField("Status")])
	}
}

// vcard renders a contact as Exchange's vCard export (MimeContent).
func (it *item) vcard() string {
	p := it.props
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\n")
	fmt.Fprintf(&b, "N:%s;%s;%s;;\r\n", p["contacts:Surname"], p["contacts:GivenName"], p["contacts:MiddleName"])
	fmt.Fprintf(&b, "FN:%s\r\n", p["contacts:DisplayName"])
	if v := p["contacts:CompanyName"]; v != "" {
		fmt.Fprintf(&b, "ORG:%s\r\n", v)
	}
	if v := p["contacts:JobTitle"]; v != "" {
		fmt.Fprintf(&b, "TITLE:%s\r\n", v)
	}
	for _, k := range []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"} {
		if v := it.idx["contacts:EmailAddress/"+k]; v != "" {
			fmt.Fprintf(&b, "EMAIL;TYPE=INTERNET:%s\r\n", v)
		}
	}
	for _, k := range phoneKeys {
		if v := it.idx["contacts:PhoneNumber/"+k]; v != "" {
			fmt.Fprintf(&b, "TEL;TYPE=%s:%s\r\n", strings.ToUpper(k), v)
		}
	}
	b.WriteString("END:VCARD\r\n")
	return b.String()
}
