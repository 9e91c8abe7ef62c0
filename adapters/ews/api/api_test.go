package api

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures returns the recorded EWS responses directory
// (../shared/fixtures/ews from the repository root), skipping when absent.
func fixtures(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "fixtures", "ews", "php-ews", "extracted")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("recorded EWS responses not present at %s (see docs: ../shared/fixtures/ews)", p)
	}
	return p
}

func decode(t *testing.T, name string) ResponseEnvelope {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures(t), name))
	if err != nil {
		t.Fatal(err)
	}
	var env ResponseEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return env
}

func one(t *testing.T, env ResponseEnvelope, op string) ResponseMessage {
	t.Helper()
	if env.Body.Response.XMLName.Local != op+"Response" {
		t.Fatalf("response element %q, want %sResponse", env.Body.Response.XMLName.Local, op)
	}
	msgs := env.Body.Response.Messages.List
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if msgs[0].XMLName.Local != op+"ResponseMessage" {
		t.Fatalf("message element %q", msgs[0].XMLName.Local)
	}
	return msgs[0]
}

func TestDecodeGetFolder(t *testing.T) {
	env := decode(t, "APITest.testGetFolderByDistinguishedId.00.GetFolderResponse.xml")
	if v := env.Header.ServerVersionInfo; v == nil || v.MajorVersion != 15 || v.Version != "V2018_01_08" {
		t.Errorf("ServerVersionInfo = %+v", v)
	}
	m := one(t, env, "GetFolder")
	if m.ResponseClass != "Success" || m.ResponseCode != "NoError" {
		t.Errorf("class/code = %s/%s", m.ResponseClass, m.ResponseCode)
	}
	if m.Folders == nil || len(m.Folders.List) != 1 {
		t.Fatalf("folders = %+v", m.Folders)
	}
	f := m.Folders.List[0]
	if f.XMLName.Local != "CalendarFolder" || f.FolderID == nil || f.FolderID.ID == "" || f.DisplayName != "Calendar" {
		t.Errorf("folder = %+v", f)
	}

	env = decode(t, "ContactsAPITest.testCreateContact.00.GetFolderResponse.xml")
	m = one(t, env, "GetFolder")
	if f := m.Folders.List[0]; f.XMLName.Local != "ContactsFolder" || f.DisplayName != "Contacts" {
		t.Errorf("contacts folder = %+v", f)
	}
}

func TestDecodeFindFolder(t *testing.T) {
	m := one(t, decode(t, "CalendarTest.testRecurringEventSupport.00.FindFolderResponse.xml"), "FindFolder")
	rf := m.RootFolder
	if rf == nil || !rf.IncludesLastItemInRange || rf.TotalItemsInView != 2 || rf.Folders == nil || len(rf.Folders.List) != 2 {
		t.Fatalf("root folder = %+v", rf)
	}
	got := []string{}
	for _, f := range rf.Folders.List {
		got = append(got, f.XMLName.Local+"|"+f.FolderClass+"|"+f.DisplayName)
		if f.EffectiveRights == nil || !f.EffectiveRights.Read {
			t.Errorf("%s: EffectiveRights = %+v", f.DisplayName, f.EffectiveRights)
		}
	}
	if want := "CalendarFolder|IPF.Appointment.Birthday|Birthdays CalendarFolder|IPF.Appointment|Test"; strings.Join(got, " ") != want {
		t.Errorf("folders = %q, want %q", strings.Join(got, " "), want)
	}

	m = one(t, decode(t, "APITest.testFolderPaging.03.FindFolderResponse.xml"), "FindFolder")
	if rf := m.RootFolder; rf.IncludesLastItemInRange || rf.IndexedPagingOffset != 2 || rf.TotalItemsInView != 5 || len(rf.Folders.List) != 2 {
		t.Errorf("paging root folder = %+v", rf)
	}
}

