package ewstest

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// opGetUserAvailability answers free/busy. Times in the answer are local to
// the request's legacy t:TimeZone, taken as its fixed standard offset
// (Bias + StandardTime/Bias); daylight-saving rules are not applied.
func opGetUserAvailability(c *requestCtx, req *node, w *xw) *soapFault {
	tzn := req.kid("TimeZone")
	bias, _ := strconv.Atoi(tzn.kid("Bias").text())
	sb, _ := strconv.Atoi(tzn.at("StandardTime", "Bias").text())
	loc := time.FixedZone("request", -(bias+sb)*60)
	opts := req.kid("FreeBusyViewOptions")
	if opts == nil {
		return &soapFault{"ErrorSchemaValidation", "The request failed schema validation: FreeBusyViewOptions is required."}
	}
	start, err1 := parseEWSTime(opts.at("TimeWindow", "StartTime").text(), loc)
	end, err2 := parseEWSTime(opts.at("TimeWindow", "EndTime").text(), loc)
	if err1 != nil || err2 != nil || !end.After(start) {
		return &soapFault{"ErrorInvalidTimeInterval", "The time interval specified is invalid."}
	}
	view := opts.kid("RequestedView").text()
	if view == "" {
		view = "Detailed"
	}
	interval, _ := strconv.Atoi(opts.kid("MergedFreeBusyIntervalInMinutes").text())
	if interval <= 0 {
		interval = 30
	}
	w.open("m:GetUserAvailabilityResponse", "xmlns:m", nsMsgs, "xmlns:t", nsTypes)
	w.open("m:FreeBusyResponseArray")
	for _, md := range req.kid("MailboxDataArray").kidsNamed("MailboxData") {
		addr := md.at("Email", "Address").text()
		mb := c.s.mailboxes[strings.ToLower(addr)]
		w.open("m:FreeBusyResponse")
		if c.failCode != "" || mb == nil {
			code := c.failCode
			if code == "" {
				code = "ErrorMailRecipientNotFound"
			}
			w.open("m:ResponseMessage", "ResponseClass", "Error")
			w.leaf("m:MessageText", "Unable to resolve e-mail address "+addr+" to an Active Directory object.")
			w.leaf("m:ResponseCode", code)
			w.leaf("m:DescriptiveLinkKey", "0")
			w.close("m:ResponseMessage")
			w.open("m:FreeBusyView")
			w.leaf("t:FreeBusyViewType", "None")
			w.close("m:FreeBusyView")
			w.close("m:FreeBusyResponse")
			continue
		}
		type ev struct {
			start, end time.Time
			busy       string
			it         *item
			occ        occurrence
		}
		var evs []ev
		for _, f := range mb.folders {
			if f.distinguished != "calendar" {
				continue
			}
			for _, it := range f.items {
				if it.kind != kindCalendar {
					continue
				}
				occ, err := mb.occurrences(it, start, end, loc)
				if err != nil {
					continue
				}
				for _, o := range occ {
					if !o.end.After(start) || !o.start.Before(end) || strings.EqualFold(propText(o.comp, ical.PropStatus), "CANCELLED") {
						continue
					}
					evs = append(evs, ev{o.start, o.end, freeBusyOf(o.comp), it, o})
				}
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].start.Before(evs[j].start) })
		w.open("m:ResponseMessage", "ResponseClass", "Success")
		w.leaf("m:ResponseCode", "NoError")
		w.close("m:ResponseMessage")
		w.open("m:FreeBusyView")
		w.leaf("t:FreeBusyViewType", view)
		if strings.Contains(view, "Merged") {
			rank := map[string]int{"Free": 0, "Tentative": 1, "Busy": 2, "OOF": 3, "WorkingElsewhere": 0}
			var b strings.Builder
			for t := start; t.Before(end); t = t.Add(time.Duration(interval) * time.Minute) {
				slotEnd := t.Add(time.Duration(interval) * time.Minute)
				best := 0
				for _, e := range evs {
					if e.start.Before(slotEnd) && e.end.After(t) && rank[e.busy] > best {
						best = rank[e.busy]
					}
				}
				b.WriteString(strconv.Itoa(best))
			}
			w.leaf("t:MergedFreeBusy", b.String())
		}
		if view != "MergedOnly" {
			w.open("t:CalendarEventArray")
			for _, e := range evs {
				w.open("t:CalendarEvent")
				w.leaf("t:StartTime", e.start.In(loc).Format("2006-01-02T15:04:05"))
				w.leaf("t:EndTime", e.end.In(loc).Format("2006-01-02T15:04:05"))
				w.leaf("t:BusyType", e.busy)
				if strings.HasPrefix(view, "Detailed") {
					ci := e.it.info()
					w.open("t:CalendarEventDetails")
					w.leaf("t:ID", e.it.id)
					w.leaf("t:Subject", propText(e.occ.comp, ical.PropSummary))
					w.leaf("t:Location", propText(e.occ.comp, ical.PropLocation))
					w.leaf("t:IsMeeting", boolStr[ci != nil && len(ci.attendees) > 0])
					w.leaf("t:IsRecurring", boolStr[e.occ.id != ""])
					w.leaf("t:IsException", boolStr[e.occ.exception])
					set, _ := e.it.reminder()
					w.leaf("t:IsReminderSet", boolStr[set])
					w.leaf("t:IsPrivate", boolStr[e.it.sensitivity() == "Private"])
					w.close("t:CalendarEventDetails")
				}
				w.close("t:CalendarEvent")
			}
			w.close("t:CalendarEventArray")
		}
		w.open("t:WorkingHours")
		w.open("t:TimeZone")
		w.leaf("t:Bias", strconv.Itoa(bias))
		for _, p := range []string{"StandardTime", "DaylightTime"} {
			w.open("t:" + p)
			w.leaf("t:Bias", "0")
			w.leaf("t:Time", "02:00:00")
			w.leaf("t:DayOrder", "5")
			w.leaf("t:Month", map[string]string{"StandardTime": "10", "DaylightTime": "3"}[p])
			w.leaf("t:DayOfWeek", "Sunday")
			w.close("t:" + p)
		}
		w.close("t:TimeZone")
		w.open("t:WorkingPeriodArray")
		w.open("t:WorkingPeriod")
		w.leaf("t:DayOfWeek", "Monday Tuesday Wednesday Thursday Friday")
		w.leaf("t:StartTimeInMinutes", "480")
		w.leaf("t:EndTimeInMinutes", "1020")
		w.close("t:WorkingPeriod")
		w.close("t:WorkingPeriodArray")
		w.close("t:WorkingHours")
		w.close("m:FreeBusyView")
		w.close("m:FreeBusyResponse")
	}
	w.close("m:FreeBusyResponseArray")
	w.close("m:GetUserAvailabilityResponse")
	return nil
}

