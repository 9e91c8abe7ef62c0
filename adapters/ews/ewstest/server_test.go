package ewstest

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const envOpen = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/>`

func envelope(header, body string) string {
	return envOpen + header + `</soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

type resp struct {
	status int
	ctype  string
	raw    string
	root   *node
}

func post(t *testing.T, s *Server, body string, hdr ...string) resp {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL(), strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.SetBasicAuth("user@example.test", "secret")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), raw: string(raw)}
	if strings.HasPrefix(r.ctype, "text/xml") {
		n, err := parseXML(strings.NewReader(r.raw))
		if err != nil {
			t.Fatalf("bad XML: %v\n%s", err, raw)
		}
		r.root = n
	}
	return r
}

// call posts a body with the standard header and fails on non-200.
func call(t *testing.T, s *Server, body string) *node {
	t.Helper()
	r := post(t, s, envelope("", body))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if r.ctype != "text/xml; charset=utf-8" {
		t.Fatalf("content type %q", r.ctype)
	}
	return r.root.at("Body").Kids[0]
}

func messages(resp *node) []*node { return resp.kid("ResponseMessages").Kids }

func code(msg *node) string { return msg.kid("ResponseCode").text() }

func find(n *node, local string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(x *node) {
		if x.Local == local {
			out = append(out, x)
		}
		for _, k := range x.Kids {
			walk(k)
		}
	}
	walk(n)
	return out
}

const weeklyICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:weekly-1@example.test\r\nDTSTAMP:20250601T000000Z\r\nDTSTART:20250702T100000Z\r\nDTEND:20250702T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4;BYDAY=WE\r\nSUMMARY:Weekly Team Meeting\r\nLOCATION:Conference Room A\r\nORGANIZER;CN=User:mailto:user@example.test\r\nATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:bob@example.test\r\nATTENDEE;CN=Carol;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:carol@example.test\r\nEXDATE:20250716T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:weekly-1@example.test\r\nDTSTAMP:20250601T000000Z\r\nRECURRENCE-ID:20250709T100000Z\r\nDTSTART:20250709T140000Z\r\nDTEND:20250709T150000Z\r\nSUMMARY:Weekly Team Meeting (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

const singleICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:single-1@example.test\r\nDTSTAMP:20250601T000000Z\r\nDTSTART:20250701T160000Z\r\nDTEND:20250701T170000Z\r\nSUMMARY:Réunion équipe - Café & Discussion\r\nLOCATION:Salle #1\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func mustRef(t *testing.T) func(ItemRef, error) ItemRef {
	return func(r ItemRef, err error) ItemRef {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func TestAuth(t *testing.T) {
	s := New(WithBearer("tok"))
	defer s.Close()
	body := envelope("", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="root"/></m:FolderIds></m:GetFolder>`)
	req, _ := http.NewRequest(http.MethodPost, strings.ToLower(s.URL()), strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), ","), "Basic") {
		t.Fatalf("no credentials: %d %v", res.StatusCode, res.Header)
	}
	if r := post(t, s, body, "Authorization", "Bearer tok"); r.status != 200 {
		t.Fatalf("bearer: %d", r.status)
	}
	if r := post(t, s, body, "Authorization", "Bearer nope"); r.status != 401 {
		t.Fatalf("bad bearer: %d", r.status)
	}
	if r := post(t, s, body, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("user@example.test:wrong"))); r.status != 401 {
		t.Fatalf("bad password: %d", r.status)
	}
	if s.Calls()["GetFolder"] != 1 {
		t.Fatalf("calls %v", s.Calls())
	}
}

func TestImpersonationAndVersion(t *testing.T) {
	s := New(WithMailboxes("boss@example.test"))
	defer s.Close()
	mustRef(t)(s.Mailbox("boss@example.test").AddCalendarItem("calendar", singleICS))
	find := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`
	imp := `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>boss@example.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
	r := post(t, s, envelope(imp, find), "X-AnchorMailbox", "boss@example.test")
	if n := len(find2(r.root, "CalendarItem")); n != 1 {
		t.Fatalf("impersonated mailbox: %d items\n%s", n, r.raw)
	}
	r = post(t, s, envelope("", find))
	if n := len(find2(r.root, "CalendarItem")); n != 0 {
		t.Fatalf("own mailbox: %d items", n)
	}
	bad := strings.Replace(imp, "boss@", "nobody@", 1)
	if r = post(t, s, envelope(bad, find)); r.status != 500 || !strings.Contains(r.raw, "ErrorNonExistentMailbox") {
		t.Fatalf("unknown mailbox: %d %s", r.status, r.raw)
	}
	badVer := strings.Replace(envelope("", find), "Exchange2013_SP1", "Exchange1999", 1)
	if r = post(t, s, badVer); r.status != 500 || !strings.Contains(r.raw, "ErrorInvalidServerVersion") {
		t.Fatalf("bad version: %d %s", r.status, r.raw)
	}
	if !strings.Contains(r.raw, "s:Fault") {
		t.Fatal("no fault")
	}
}

func find2(n *node, local string) []*node {
	if n == nil {
		return nil
	}
	return find(n, local)
}

func TestDavMailLoginSequence(t *testing.T) {
	s := New()
	defer s.Close()
	// #2: empty header, GetFolder root.
	r := post(t, s, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header/><soap:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="root"/></m:FolderIds></m:GetFolder></soap:Body></soap:Envelope>`)
	if r.status != 200 || !strings.Contains(r.raw, `MajorVersion="15" MinorVersion="1"`) {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	rootID := find(r.root, "FolderId")[0].attr("Id")
	conv := call(t, s, `<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="EwsId" Id="`+rootID+`" Mailbox="blah@blah.com"/></m:SourceIds></m:ConvertId>`)
	if a := find(conv, "AlternateId"); len(a) != 1 || a[0].attr("Mailbox") != "user@example.test" {
		t.Fatalf("ConvertId: %+v", a)
	}
	for _, f := range []string{"inbox", "calendar", "contacts", "sentitems", "drafts", "deleteditems", "junkemail", "outbox", "tasks", "msgfolderroot"} {
		resp := call(t, s, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/><t:ExtendedFieldURI PropertyTag="0x670a" PropertyType="SystemTime"/><t:ExtendedFieldURI PropertyTag="0x3613" PropertyType="String"/></t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="`+f+`"/></m:FolderIds></m:GetFolder>`)
		m := messages(resp)[0]
		if code(m) != "NoError" {
			t.Fatalf("%s: %s", f, code(m))
		}
		if f == "calendar" {
			ext := find(m, "ExtendedProperty")
			if len(ext) != 2 || ext[0].kid("ExtendedFieldURI").attr("PropertyTag") != "0x670a" || ext[1].kid("Value").text() != "IPF.Appointment" {
				t.Fatalf("folder ext props: %d", len(ext))
			}
		}
	}
}

const findDavMail = `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:ExtendedFieldURI PropertyTag="0xe23" PropertyType="Integer"/><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="urn:schemas:calendar:instancetype" PropertyType="Integer"/><t:ExtendedFieldURI PropertyTag="0x37" PropertyType="String"/><t:ExtendedFieldURI PropertyTag="0x3008" PropertyType="SystemTime"/><t:ExtendedFieldURI PropertyTag="0x10f3" PropertyType="String"/></t:AdditionalProperties></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="500" Offset="0" BasePoint="Beginning"/><m:Restriction><t:Or><t:Or><t:IsEqualTo><t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33315" PropertyType="Boolean"/><t:FieldURIOrConstant><t:Constant Value="true"/></t:FieldURIOrConstant></t:IsEqualTo><t:IsEqualTo><t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33315" PropertyType="Boolean"/><t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant></t:IsEqualTo></t:Or><t:Or><t:IsEqualTo><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="urn:schemas:calendar:instancetype" PropertyType="Integer"/><t:FieldURIOrConstant><t:Constant Value="1"/></t:FieldURIOrConstant></t:IsEqualTo><t:IsEqualTo><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="urn:schemas:calendar:instancetype" PropertyType="Integer"/><t:FieldURIOrConstant><t:Constant Value="0"/></t:FieldURIOrConstant></t:IsEqualTo></t:Or></t:Or></m:Restriction><m:SortOrder><t:FieldOrder Order="Ascending"><t:ExtendedFieldURI PropertyTag="0xe23" PropertyType="Integer"/></t:FieldOrder></m:SortOrder><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`

func TestDavMailCalendarFlow(t *testing.T) {
	s := New()
	defer s.Close()
	mustRef(t)(s.AddCalendarItem("calendar", singleICS))
	mustRef(t)(s.AddCalendarItem("calendar", weeklyICS))
	resp := call(t, s, findDavMail)
	m := messages(resp)[0]
	rf := m.kid("RootFolder")
	if rf.attr("IncludesLastItemInRange") != "true" || rf.attr("TotalItemsInView") != "2" {
		t.Fatalf("root folder attrs %v", rf.Attrs)
	}
	items := find(rf, "CalendarItem")
	if len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	uid := func(it *node) string {
		for _, e := range it.kidsNamed("ExtendedProperty") {
			if e.kid("ExtendedFieldURI").attr("PropertyTag") == "0xe23" {
				return e.kid("Value").text()
			}
		}
		return ""
	}
	if uid(items[0]) >= uid(items[1]) || uid(items[0]) == "" {
		t.Fatalf("imapUid not increasing: %q %q", uid(items[0]), uid(items[1]))
	}
	// Batched GetItem with MimeContent + calendar props.
	ids := ""
	for _, it := range items {
		id := it.kid("ItemId")
		ids += `<t:ItemId Id="` + id.attr("Id") + `" ChangeKey="` + id.attr("ChangeKey") + `"/>`
	}
	get := call(t, s, `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent><t:AdditionalProperties><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:FieldURI FieldURI="calendar:OptionalAttendees"/><t:FieldURI FieldURI="calendar:MyResponseType"/><t:FieldURI FieldURI="calendar:ModifiedOccurrences"/><t:FieldURI FieldURI="calendar:DeletedOccurrences"/><t:FieldURI FieldURI="calendar:Recurrence"/><t:FieldURI FieldURI="calendar:Organizer"/><t:FieldURI FieldURI="calendar:UID"/><t:FieldURI FieldURI="calendar:CalendarItemType"/><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="urn:schemas:calendar:uid" PropertyType="String"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>`+ids+`<t:ItemId Id="AAAAnope0000000000000000"/></m:ItemIds></m:GetItem>`)
	msgs := messages(get)
	if len(msgs) != 3 || code(msgs[0]) != "NoError" || code(msgs[2]) != "ErrorItemNotFound" || msgs[2].attr("ResponseClass") != "Error" {
		t.Fatalf("GetItem messages: %d", len(msgs))
	}
	master := find(msgs[1], "CalendarItem")[0]
	if master.Kids[0].Local != "MimeContent" {
		t.Fatal("MimeContent must be the first child")
	}
	ics, _ := base64.StdEncoding.DecodeString(master.kid("MimeContent").text())
	if !strings.Contains(string(ics), "RRULE:FREQ=WEEKLY") || !strings.Contains(string(ics), "RECURRENCE-ID") {
		t.Fatalf("MIME lacks recurrence: %s", ics)
	}
	if master.kid("CalendarItemType").text() != "RecurringMaster" || master.kid("MyResponseType").text() != "Organizer" {
		t.Fatal("type/response")
	}
	if a := find(master.kid("RequiredAttendees"), "Attendee"); len(a) != 1 || a[0].kid("ResponseType").text() != "Accept" {
		t.Fatal("required attendees")
	}
	if a := find(master.kid("OptionalAttendees"), "Attendee"); len(a) != 1 || a[0].kid("ResponseType").text() != "Tentative" {
		t.Fatal("optional attendees")
	}
	if n := len(find(master.kid("ModifiedOccurrences"), "Occurrence")); n != 1 {
		t.Fatalf("modified occurrences: %d", n)
	}
	if n := len(find(master.kid("DeletedOccurrences"), "DeletedOccurrence")); n != 1 {
		t.Fatalf("deleted occurrences: %d", n)
	}
	rec := master.kid("Recurrence")
	if rec.at("WeeklyRecurrence", "DaysOfWeek").text() != "Wednesday" || rec.at("NumberedRecurrence", "NumberOfOccurrences").text() != "4" {
		t.Fatal("recurrence")
	}
	// Element order: UID before Start, Organizer before RequiredAttendees, Recurrence after them.
	order := map[string]int{}
	for i, k := range master.Kids {
		order[k.Local] = i
	}
	for _, pair := range [][2]string{{"MimeContent", "ItemId"}, {"ExtendedProperty", "UID"}, {"UID", "CalendarItemType"}, {"CalendarItemType", "MyResponseType"}, {"MyResponseType", "Organizer"}, {"Organizer", "RequiredAttendees"}, {"RequiredAttendees", "OptionalAttendees"}, {"OptionalAttendees", "Recurrence"}, {"Recurrence", "ModifiedOccurrences"}, {"ModifiedOccurrences", "DeletedOccurrences"}} {
		if order[pair[0]] >= order[pair[1]] {
			t.Fatalf("%s must precede %s", pair[0], pair[1])
		}
	}
}

func TestCalendarViewExpandsOccurrences(t *testing.T) {
	s := New()
	defer s.Close()
	master := mustRef(t)(s.AddCalendarItem("calendar", weeklyICS))
	mustRef(t)(s.AddCalendarItem("calendar", singleICS))
	resp := call(t, s, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:CalendarView MaxEntriesReturned="100" StartDate="2025-07-01T00:00:00Z" EndDate="2025-08-01T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`)
	items := find(messages(resp)[0], "CalendarItem")
	var types []string
	for _, it := range items {
		types = append(types, it.kid("CalendarItemType").text()+"@"+it.kid("Start").text())
	}
	want := []string{"Single@2025-07-01T16:00:00Z", "Occurrence@2025-07-02T10:00:00Z", "Exception@2025-07-09T14:00:00Z", "Occurrence@2025-07-23T10:00:00Z"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v\nwant %v", types, want)
	}
	occ := items[1]
	if occ.kid("ItemId").attr("ChangeKey") != master.ChangeKey || occ.kid("ItemId").attr("Id") == master.ID {
		t.Fatal("occurrence ids: ChangeKey must equal the master's, Id must differ")
	}
	if occ.kid("IsRecurring").text() != "true" || occ.kid("ItemClass").text() != "IPM.Appointment.Occurrence" {
		t.Fatal("occurrence flags")
	}
	// GetItem on the occurrence id and by OccurrenceItemId index.
	get := call(t, s, `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+occ.kid("ItemId").attr("Id")+`"/><t:OccurrenceItemId RecurringMasterId="`+master.ID+`" InstanceIndex="4"/><t:OccurrenceItemId RecurringMasterId="`+master.ID+`" InstanceIndex="9"/></m:ItemIds></m:GetItem>`)
	msgs := messages(get)
	if len(find(msgs[0], "Start")) == 0 || len(find(msgs[1], "Start")) == 0 {
		t.Fatalf("%s / %s", code(msgs[0]), code(msgs[1]))
	}
	if find(msgs[0], "Start")[0].text() != "2025-07-02T10:00:00Z" {
		t.Fatal("occurrence by id")
	}
	if find(msgs[1], "Start")[0].text() != "2025-07-23T10:00:00Z" {
		t.Fatalf("occurrence by index: %s", find(msgs[1], "Start")[0].text())
	}
	if code(msgs[2]) != "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange" {
		t.Fatal(code(msgs[2]))
	}
	// Too wide a window.
	wide := call(t, s, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2020-01-01T00:00:00Z" EndDate="2025-01-01T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`)
	if code(messages(wide)[0]) != "ErrorCalendarViewRangeTooBig" {
		t.Fatal("range too big")
	}
}

func TestIndexedPaging(t *testing.T) {
	s := New()
	defer s.Close()
	for i := 0; i < 5; i++ {
		mustRef(t)(s.AddContact("contacts", Contact{GivenName: "John", Surname: string(rune('A' + i))}))
	}
	var seen int
	offset := "0"
	for page := 0; page < 5; page++ {
		resp := call(t, s, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="2" Offset="`+offset+`" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`)
		rf := messages(resp)[0].kid("RootFolder")
		seen += len(find(rf, "Contact"))
		offset = rf.attr("IndexedPagingOffset")
		if rf.attr("IncludesLastItemInRange") == "true" {
			break
		}
	}
	if seen != 5 || offset != "5" {
		t.Fatalf("seen %d offset %s", seen, offset)
	}
}

func createEvent(t *testing.T, s *Server, ics string) (string, string) {
	t.Helper()
	resp := call(t, s, `<m:CreateItem MessageDisposition="SaveOnly" SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:MimeContent>`+base64.StdEncoding.EncodeToString([]byte(ics))+`</t:MimeContent><t:ReminderIsSet>false</t:ReminderIsSet><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x10f3" PropertyType="String"/><t:Value>new-event-0001.ics</t:Value></t:ExtendedProperty><t:LegacyFreeBusyStatus>Free</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items></m:CreateItem>`)
	m := messages(resp)[0]
	if code(m) != "NoError" {
		t.Fatalf("CreateItem: %s", code(m))
	}
	id := find(m, "ItemId")[0]
	return id.attr("Id"), id.attr("ChangeKey")
}

const berlinICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//curl//EN\r\nMETHOD:PUBLISH\r\nBEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:new-event-0001@example.test\r\nDTSTAMP:20240601T090000Z\r\nDTSTART;TZID=W. Europe Standard Time:20240612T090000\r\nDTEND;TZID=W. Europe Standard Time:20240612T093000\r\nSUMMARY:Created via CalDAV\r\nLOCATION:Desk\r\nORGANIZER:MAILTO:user@example.test\r\nX-MICROSOFT-CDO-ALLDAYEVENT:FALSE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestCreateUpdateConflictDelete(t *testing.T) {
	s := New()
	defer s.Close()
	id, ck := createEvent(t, s, berlinICS)
	// Missing SendMeetingInvitations.
	resp := call(t, s, `<m:CreateItem><m:Items><t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem></m:Items></m:CreateItem>`)
	if code(messages(resp)[0]) != "ErrorSendMeetingInvitationsRequired" {
		t.Fatal("SendMeetingInvitations not enforced")
	}
	get := func() *node {
		r := call(t, s, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:AdditionalProperties><t:ExtendedFieldURI PropertyTag="0x10f3" PropertyType="String"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`)
		return find(messages(r)[0], "CalendarItem")[0]
	}
	ci := get()
	if ci.kid("Start").text() != "2024-06-12T07:00:00Z" || ci.kid("LegacyFreeBusyStatus").text() != "Free" || ci.kid("Subject").text() != "Created via CalDAV" {
		t.Fatalf("derived: %s %s", ci.kid("Start").text(), ci.kid("LegacyFreeBusyStatus").text())
	}
	if ci.kid("UID").text() != "new-event-0001@example.test" {
		t.Fatal("UID")
	}
	if find(ci, "Value")[0].text() != "new-event-0001.ics" {
		t.Fatal("extended property not stored verbatim")
	}
	update := func(ck, mode, subject string) *node {
		r := call(t, s, `<m:UpdateItem MessageDisposition="SaveOnly" SendMeetingInvitationsOrCancellations="SendToNone" ConflictResolution="`+mode+`"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`" ChangeKey="`+ck+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2024-06-12T10:00:00</t:Start></t:CalendarItem></t:SetItemField><t:SetItemField><t:ExtendedFieldURI PropertyTag="0x37" PropertyType="String"/><t:Item><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x37" PropertyType="String"/><t:Value>`+subject+`</t:Value></t:ExtendedProperty></t:Item></t:SetItemField><t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField><t:AppendToItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem><t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>dave@example.test</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem></t:AppendToItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
		return messages(r)[0]
	}
	m := update(ck, "NeverOverwrite", "Updated via CalDAV")
	if code(m) != "NoError" || m.at("ConflictResults", "Count").text() != "0" {
		t.Fatalf("update: %s", code(m))
	}
	newCK := find(m, "ItemId")[0].attr("ChangeKey")
	if newCK == ck {
		t.Fatal("ChangeKey unchanged")
	}
	ci = get()
	if ci.kid("Subject").text() != "Updated via CalDAV" || ci.kid("Location") != nil || ci.kid("Start").text() != "2024-06-12T10:00:00Z" {
		t.Fatalf("after update: %q %v %s", ci.kid("Subject").text(), ci.kid("Location") != nil, ci.kid("Start").text())
	}
	if len(find(ci.kid("RequiredAttendees"), "Attendee")) != 1 {
		t.Fatal("append attendee")
	}
	// Stale ChangeKey.
	if c := code(update(ck, "NeverOverwrite", "x")); c != "ErrorIrresolvableConflict" {
		t.Fatalf("stale NeverOverwrite: %s", c)
	}
	if c := code(update(ck, "AutoResolve", "x")); c != "ErrorIrresolvableConflict" {
		t.Fatalf("stale AutoResolve touching changed fields: %s", c)
	}
	// Exchange-side change, then AutoResolve with the pre-change key.
	cur := get().kid("ItemId").attr("ChangeKey")
	if _, err := s.UpdateItem(id, strings.Replace(berlinICS, "Created via CalDAV", "Changed in Outlook", 1)); err != nil {
		t.Fatal(err)
	}
	if c := code(update(cur, "AutoResolve", "y")); c != "ErrorIrresolvableConflict" {
		t.Fatalf("after server change: %s", c)
	}
	if c := code(update(cur, "AlwaysOverwrite", "z")); c != "NoError" {
		t.Fatalf("AlwaysOverwrite: %s", c)
	}
	// Delete, then delete again.
	del := func() string {
		r := call(t, s, `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone" AffectedTaskOccurrences="AllOccurrences"><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:DeleteItem>`)
		return code(messages(r)[0])
	}
	if c := del(); c != "NoError" {
		t.Fatal(c)
	}
	if c := del(); c != "ErrorItemNotFound" {
		t.Fatal(c)
	}
}

func syncItems(t *testing.T, s *Server, state string, max int) *node {
	t.Helper()
	st := ""
	if state != "" {
		st = "<m:SyncState>" + state + "</m:SyncState>"
	}
	r := call(t, s, `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>`+st+`<m:MaxChangesReturned>`+itoa(max)+`</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>`)
	return messages(r)[0]
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestSyncFolderItems(t *testing.T) {
	s := New()
	defer s.Close()
	a := mustRef(t)(s.AddCalendarItem("calendar", singleICS))
	mustRef(t)(s.AddCalendarItem("calendar", weeklyICS))
	m := syncItems(t, s, "", 1)
	if m.kid("IncludesLastItemInRange").text() != "false" || len(find(m, "Create")) != 1 {
		t.Fatal("first page")
	}
	if !strings.HasPrefix(m.kid("SyncState").text(), "H4sI") {
		t.Fatal("SyncState should look like Exchange's (gzip base64)")
	}
	m = syncItems(t, s, m.kid("SyncState").text(), 512)
	if m.kid("IncludesLastItemInRange").text() != "true" || len(find(m, "Create")) != 1 {
		t.Fatal("second page")
	}
	state := m.kid("SyncState").text()
	if m = syncItems(t, s, state, 512); m.kid("Changes") == nil || len(m.kid("Changes").Kids) != 0 {
		t.Fatal("no changes expected")
	}
	if _, err := s.UpdateItem(a.ID, strings.Replace(singleICS, "Salle #1", "Salle #2", 1)); err != nil {
		t.Fatal(err)
	}
	c := mustRef(t)(s.AddCalendarItem("calendar", berlinICS))
	m = syncItems(t, s, state, 512)
	if len(find(m, "Update")) != 1 || len(find(m, "Create")) != 1 {
		t.Fatalf("update+create: %d %d", len(find(m, "Update")), len(find(m, "Create")))
	}
	state = m.kid("SyncState").text()
	if err := s.DeleteItem(a.ID); err != nil {
		t.Fatal(err)
	}
	_ = c
	m = syncItems(t, s, state, 512)
	if d := find(m, "Delete"); len(d) != 1 || d[0].kid("ItemId").attr("Id") != a.ID {
		t.Fatal("delete")
	}
	if m = syncItems(t, s, "garbage", 512); code(m) != "ErrorInvalidSyncStateData" {
		t.Fatal(code(m))
	}
	s.InvalidateSyncStates()
	if m = syncItems(t, s, state, 512); code(m) != "ErrorInvalidSyncStateData" {
		t.Fatal("invalidated state accepted")
	}
}

func TestFailureInjection(t *testing.T) {
	s := New()
	defer s.Close()
	body := envelope("", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`)
	s.Fail("GetFolder", 1, "ErrorServerBusy")
	r := post(t, s, body)
	if r.status != 500 || find(r.root, "Fault") == nil {
		t.Fatalf("busy: %d %s", r.status, r.raw)
	}
	if v := find(r.root, "Value"); len(v) != 1 || v[0].attr("Name") != "BackOffMilliseconds" || v[0].text() != "5000" {
		t.Fatalf("BackOffMilliseconds: %s", r.raw)
	}
	if fc := find(r.root, "faultcode")[0].text(); fc != "a:ErrorServerBusy" {
		t.Fatal(fc)
	}
	if r = post(t, s, body); r.status != 200 {
		t.Fatal("failure not consumed")
	}
	s.Inject("GetFolder", Failure{Times: 1, Code: "ErrorServerBusy", InResponse: true, BackOff: 297749 * time.Millisecond})
	r = post(t, s, body)
	m := messages(r.root.at("Body").Kids[0])[0]
	if code(m) != "ErrorServerBusy" || m.at("MessageXml", "Value").text() != "297749" {
		t.Fatalf("in-response busy: %s", r.raw)
	}
	s.Fail("*", 2, "HTTP503")
	if r = post(t, s, body); r.status != 503 {
		t.Fatal(r.status)
	}
	if r = post(t, s, body); r.status != 503 {
		t.Fatal(r.status)
	}
	s.Fail("GetFolder", 1, "Fault:ErrorInternalServerError")
	if r = post(t, s, body); r.status != 500 || !strings.Contains(r.raw, "a:ErrorInternalServerError") {
		t.Fatal(r.raw)
	}
	s.Slow("GetFolder", 1, 150*time.Millisecond)
	start := time.Now()
	if r = post(t, s, body); r.status != 200 || time.Since(start) < 150*time.Millisecond {
		t.Fatal("slow")
	}
	if s.Calls()["GetFolder"] != 7 {
		t.Fatalf("calls: %v", s.Calls())
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Fatal("reset")
	}
}

func TestContactsTasksAndLists(t *testing.T) {
	s := New()
	defer s.Close()
	c := mustRef(t)(s.AddContact("contacts", Contact{
		GivenName: "François", Surname: "Müller", CompanyName: "ACME", JobTitle: "Engineer",
		Birthday:  time.Date(1980, 5, 17, 11, 59, 0, 0, time.UTC),
		Emails:    map[string]string{"EmailAddress1": "f@example.test", "EmailAddress2": "f2@example.test"},
		Phones:    map[string]string{"MobilePhone": "+49 1", "HomePhone": "000"},
		Addresses: map[string]Address{"Business": {Street: "123 Street", City: "Berlin"}},
		Notes:     "likes tea", Photo: []byte{0xff, 0xd8, 0xff},
	}))
	mustRef(t)(s.AddDistributionList("contacts", DistributionList{DisplayName: "Team", Members: []Member{{"Bob", "bob@example.test"}}}))
	mustRef(t)(s.AddTask("tasks", Task{Subject: "Write fake", Status: "InProgress", PercentComplete: 50, DueDate: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)}))
	r := call(t, s, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="contacts:HasPicture"/><t:FieldURI FieldURI="item:Attachments"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+c.ID+`"/></m:ItemIds></m:GetItem>`)
	ct := find(messages(r)[0], "Contact")[0]
	if ct.kid("DisplayName").text() != "François Müller" || ct.kid("HasPicture").text() != "true" || ct.kid("Body").text() != "likes tea" {
		t.Fatal("contact fields")
	}
	if e := find(ct.kid("EmailAddresses"), "Entry"); len(e) != 2 || e[0].attr("Key") != "EmailAddress1" {
		t.Fatal("emails")
	}
	if e := find(ct.kid("PhoneNumbers"), "Entry"); len(e) != 2 {
		t.Fatal("phones")
	}
	if ct.at("PhysicalAddresses", "Entry", "City").text() != "Berlin" {
		t.Fatal("address")
	}
	att := find(ct, "FileAttachment")
	if len(att) != 1 || att[0].kid("IsContactPhoto").text() != "true" {
		t.Fatal("photo attachment")
	}
	ga := call(t, s, `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="`+att[0].kid("AttachmentId").attr("Id")+`"/></m:AttachmentIds></m:GetAttachment>`)
	if find(ga, "Content")[0].text() != base64.StdEncoding.EncodeToString([]byte{0xff, 0xd8, 0xff}) {
		t.Fatal("attachment content")
	}
	// Typed create + update + delete field.
	cr := call(t, s, `<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/></m:SavedItemFolderId><m:Items><t:Contact><t:GivenName>John</t:GivenName><t:EmailAddresses><t:Entry Key="EmailAddress1">john.smith@example.test</t:Entry></t:EmailAddresses><t:PhoneNumbers><t:Entry Key="HomePhone">000</t:Entry></t:PhoneNumbers><t:Surname>Smith</t:Surname></t:Contact></m:Items></m:CreateItem>`)
	nid := find(messages(cr)[0], "ItemId")[0]
	up := call(t, s, `<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+nid.attr("Id")+`" ChangeKey="`+nid.attr("ChangeKey")+`"/><t:Updates><t:SetItemField><t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress2"/><t:Contact><t:EmailAddresses><t:Entry Key="EmailAddress2">js@example.test</t:Entry></t:EmailAddresses></t:Contact></t:SetItemField><t:DeleteItemField><t:IndexedFieldURI FieldURI="contacts:PhoneNumber" FieldIndex="HomePhone"/></t:DeleteItemField><t:SetItemField><t:FieldURI FieldURI="contacts:JobTitle"/><t:Contact><t:JobTitle>CTO</t:JobTitle></t:Contact></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	if code(messages(up)[0]) != "NoError" {
		t.Fatal(code(messages(up)[0]))
	}
	fi := call(t, s, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/><m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="contacts:JobTitle"/><t:FieldURIOrConstant><t:Constant Value="cto"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`)
	got := find(messages(fi)[0], "Contact")
	if len(got) != 1 || len(find(got[0].kid("EmailAddresses"), "Entry")) != 2 || got[0].kid("PhoneNumbers") != nil {
		t.Fatalf("after contact update: %d", len(got))
	}
	all := call(t, s, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`)
	if len(find(all, "DistributionList")) != 1 || len(find(all, "Contact")) != 2 {
		t.Fatal("contacts folder listing")
	}
	tk := call(t, s, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="tasks"/></m:ParentFolderIds></m:FindItem>`)
	task := find(tk, "Task")[0]
	if task.kid("Status").text() != "InProgress" || task.kid("PercentComplete").text() != "50" || task.kid("DueDate").text() != "2025-07-01T00:00:00Z" {
		t.Fatal("task fields")
	}
	tid := task.kid("ItemId")
	call(t, s, `<m:UpdateItem ConflictResolution="AutoResolve"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+tid.attr("Id")+`" ChangeKey="`+tid.attr("ChangeKey")+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="task:Status"/><t:Task><t:Status>Completed</t:Status></t:Task></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	tk = call(t, s, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+tid.attr("Id")+`"/></m:ItemIds></m:GetItem>`)
	task = find(tk, "Task")[0]
	if task.kid("PercentComplete").text() != "100" || task.kid("CompleteDate") == nil || task.kid("IsComplete").text() != "true" {
		t.Fatal("completed task")
	}
	del := call(t, s, `<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="`+tid.attr("Id")+`"/></m:ItemIds></m:DeleteItem>`)
	if code(messages(del)[0]) != "ErrorAffectedTaskOccurrencesRequired" {
		t.Fatal("AffectedTaskOccurrences not enforced")
	}
}

func TestFoldersAndAvailability(t *testing.T) {
	s := New(WithMailboxes("room@example.test"))
	defer s.Close()
	if _, err := s.AddFolder("calendar", "Team", "IPF.Appointment"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFolder("msgfolderroot", "Other contacts", "IPF.Contact"); err != nil {
		t.Fatal(err)
	}
	ff := call(t, s, `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:Restriction><t:IsEqualTo><t:ExtendedFieldURI PropertyTag="0x3613" PropertyType="String"/><t:FieldURIOrConstant><t:Constant Value="IPF.Appointment"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>`)
	if n := len(find(ff, "CalendarFolder")); n != 2 {
		t.Fatalf("calendar folders: %d", n)
	}
	sfh := call(t, s, `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape></m:SyncFolderHierarchy>`)
	st := find(sfh, "SyncState")[0].text()
	if len(find(sfh, "Create")) < 10 {
		t.Fatal("hierarchy creates")
	}
	if err := s.Primary().RenameFolder("Team", "Team 2"); err != nil {
		t.Fatal(err)
	}
	sfh = call(t, s, `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:SyncState>`+st+`</m:SyncState></m:SyncFolderHierarchy>`)
	if u := find(sfh, "Update"); len(u) != 1 || find(u[0], "DisplayName")[0].text() != "Team 2" {
		t.Fatal("hierarchy update")
	}
	mustRef(t)(s.Mailbox("room@example.test").AddCalendarItem("calendar", weeklyICS))
	av := call(t, s, `<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>03:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>room@example.test</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData><t:MailboxData><t:Email><t:Address>ghost@example.test</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2025-07-01T00:00:00</t:StartTime><t:EndTime>2025-07-31T00:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`)
	frs := find(av, "FreeBusyResponse")
	if len(frs) != 2 || code(frs[0].kid("ResponseMessage")) != "NoError" || frs[1].kid("ResponseMessage").attr("ResponseClass") != "Error" {
		t.Fatal("availability responses")
	}
	evs := find(frs[0], "CalendarEvent")
	if len(evs) != 3 || evs[0].kid("StartTime").text() != "2025-07-02T10:00:00" || evs[0].kid("BusyType").text() != "Busy" {
		t.Fatalf("events: %d", len(evs))
	}
	if mf := find(frs[0], "MergedFreeBusy")[0].text(); len(mf) != 30*24 || !strings.Contains(mf, "2") {
		t.Fatalf("merged: %d", len(mf))
	}
}
