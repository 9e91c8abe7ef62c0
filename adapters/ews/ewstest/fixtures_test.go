package ewstest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixturesDir walks up from the package directory to the repository root's
// sibling ../shared/fixtures/ews.
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "fixtures", "ews")
			if _, err := os.Stat(p); err != nil {
				t.Skipf("EWS fixtures not found at %s (../shared/fixtures/ews next to the repository); skipping", p)
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found; skipping fixture comparison")
		}
		dir = parent
	}
}

// skeleton reduces a SOAP document to its element paths ("s:Envelope/s:Body/
// m:GetItemResponse/...", with the prefixes as written), attribute paths
// (".../m:RootFolder@IncludesLastItemInRange"; xmlns declarations left out),
// and, per parent path, the order in which child names first appear.
type skeleton struct {
	paths map[string]bool
	order map[string][]string
}

func skeletonOf(raw string) (skeleton, error) {
	sk := skeleton{paths: map[string]bool{}, order: map[string][]string{}}
	d := xml.NewDecoder(strings.NewReader(raw))
	d.Strict = true
	var stack []string
	var kids [][]string // child names of each open element, in order
	// Prefixes are not exposed by encoding/xml's namespace handling, so read
	// raw tokens.
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sk, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if t.Name.Space != "" {
				name = t.Name.Space + ":" + name
			}
			if len(kids) > 0 {
				kids[len(kids)-1] = append(kids[len(kids)-1], name)
			}
			stack = append(stack, name)
			kids = append(kids, nil)
			p := strings.Join(stack, "/")
			sk.paths[p] = true
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				an := a.Name.Local
				if a.Name.Space != "" {
					an = a.Name.Space + ":" + an
				}
				sk.paths[p+"@"+an] = true
			}
		case xml.EndElement:
			p := strings.Join(stack, "/")
			sk.order[p] = mergeOrder(sk.order[p], kids[len(kids)-1])
			stack, kids = stack[:len(stack)-1], kids[:len(kids)-1]
		}
	}
	return sk, nil
}

func (sk skeleton) merge(o skeleton) {
	for p := range o.paths {
		sk.paths[p] = true
	}
	for parent, names := range o.order {
		sk.order[parent] = mergeOrder(sk.order[parent], names)
	}
}

// mergeOrder adds the names missing from cur, each after the previous name
// of names that cur has, so that both sequences stay embedded.
func mergeOrder(cur, names []string) []string {
	prev := -1
	for _, n := range names {
		i := -1
		for j, x := range cur {
			if x == n {
				i = j
				break
			}
		}
		if i >= 0 {
			prev = i
			continue
		}
		cur = append(cur[:prev+1], append([]string{n}, cur[prev+1:]...)...)
		prev++
	}
	return cur
}

// ignored lists fixture paths the fake deliberately does not produce:
// properties of Exchange Online / Azure AD contacts, message-only response
// objects and version-specific details it does not model.
var ignoredSuffixes = []string{
	"/t:AccountName", "/t:ObjectId", "/t:SourceId", // EXO persona fields of contacts
	"/t:CalendarItem/t:IsOnlineMeeting", // only with the fixture's Exchange builds' defaults
}

func ignored(p string) bool {
	for _, s := range ignoredSuffixes {
		if strings.HasSuffix(p, s) || strings.Contains(p, s+"/") || strings.Contains(p, s+"@") {
			return true
		}
	}
	return false
}

// compareSkeleton reports fixture paths missing from the fake and sibling
// order disagreements.
func compareSkeleton(fix, fake skeleton) (missing, misordered []string) {
	for p := range fix.paths {
		if !fake.paths[p] && !ignored(p) {
			missing = append(missing, p)
		}
	}
	for parent, names := range fix.order {
		pos := map[string]int{}
		for i, n := range fake.order[parent] {
			pos[n] = i
		}
		last, lastName := -1, ""
		for _, n := range names {
			i, ok := pos[n]
			if !ok {
				continue
			}
			if i < last {
				misordered = append(misordered, parent+": "+lastName+" before "+n)
			}
			last, lastName = i, n
		}
	}
	sort.Strings(missing)
	sort.Strings(misordered)
	return
}

// fixtureScenario seeds a fake like the recordings' mailboxes and answers
// each recorded operation with an equivalent request.
type fixtureScenario struct {
	s      *Server
	single ItemRef
	master ItemRef
	john   ItemRef
	smith  ItemRef
	out    map[string]string // fixture name → fake response
	byOp   map[string]skeleton
}