// opResolveNames matches mailboxes (the "directory") and contacts by
// prefix of address, name or display name.
func opResolveNames(c *requestCtx, req *node, w *xw) *soapFault {
	q := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(req.kid("UnresolvedEntry").text(), "SMTP:"), "smtp:"))
	full := req.attr("ReturnFullContactData") == "true"
	type res struct{ name, email string }
	var found []res
	for _, k := range sortedKeys(c.s.mailboxes) {
		mb := c.s.mailboxes[k]
		if strings.HasPrefix(strings.ToLower(mb.addr), q) || strings.HasPrefix(strings.ToLower(mb.name), q) {
			found = append(found, res{mb.name, mb.addr})
		}
	}
	if req.attr("SearchScope") != "ActiveDirectory" {
		for _, it := range c.mb.items {
			if it.kind != kindContact {
				continue
			}
			email := it.idx["contacts:EmailAddress/EmailAddress1"]
			dn := it.props["contacts:DisplayName"]
			if email != "" && (strings.HasPrefix(strings.ToLower(email), q) || strings.HasPrefix(strings.ToLower(dn), q)) {
				found = append(found, res{dn, email})
			}
		}
	}
	r := c.begin(w, "ResolveNames")
	defer r.end()
	if r.injected() {
		return nil
	}
	if len(found) == 0 {
		r.fail("ErrorNameResolutionNoResults")
		return nil
	}
	cls := "Success"
	if len(found) > 1 {
		cls = "Warning"
	}
	w.open("m:ResolveNamesResponseMessage", "ResponseClass", cls)
	if len(found) > 1 {
		w.leaf("m:MessageText", "Multiple results were found.")
		w.leaf("m:ResponseCode", "ErrorNameResolutionMultipleResults")
		w.leaf("m:DescriptiveLinkKey", "0")
	} else {
		w.leaf("m:ResponseCode", "NoError")
	}
	w.open("m:ResolutionSet", "TotalItemsInView", strconv.Itoa(len(found)), "IncludesLastItemInRange", "true")
	for _, f := range found {
		w.open("t:Resolution")
		writeMailbox(w, f.name, f.email)
		if full {
			w.open("t:Contact")
			w.leaf("t:DisplayName", f.name)
			w.open("t:EmailAddresses")
			w.leaf("t:Entry", "SMTP:"+f.email, "Key", "EmailAddress1")
			w.close("t:EmailAddresses")
			w.leaf("t:ContactSource", "ActiveDirectory")
			w.close("t:Contact")
		}
		w.close("t:Resolution")
	}
	w.close("m:ResolutionSet")
	w.close("m:ResolveNamesResponseMessage")
	return nil
}

