package googletest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/people/v1"
)

func name(given string) []*people.Name { return []*people.Name{{GivenName: given, FamilyName: "Doe"}} }

// bodyStatus is error.status of a Google JSON error: the generated
// clients keep only the HTTP code, so adapters read it from Body.
func bodyStatus(ge *googleapi.Error) string {
	var b struct {
		Error struct{ Status string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(ge.Body), &b)
	return b.Error.Status
}

func rns(ps []*people.Person) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ResourceName
	}
	return out
}

func TestConnectionsPagingAndSync(t *testing.T) {
	clk := newClock()
	s := newServer(t, WithClock(clk.Now), WithAccessTokenTTL(30*24*time.Hour))
	svc := peopleSvc(t, s)
	var created []string
	for i := range 5 {
		created = append(created, s.AddContact(&people.Person{Names: name(fmt.Sprint("p", i)),
			EmailAddresses: []*people.EmailAddress{{Value: fmt.Sprintf("p%d@example.com", i)}}}))
	}

	_, err := svc.People.Connections.List("people/me").Do()
	gerr(t, err, 400, "")

	list := func(call func() *people.PeopleConnectionsListCall) ([]*people.Person, string, int) {
		var all []*people.Person
		pages := 0
		for tok := ""; ; {
			res := must[*people.ListConnectionsResponse](t)(call().PageToken(tok).Do())
			pages++
			all = append(all, res.Connections...)
			if res.NextPageToken == "" {
				return all, res.NextSyncToken, pages
			}
			if res.NextSyncToken != "" {
				t.Fatal("nextSyncToken before the last page")
			}
			tok = res.NextPageToken
		}
	}
	ps, tok, pages := list(func() *people.PeopleConnectionsListCall {
		return svc.People.Connections.List("people/me").PersonFields("names").PageSize(2).RequestSyncToken(true)
	})
	if !slices.Equal(rns(ps), created) || pages != 3 || tok == "" {
		t.Fatalf("full: %v in %d pages, token %q", rns(ps), pages, tok)
	}
	if ps[0].EmailAddresses != nil || ps[0].Names[0].GivenName != "p0" || ps[0].Etag == "" {
		t.Errorf("personFields=names served %+v", ps[0])
	}

	// Our write, a Google-side edit, a delete and a merge.
	p1 := must[*people.Person](t)(svc.People.Get(created[1]).PersonFields("names,metadata").Do())
	p1.Names = name("renamed")
	up := must[*people.Person](t)(svc.People.UpdateContact(created[1], p1).UpdatePersonFields("names").Do())
	if up.Etag == p1.Etag || up.Names[0].GivenName != "renamed" {
		t.Errorf("updated = %+v", up)
	}
	if _, err := svc.People.DeleteContact(created[2]).Do(); err != nil {
		t.Fatal(err)
	}
	merged := s.MergeContacts(created[3], created[4])

	delta, tok2, _ := list(func() *people.PeopleConnectionsListCall {
		return svc.People.Connections.List("people/me").PersonFields("names,emailAddresses,metadata").SyncToken(tok)
	})
	if want := []string{created[1], created[2], merged}; !slices.Equal(rns(delta), want) {
		t.Fatalf("delta = %v, want %v", rns(delta), want)
	}
	if !delta[1].Metadata.Deleted {
		t.Errorf("deleted contact metadata = %+v", delta[1].Metadata)
	}
	if m := delta[2]; !slices.Equal(m.Metadata.PreviousResourceNames, []string{created[3], created[4]}) || len(m.EmailAddresses) != 2 {
		t.Errorf("merged = %+v, %+v", m.Metadata, m.EmailAddresses)
	}
	if _, err := svc.People.Get(created[3]).PersonFields("names").Do(); err == nil {
		t.Error("old resourceName still served")
	}

	// Tokens expire after 7 days with EXPIRED_SYNC_TOKEN in ErrorInfo.
	clk.Add(8 * 24 * time.Hour)
	_, err = svc.People.Connections.List("people/me").PersonFields("names").SyncToken(tok2).Do()
	ge := gerr(t, err, 400, "")
	var ae *apierror.APIError
	if !errors.As(err, &ae) || ae.Reason() != "EXPIRED_SYNC_TOKEN" || bodyStatus(ge) != "FAILED_PRECONDITION" {
		t.Fatalf("apierror = %v (%s)", ae, ge.Body)
	}
}