func TestDecodeFindItemCalendarView(t *testing.T) {
	m := one(t, decode(t, "CalendarTest.testRecurringEventSupport.05.FindItemResponse.xml"), "FindItem")
	rf := m.RootFolder
	if rf == nil || !rf.IncludesLastItemInRange || rf.Items == nil || len(rf.Items.CalendarItems) != 6 {
		t.Fatalf("root folder = %+v", rf)
	}
	types := map[string]int{}
	for _, it := range rf.Items.CalendarItems {
		types[it.CalendarItemType]++
		if it.ItemID == nil || it.ItemID.ChangeKey == "" || it.UID == "" {
			t.Errorf("item without id/ChangeKey/UID: %+v", it.ItemID)
		}
	}
	if types["Occurrence"] != 4 || types["Single"] != 2 {
		t.Errorf("types = %v", types)
	}
	first := rf.Items.CalendarItems[0]
	if first.Subject == nil || *first.Subject != "Réunion équipe - Café & Discusion" {
		t.Errorf("subject = %v", first.Subject)
	}
	if first.Start != "2025-07-01T16:00:00Z" || first.End != "2025-07-01T17:00:00Z" {
		t.Errorf("start/end = %s %s", first.Start, first.End)
	}
	// Occurrences share the master's ChangeKey and UID.
	occ := rf.Items.CalendarItems[1]
	if occ.CalendarItemType != "Occurrence" || occ.ItemID.ChangeKey != "DwAAABYAAADwSoBO6tE6QZYs8Ixm76GUAAAzNjiB" ||
		occ.UID != "040000008200E00074C5B7101A82E008000000001AF45EF9C7EDDB01000000000000000010000000F73231FC2ADB164D941E037E14477E38" {
		t.Errorf("occurrence = %+v %s", occ.ItemID, occ.UID)
	}
}

func TestDecodeFindItemPaging(t *testing.T) {
	m := one(t, decode(t, "ContactsAPITest.testPaging.03.FindItemResponse.xml"), "FindItem")
	rf := m.RootFolder
	if rf.IncludesLastItemInRange || rf.IndexedPagingOffset != 2 || rf.TotalItemsInView != 6 || len(rf.Items.Contacts) != 2 {
		t.Fatalf("root folder = %+v", rf)
	}
	if c := rf.Items.Contacts[0]; c.GivenName != "Doe 1" || c.DisplayName != "Doe 1" {
		t.Errorf("contact = %+v", c)
	}
}

func TestDecodeGetItemSingle(t *testing.T) {
	m := one(t, decode(t, "CalendarTest.testGetCalendarItem.04.GetItemResponse.xml"), "GetItem")
	if m.Items == nil || len(m.Items.CalendarItems) != 1 {
		t.Fatalf("items = %+v", m.Items)
	}
	it := m.Items.CalendarItems[0]
	if it.Subject == nil || *it.Subject != "Test Get Item 2" || it.ItemClass != "IPM.Appointment" {
		t.Errorf("subject/class = %v %s", it.Subject, it.ItemClass)
	}
	if it.UID != "040000008200E00074C5B7101A82E008000000005BF26DCD7C87D601000000000000000010000000E0535FAE67E4694A9A6DA9CEE56E079B" {
		t.Errorf("UID = %s", it.UID)
	}
	if it.CalendarItemType != "Single" || it.LastModifiedTime != "2020-09-10T14:15:14Z" || it.ReminderIsSet == nil || !*it.ReminderIsSet {
		t.Errorf("type/modified/reminder = %s %s %v", it.CalendarItemType, it.LastModifiedTime, it.ReminderIsSet)
	}
	if it.Body == nil || it.Body.BodyType != "Text" {
		t.Errorf("body = %+v", it.Body)
	}
	if it.Organizer == nil || it.Organizer.Mailbox.Name == "" {
		t.Errorf("organizer = %+v", it.Organizer)
	}
}