var serverZones = [][2]string{
	{"UTC", "(UTC) Coordinated Universal Time"},
	{"GMT Standard Time", "(UTC+00:00) Dublin, Edinburgh, Lisbon, London"},
	{"W. Europe Standard Time", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"},
	{"Romance Standard Time", "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"},
	{"Israel Standard Time", "(UTC+02:00) Jerusalem"},
	{"Eastern Standard Time", "(UTC-05:00) Eastern Time (US & Canada)"},
	{"Central Standard Time", "(UTC-06:00) Central Time (US & Canada)"},
	{"Pacific Standard Time", "(UTC-08:00) Pacific Time (US & Canada)"},
	{"Tokyo Standard Time", "(UTC+09:00) Osaka, Sapporo, Tokyo"},
	{"AUS Eastern Standard Time", "(UTC+10:00) Canberra, Melbourne, Sydney"},
}

// opGetServerTimeZones lists a few zones without their transition data
// (as ReturnFullTimeZoneData="false" answers).
func opGetServerTimeZones(c *requestCtx, req *node, w *xw) *soapFault {
	want := map[string]bool{}
	for _, id := range req.kid("Ids").kidsNamed("Id") {
		want[id.text()] = true
	}
	r := c.begin(w, "GetServerTimeZones")
	defer r.end()
	if r.injected("m:TimeZoneDefinitions") {
		return nil
	}
	r.ok()
	w.open("m:TimeZoneDefinitions")
	for _, z := range serverZones {
		if len(want) > 0 && !want[z[0]] {
			continue
		}
		w.open("t:TimeZoneDefinition", "Name", z[1], "Id", z[0])
		w.empty("t:Periods")
		w.empty("t:TransitionsGroups")
		w.close("t:TimeZoneDefinition")
	}
	w.close("m:TimeZoneDefinitions")
	r.done()
	return nil
}

// opConvertID echoes ids with the mailbox address (DavMail learns the
// user's address from it).
func opConvertID(c *requestCtx, req *node, w *xw) *soapFault {
	dest := req.attr("DestinationFormat")
	r := c.begin(w, "ConvertId")
	for _, id := range req.kid("SourceIds").all() {
		if r.injected() {
			continue
		}
		r.ok()
		w.empty("m:AlternateId", "xsi:type", "t:AlternateIdType", "Format", dest, "Id", id.attr("Id"), "Mailbox", c.mb.addr)
		r.done()
	}
	r.end()
	return nil
}

// opGetUserConfiguration: the fake stores no user configuration objects.
func opGetUserConfiguration(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "GetUserConfiguration")
	r.fail("ErrorItemNotFound")
	r.end()
	return nil
}