func TestUpdateContactEtag(t *testing.T) {
	s := newServer(t)
	svc := peopleSvc(t, s)
	c := must[*people.Person](t)(svc.People.CreateContact(&people.Person{Names: name("a")}).PersonFields("names,metadata,memberships").Do())
	if len(c.Metadata.Sources) != 1 || c.Metadata.Sources[0].Type != "CONTACT" || c.Metadata.Sources[0].Etag != c.Etag {
		t.Fatalf("metadata = %+v", c.Metadata)
	}
	if len(c.Memberships) != 1 || c.Memberships[0].ContactGroupMembership.ContactGroupResourceName != "contactGroups/myContacts" {
		t.Errorf("memberships = %+v", c.Memberships)
	}
	s.UpdateContact(c.ResourceName, func(p *people.Person) { p.Names = name("remote") })

	tests := []struct {
		name   string
		person *people.Person
		fields string
		code   int
		status string
	}{
		{"stale top-level etag", &people.Person{Etag: c.Etag, Names: name("b")}, "names", 400, "FAILED_PRECONDITION"},
		{"stale source etag", &people.Person{Metadata: c.Metadata, Names: name("b")}, "names", 400, "FAILED_PRECONDITION"},
		{"no etag", &people.Person{Names: name("b")}, "names", 400, "INVALID_ARGUMENT"},
		{"no updatePersonFields", &people.Person{Etag: c.Etag}, "", 400, "INVALID_ARGUMENT"},
		{"two names", &people.Person{Etag: c.Etag, Names: append(name("b"), name("c")...)}, "names", 400, "INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := svc.People.UpdateContact(c.ResourceName, tt.person)
			if tt.fields != "" {
				call.UpdatePersonFields(tt.fields)
			}
			_, err := call.Do()
			ge := gerr(t, err, tt.code, "")
			var ae *apierror.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("not an apierror: %v", err)
			}
			if tt.status == "FAILED_PRECONDITION" && (len(ge.Errors) == 0 || ge.Errors[0].Reason != "failedPrecondition") {
				t.Errorf("errors = %+v", ge.Errors)
			}
			if got := bodyStatus(ge); got != tt.status {
				t.Errorf("status = %s, want %s", got, tt.status)
			}
		})
	}
	cur, _ := s.Contact(c.ResourceName)
	ok := must[*people.Person](t)(svc.People.UpdateContact(c.ResourceName, &people.Person{Etag: cur.Etag, Names: name("b")}).
		UpdatePersonFields("names").PersonFields("names").Do())
	if ok.Names[0].GivenName != "b" {
		t.Errorf("updated = %+v", ok.Names)
	}
	if _, err := svc.People.DeleteContact(c.ResourceName).Do(); err != nil {
		t.Fatal(err)
	}
	_, err := svc.People.DeleteContact(c.ResourceName).Do()
	gerr(t, err, 404, "")
}

func TestContactGroups(t *testing.T) {
	s := newServer(t)
	svc := peopleSvc(t, s)
	fam := s.AddContactGroup("Climbing")
	s.AddContact(&people.Person{Names: name("a"), Memberships: []*people.Membership{
		{ContactGroupMembership: &people.ContactGroupMembership{ContactGroupResourceName: fam}},
		{ContactGroupMembership: &people.ContactGroupMembership{ContactGroupResourceName: "contactGroups/myContacts"}},
	}})
	s.AddContact(&people.Person{Names: name("b")})
	res := must[*people.ListContactGroupsResponse](t)(svc.ContactGroups.List().Do())
	counts := map[string]int64{}
	for _, g := range res.ContactGroups {
		counts[g.ResourceName] = g.MemberCount
	}
	if counts[fam] != 1 || counts["contactGroups/myContacts"] != 2 || res.NextSyncToken == "" {
		t.Errorf("counts = %v, token %q", counts, res.NextSyncToken)
	}
	g := must[*people.ContactGroup](t)(svc.ContactGroups.Get(fam).MaxMembers(10).Do())
	if g.GroupType != "USER_CONTACT_GROUP" || len(g.MemberResourceNames) != 1 {
		t.Errorf("group = %+v", g)
	}
	me := must[*people.Person](t)(svc.People.Get("people/me").PersonFields("emailAddresses").Do())
	if me.EmailAddresses[0].Value != DefaultUser {
		t.Errorf("profile = %+v", me.EmailAddresses)
	}
}