func TestDecodeGetItemRecurringMaster(t *testing.T) {
	m := one(t, decode(t, "CalendarTest.testRecurringEventSupport.04.GetItemResponse.xml"), "GetItem")
	it := m.Items.CalendarItems[0]
	if it.CalendarItemType != "RecurringMaster" {
		t.Errorf("type = %s", it.CalendarItemType)
	}
	if it.IsRecurring == nil || *it.IsRecurring { // Exchange says false on masters
		t.Errorf("IsRecurring = %v", it.IsRecurring)
	}
	r := it.Recurrence
	if r == nil || r.Weekly == nil || r.Weekly.Interval != 1 || r.Weekly.DaysOfWeek != "Wednesday" ||
		r.Numbered == nil || r.Numbered.NumberOfOccurrences != 4 || r.Numbered.StartDate != "2025-07-02Z" {
		t.Errorf("recurrence = %+v", r)
	}
	if it.FirstOccurrence == nil || it.FirstOccurrence.Start != "2025-07-02T10:00:00Z" ||
		it.LastOccurrence == nil || it.LastOccurrence.End != "2025-07-23T11:00:00Z" {
		t.Errorf("first/last = %+v %+v", it.FirstOccurrence, it.LastOccurrence)
	}
	if it.Start != "2025-07-02T10:00:00Z" {
		t.Errorf("start = %s", it.Start)
	}
}

func TestDecodeCreateUpdateDelete(t *testing.T) {
	// Two items created in one call: one message each, in order.
	msgs := decode(t, "CalendarTest.testGetCalendarItem.03.CreateItemResponse.xml").Body.Response.Messages.List
	if len(msgs) != 2 {
		t.Fatalf("%d create messages", len(msgs))
	}
	for _, m := range msgs {
		if m.ResponseCode != "NoError" || m.Items == nil || len(m.Items.CalendarItems) != 1 || m.Items.CalendarItems[0].ItemID.ChangeKey == "" {
			t.Errorf("create = %+v", m.Items)
		}
	}
	var m ResponseMessage
	m = one(t, decode(t, "CalendarTest.testUpdateCalendarItem.04.UpdateItemResponse.xml"), "UpdateItem")
	if m.ConflictResults == nil || m.ConflictResults.Count != 0 ||
		m.Items.CalendarItems[0].ItemID.ChangeKey != "DwAAABYAAAC30utV9Qm1Tp6i563HuBDKAAER7BnR" {
		t.Errorf("update = %+v %+v", m.ConflictResults, m.Items)
	}
	m = one(t, decode(t, "CalendarTest.testDeleteCalendarItem.06.DeleteItemResponse.xml"), "DeleteItem")
	if m.ResponseClass != "Success" || m.ResponseCode != "NoError" {
		t.Errorf("delete = %+v", m)
	}
	m = one(t, decode(t, "APITest.testDeleteItemsFail.02.DeleteItemResponse.xml"), "DeleteItem")
	if m.ResponseClass != "Error" || m.ResponseCode != "ErrorItemNotFound" || !strings.Contains(m.MessageText, "not found") {
		t.Errorf("delete missing = %+v", m)
	}
}

func TestDecodeSyncFolderItems(t *testing.T) {
	m := one(t, decode(t, "APITest.testListItemChanges.02.SyncFolderItemsResponse.xml"), "SyncFolderItems")
	if !strings.HasPrefix(m.SyncState, "H4sI") || m.IncludesLastItemInRange == nil || !*m.IncludesLastItemInRange {
		t.Errorf("state/last = %q %v", m.SyncState, m.IncludesLastItemInRange)
	}
	if m.Changes == nil || len(m.Changes.List) != 1 {
		t.Fatalf("changes = %+v", m.Changes)
	}
	ch := m.Changes.List[0]
	if ch.Kind() != "Create" || ch.CalendarItem == nil || ch.ID().ID == "" || *ch.CalendarItem.Subject != "Test Sync Item Changes" {
		t.Errorf("change = %s %+v", ch.Kind(), ch.ID())
	}
	for _, name := range []string{"APITest.testListItemChanges.03.SyncFolderItemsResponse.xml", "CalendarTest.testListChanges.03.SyncFolderItemsResponse.xml"} {
		m := one(t, decode(t, name), "SyncFolderItems")
		if m.SyncState == "" || m.Changes == nil || len(m.Changes.List) != 0 {
			t.Errorf("%s: state %q changes %+v", name, m.SyncState, m.Changes)
		}
	}
}