func newFixtureScenario(t *testing.T) *fixtureScenario {
	s := New(WithClock(func() time.Time { return time.Date(2025, 7, 5, 16, 15, 7, 0, time.UTC) }))
	t.Cleanup(s.Close)
	fs := &fixtureScenario{s: s, out: map[string]string{}, byOp: map[string]skeleton{}}
	fs.single = mustRef(t)(s.AddCalendarItem("calendar", singleICS))
	fs.master = mustRef(t)(s.AddCalendarItem("calendar", weeklyICS))
	fs.john = mustRef(t)(s.AddContact("contacts", Contact{GivenName: "John", Surname: "Smith",
		Emails: map[string]string{"EmailAddress1": "john.smith@gmail.com"}, Phones: map[string]string{"HomePhone": "000"}}))
	fs.smith = mustRef(t)(s.AddContact("contacts", Contact{Surname: "Smith",
		Emails:    map[string]string{"EmailAddress1": "john.smith@gmail.com"},
		Addresses: map[string]Address{"Business": {Street: "123 Street", City: "Town", State: "123 State", CountryOrRegion: "UK", PostalCode: "W1"}}}))
	for i := 0; i < 4; i++ {
		mustRef(t)(s.AddContact("contacts", Contact{GivenName: "Doe " + string(rune('1'+i))}))
	}
	for i := 0; i < 5; i++ {
		if _, err := s.AddFolder("msgfolderroot", "Deep "+string(rune('1'+i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddFolder("calendar", "Birthdays", "IPF.Appointment.Birthday"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFolder("calendar", "Test", "IPF.Appointment"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFolder("contacts", "Test Contacts", "IPF.Contact"); err != nil {
		t.Fatal(err)
	}
	return fs
}

func (fs *fixtureScenario) run(t *testing.T, name, body string) {
	t.Helper()
	r := post(t, fs.s, envelope("", body))
	if r.status != 200 {
		t.Fatalf("%s: status %d: %s", name, r.status, r.raw)
	}
	fs.out[name] = r.raw
	sk, err := skeletonOf(r.raw)
	if err != nil {
		t.Fatalf("%s: fake response is not XML: %v", name, err)
	}
	op := r.root.at("Body").Kids[0].Local
	if cur, ok := fs.byOp[op]; ok {
		cur.merge(sk)
	} else {
		fs.byOp[op] = sk
	}
}

func (fs *fixtureScenario) runAll(t *testing.T) {
	getItemAll := func(id string) string {
		return `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="` + id + `"/></m:ItemIds></m:GetItem>`
	}
	fs.run(t, "APITest.testGetFolderByDistinguishedId.00.GetFolderResponse.xml",
		`<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`)
	fs.run(t, "ContactsAPITest.testCreateContact.00.GetFolderResponse.xml",
		`<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder>`)
	fs.run(t, "APITest.testFolderPaging.03.FindFolderResponse.xml",
		`<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/><m:Restriction><t:Contains ContainmentMode="Prefixed" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="folder:DisplayName"/><t:Constant Value="Deep"/></t:Contains></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>`)
	fs.run(t, "CalendarTest.testRecurringEventSupport.00.FindFolderResponse.xml",
		`<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindFolder>`)
	fs.run(t, "FindFolder contacts",
		`<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindFolder>`)
	calView := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2025-07-01T00:00:00Z" EndDate="2025-08-01T00:00:00Z"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`
	fs.run(t, "CalendarTest.testRecurringEventSupport.05.FindItemResponse.xml", calView)
	fs.run(t, "CalendarTest.testCalendarTimezoneHandling.04.FindItemResponse.xml", calView)
	fs.run(t, "CalendarTest.testCalendarInternationalCharacters.04.FindItemResponse.xml", calView)
	fs.run(t, "ContactsAPITest.testPaging.03.FindItemResponse.xml",
		`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>`)
	fs.run(t, "CalendarTest.testGetCalendarItem.04.GetItemResponse.xml", getItemAll(fs.single.ID))
	fs.run(t, "CalendarTest.testRecurringEventSupport.04.GetItemResponse.xml", getItemAll(fs.master.ID))
	fs.run(t, "ContactsAPITest.testCreateContact.03.GetItemResponse.xml", getItemAll(fs.john.ID))
	fs.run(t, "ContactsAPITest.testInternationalContactSupport.03.GetItemResponse.xml", getItemAll(fs.john.ID))
	fs.run(t, "ContactsAPITest.testDeleteContactField.04.GetItemResponse.xml", getItemAll(fs.smith.ID))
	// Initial sync (AllProperties), then an empty incremental one.
	r := post(t, fs.s, envelope("", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>1</m:MaxChangesReturned></m:SyncFolderItems>`))
	fs.out["APITest.testListItemChanges.02.SyncFolderItemsResponse.xml"] = r.raw
	fs.byOp["SyncFolderItemsResponse"] = mustSkeleton(t, r.raw)
	st := find(r.root, "SyncState")[0].text()
	for i := 0; i < 3; i++ {
		r = post(t, fs.s, envelope("", `<m:SyncFolderItems><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:SyncState>`+st+`</m:SyncState><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>`))
		st = find(r.root, "SyncState")[0].text()
	}
	fs.out["APITest.testListItemChanges.03.SyncFolderItemsResponse.xml"] = r.raw
	fs.out["CalendarTest.testListChanges.03.SyncFolderItemsResponse.xml"] = r.raw
	fs.byOp["SyncFolderItemsResponse"].merge(mustSkeleton(t, r.raw))
	// Two creates in one call.
	ics := func(uid string) string {
		return strings.Replace(singleICS, "single-1@example.test", uid, 1)
	}
	fs.run(t, "CalendarTest.testGetCalendarItem.03.CreateItemResponse.xml",
		`<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:MimeContent>`+b64(ics("a@x"))+`</t:MimeContent></t:CalendarItem><t:CalendarItem><t:Subject>Test Get Item 2</t:Subject><t:Start>2015-07-01T08:00:00Z</t:Start><t:End>2015-07-01T09:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`)
	fs.run(t, "ContactsAPITest.testCreateContact.02.CreateItemResponse.xml",
		`<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/></m:SavedItemFolderId><m:Items><t:Contact><t:GivenName>John</t:GivenName><t:Surname>Smith</t:Surname></t:Contact></m:Items></m:CreateItem>`)
	fs.run(t, "CalendarTest.testUpdateCalendarItem.04.UpdateItemResponse.xml",
		`<m:UpdateItem ConflictResolution="AutoResolve" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+fs.single.ID+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Updated</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	fs.run(t, "ContactsAPITest.testUpdateContact.03.UpdateItemResponse.xml",
		`<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+fs.john.ID+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="contacts:GivenName"/><t:Contact><t:GivenName>Jane</t:GivenName></t:Contact></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	del := func(id string) string {
		return `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="` + id + `"/></m:ItemIds></m:DeleteItem>`
	}
	fs.run(t, "CalendarTest.testDeleteCalendarItem.06.DeleteItemResponse.xml", del(fs.single.ID))
	fs.run(t, "APITest.testDeleteItemsFail.02.DeleteItemResponse.xml", del(fs.single.ID))
	fs.run(t, "APITest.testGetServerTimezones.00.GetServerTimeZonesResponse.xml",
		`<m:GetServerTimeZones ReturnFullTimeZoneData="false"/>`)
}

func mustSkeleton(t *testing.T, raw string) skeleton {
	t.Helper()
	sk, err := skeletonOf(raw)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// TestFixtureShapes compares every recorded response of an implemented
// operation with the fake's answer to an equivalent request: each element
// and attribute path of the recording must appear in the fake's response
// (with the same prefixes), and siblings present in both must come in the
// recorded order. Recordings in php-ews/recordings/*.json are checked
// against the union of the fake's responses for the same operation.
func TestFixtureShapes(t *testing.T) {
	dir := fixturesDir(t)
	fs := newFixtureScenario(t)
	fs.runAll(t)

	extracted, _ := filepath.Glob(filepath.Join(dir, "php-ews", "extracted", "*.xml"))
	if len(extracted) == 0 {
		t.Skip("no extracted EWS fixtures found")
	}
	checked := 0
	for _, path := range extracted {
		name := filepath.Base(path)
		fake, ok := fs.out[name]
		if !ok {
			t.Errorf("%s: no equivalent request in the scenario", name)
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fix := mustSkeleton(t, string(raw))
		missing, misordered := compareSkeleton(fix, mustSkeleton(t, fake))
		for _, m := range missing {
			t.Errorf("%s: fake lacks %s", name, m)
		}
		for _, m := range misordered {
			t.Errorf("%s: order differs: %s", name, m)
		}
		checked++
	}

	recs, _ := filepath.Glob(filepath.Join(dir, "php-ews", "recordings", "*.json"))
	for _, path := range recs {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var responses []struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(raw, &responses); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for i, r := range responses {
			fix, err := skeletonOf(r.Body)
			if err != nil {
				t.Errorf("%s[%d]: %v", filepath.Base(path), i, err)
				continue
			}
			op := ""
			for p := range fix.paths {
				if parts := strings.Split(p, "/"); len(parts) == 3 && !strings.Contains(p, "@") && parts[1] == "s:Body" {
					op = strings.TrimPrefix(parts[2], "m:")
				}
			}
			fake, ok := fs.byOp[op]
			if !ok {
				t.Logf("%s[%d]: %s not compared (operation not exercised by the scenario)", filepath.Base(path), i, op)
				continue
			}
			missing, misordered := compareSkeleton(fix, fake)
			for _, m := range missing {
				t.Errorf("%s[%d] %s: fake lacks %s", filepath.Base(path), i, op, m)
			}
			for _, m := range misordered {
				t.Errorf("%s[%d] %s: order differs: %s", filepath.Base(path), i, op, m)
			}
			checked++
		}
	}
	t.Logf("compared %d recorded responses", checked)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
