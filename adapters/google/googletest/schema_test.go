package googletest

import (
	"encoding/json"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/people/v1"
)

type schemaNode struct {
	Ref        string                 `json:"$ref"`
	Type       string                 `json:"type"`
	Properties map[string]*schemaNode `json:"properties"`
	Items      *schemaNode            `json:"items"`
	Additional *schemaNode            `json:"additionalProperties"`
}

// discovery loads a discovery document shipped in the google.golang.org/api
// module, skipping the test when the module source is not available.
func discovery(t *testing.T, rel string) map[string]*schemaNode {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("google.golang.org/api module dir not found: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Skipf("discovery document: %v", err)
	}
	var doc struct {
		Schemas map[string]*schemaNode `json:"schemas"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Schemas
}

// unknownFields lists JSON paths in v that the schema does not define.
func unknownFields(schemas map[string]*schemaNode, n *schemaNode, v any, path string, out map[string]bool) {
	if n == nil {
		return
	}
	if n.Ref != "" {
		unknownFields(schemas, schemas[n.Ref], v, path, out)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p, ok := n.Properties[k]
			switch {
			case ok:
				unknownFields(schemas, p, child, path+"."+k, out)
			case n.Additional != nil:
				unknownFields(schemas, n.Additional, child, path+"."+k, out)
			default:
				out[path+"."+k] = true
			}
		}
	case []any:
		for _, e := range v {
			unknownFields(schemas, n.Items, e, path+"[]", out)
		}
	}
}

// TestFieldsInDiscovery checks every field name the fake emits against
// the discovery documents the generated clients were built from.
func TestFieldsInDiscovery(t *testing.T) {
	calSchemas := discovery(t, "calendar/v3/calendar-api.json")
	peopleSchemas := discovery(t, "people/v1/people-api.json")

	s := newServer(t)
	csvc, psvc := calSvc(t, s), peopleSvc(t, s)
	s.AddCalendar(&calendar.CalendarListEntry{Summary: "ro", AccessRole: "reader", Hidden: true})
	st, en := timed("2026-03-03T10:00:00Z", 30)
	single := s.PutEventJSON("primary", `{"summary":"s","start":{"dateTime":"2026-03-03T10:00:00Z"},"end":{"dateTime":"2026-03-03T11:00:00Z"},
		"reminders":{"useDefault":false,"overrides":[{"method":"popup","minutes":0}]},"attendees":[{"email":"a@example.com","responseStatus":"accepted"}],
		"extendedProperties":{"private":{"href":"x.ics"}},"transparency":"transparent","visibility":"private","colorId":"3"}`)
	master := must[*calendar.Event](t)(csvc.Events.Insert("primary", &calendar.Event{Summary: "m", Recurrence: []string{"RRULE:FREQ=DAILY;COUNT=3"},
		Start: &calendar.EventDateTime{DateTime: "2026-03-02T09:00:00+01:00", TimeZone: "Europe/Berlin"},
		End:   &calendar.EventDateTime{DateTime: "2026-03-02T10:00:00+01:00", TimeZone: "Europe/Berlin"}}).Do())
	inst := must[*calendar.Events](t)(csvc.Events.Instances("primary", master.Id).Do()).Items
	inst[0].Summary = "moved"
	must[*calendar.Event](t)(csvc.Events.Update("primary", inst[0].Id, inst[0]).Do())
	if err := csvc.Events.Delete("primary", inst[1].Id).Do(); err != nil {
		t.Fatal(err)
	}
	must[*calendar.Event](t)(csvc.Events.Import("primary", &calendar.Event{ICalUID: "u@x", Start: st, End: en}).Do())
	s.DeleteEvent("primary", single.Id)

	c1 := s.AddContact(&people.Person{Names: name("a"), EmailAddresses: []*people.EmailAddress{{Value: "a@example.com", Type: "work"}},
		Birthdays: []*people.Birthday{{Date: &people.Date{Month: 4, Day: 1}}}})
	c2 := s.AddContact(&people.Person{Names: name("b")})
	grp := s.AddContactGroup("g")
	tok := must[*people.ListConnectionsResponse](t)(psvc.People.Connections.List("people/me").PersonFields("names").RequestSyncToken(true).Do()).NextSyncToken
	s.DeleteContact(c2)
	s.MergeContacts(c1)

	tokenHeader := "Bearer " + s.Token().AccessToken
	get := func(u string) any {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", tokenHeader)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", u, res.Status, b)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	cb, pb := s.CalendarBase(), s.PeopleBase()
	all := strings.Join(func() []string {
		var fs []string
		for f := range personFields {
			fs = append(fs, f)
		}
		sort.Strings(fs)
		return fs
	}(), ",")
	checks := []struct {
		schemas map[string]*schemaNode
		schema  string
		url     string
	}{
		{calSchemas, "CalendarList", cb + "users/me/calendarList?showHidden=true"},
		{calSchemas, "CalendarListEntry", cb + "users/me/calendarList/primary"},
		{calSchemas, "Calendar", cb + "calendars/primary"},
		{calSchemas, "Events", cb + "calendars/primary/events?showDeleted=true"},
		{calSchemas, "Events", cb + "calendars/primary/events?singleEvents=true"},
		{calSchemas, "Events", cb + "calendars/primary/events/" + master.Id + "/instances?showDeleted=true"},
		{calSchemas, "Event", cb + "calendars/primary/events/" + single.Id},
		{peopleSchemas, "ListConnectionsResponse", pb + "v1/people/me/connections?personFields=" + all},
		{peopleSchemas, "ListConnectionsResponse", pb + "v1/people/me/connections?personFields=" + all + "&syncToken=" + neturl.QueryEscape(tok)},
		{peopleSchemas, "Person", pb + "v1/people/me?personFields=" + all},
		{peopleSchemas, "ListContactGroupsResponse", pb + "v1/contactGroups"},
		{peopleSchemas, "ContactGroup", pb + "v1/" + grp + "?maxMembers=5"},
	}
	// The checker itself must catch a stray name, nested or not.
	bad := map[string]bool{}
	unknownFields(calSchemas, calSchemas["Events"], map[string]any{"items": []any{map[string]any{"start": map[string]any{"datetime": "x"}}}, "bogus": 1}, "Events", bad)
	if !bad["Events.items[].start.datetime"] || !bad["Events.bogus"] || len(bad) != 2 {
		t.Fatalf("checker found %v", bad)
	}
	for _, c := range checks {
		t.Run(c.schema, func(t *testing.T) {
			if c.schemas[c.schema] == nil {
				t.Fatalf("no schema %s", c.schema)
			}
			bad := map[string]bool{}
			unknownFields(c.schemas, c.schemas[c.schema], get(c.url), c.schema, bad)
			for f := range bad {
				t.Errorf("%s: field %s not in discovery document", c.url, f)
			}
		})
	}
}