func TestDecodeContact(t *testing.T) {
	m := one(t, decode(t, "ContactsAPITest.testCreateContact.03.GetItemResponse.xml"), "GetItem")
	c := m.Items.Contacts[0]
	if c.GivenName == "" || c.EmailAddresses == nil || c.EmailAddresses.List[0].Key != "EmailAddress1" || c.PhoneNumbers == nil {
		t.Errorf("contact = %+v", c)
	}
	m = one(t, decode(t, "ContactsAPITest.testDeleteContactField.04.GetItemResponse.xml"), "GetItem")
	if c := m.Items.Contacts[0]; c.PhysicalAddresses == nil || c.PhysicalAddresses.List[0].Street == "" {
		t.Errorf("addresses = %+v", c.PhysicalAddresses)
	}
}

func TestDecodeGetServerTimeZones(t *testing.T) {
	m := one(t, decode(t, "APITest.testGetServerTimezones.00.GetServerTimeZonesResponse.xml"), "GetServerTimeZones")
	if len(m.TimeZoneDefinitions) < 100 {
		t.Fatalf("%d time zones", len(m.TimeZoneDefinitions))
	}
	found := false
	for _, z := range m.TimeZoneDefinitions {
		if z.ID == "W. Europe Standard Time" && strings.Contains(z.Name, "Amsterdam") {
			found = true
		}
	}
	if !found {
		t.Error("W. Europe Standard Time not found")
	}
}

func TestDecodeErrorWithMessageXML(t *testing.T) {
	dir := filepath.Join(fixtures(t), "..", "..", "ews-java-api")
	data, err := os.ReadFile(filepath.Join(dir, "ExportItemsResponseFail.xml"))
	if err != nil {
		t.Skip(err)
	}
	var env ResponseEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	msgs := env.Body.Response.Messages.List
	if len(msgs) == 0 || msgs[0].ResponseCode != "ErrorNonExistentMailbox" || len(msgs[0].MessageXML.Values) == 0 {
		t.Errorf("messages = %+v", msgs)
	}
}

// TestEncodeNamespaces checks that requests put every element in the
// namespace EWS expects, whatever prefix each carries.
func TestEncodeNamespaces(t *testing.T) {
	h := Header{RequestServerVersion: RequestServerVersion{Version: "Exchange2013_SP1"},
		ExchangeImpersonation: &ExchangeImpersonation{SmtpAddress: "a@example.com"}}
	subj := "x"
	req := &UpdateItem{ConflictResolution: "NeverOverwrite", ItemChanges: []ItemChange{{ItemID: ItemID{ID: "i", ChangeKey: "k"},
		Updates: []Update{SetField("item:Subject", &CalendarItem{Subject: &subj}), DeleteField("calendar:Location"),
			SetExtended(ExtendedFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "p", PropertyType: "String"}, "v")}}}}
	var buf bytes.Buffer
	if err := xml.NewEncoder(&buf).Encode(NewEnvelope(h, req)); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	var got []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			ns := map[string]string{NSSoap: "soap", NSTypes: "t", NSMessages: "m"}[se.Name.Space]
			got = append(got, ns+":"+se.Name.Local)
		}
	}
	want := "soap:Envelope soap:Header t:RequestServerVersion t:ExchangeImpersonation t:ConnectingSID t:SmtpAddress soap:Body " +
		"m:UpdateItem m:ItemChanges t:ItemChange t:ItemId t:Updates t:SetItemField t:FieldURI t:CalendarItem t:Subject " +
		"t:DeleteItemField t:FieldURI t:SetItemField t:ExtendedFieldURI t:CalendarItem t:ExtendedProperty t:ExtendedFieldURI t:Value"
	if strings.Join(got, " ") != want {
		t.Errorf("elements:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestEncodeItemOrder(t *testing.T) {
	// MimeContent first, ExtendedProperty before the calendar fields.
	b, err := xml.Marshal(CalendarItem{MimeContent: &MimeContent{Value: "QQ=="}, ExtendedProperty: []ExtendedProperty{{Value: "v"}},
		LegacyFreeBusyStatus: "Free"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !(strings.Index(s, "<MimeContent") < strings.Index(s, "<ExtendedProperty") && strings.Index(s, "<ExtendedProperty") < strings.Index(s, "<LegacyFreeBusyStatus")) {
		t.Errorf("order: %s", s)
	}
}
