package googletest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/people/v1"
)

// contact is a CONTACT-source person. raw holds the person fields as sent
// (without resourceName, etag, metadata, which the server owns).
type contact struct {
	rn      string
	raw     map[string]any
	seq     int64
	updated time.Time
	srcID   string
	prev    []string
	deleted bool
}

type group struct {
	g       people.ContactGroup
	seq     int64
	deleted bool
}

// personFields are the valid personFields / updatePersonFields paths.
var personFields = map[string]bool{
	"addresses": true, "ageRanges": false, "biographies": true, "birthdays": true, "calendarUrls": true,
	"clientData": true, "coverPhotos": false, "emailAddresses": true, "events": true, "externalIds": true,
	"genders": true, "imClients": true, "interests": true, "locales": true, "locations": true,
	"memberships": true, "metadata": false, "miscKeywords": true, "names": true, "nicknames": true,
	"occupations": true, "organizations": true, "phoneNumbers": true, "photos": false, "relations": true,
	"sipAddresses": true, "skills": true, "urls": true, "userDefined": true,
}

// singletons may hold at most one value on a contact.
var singletons = []string{"names", "birthdays", "genders", "biographies"}

func systemGroups() map[string]*group {
	m := map[string]*group{}
	for _, g := range []struct{ id, name string }{
		{"myContacts", "My Contacts"}, {"starred", "Starred"}, {"friends", "Friends"},
		{"family", "Family"}, {"coworkers", "Coworkers"},
	} {
		m["contactGroups/"+g.id] = &group{g: people.ContactGroup{
			ResourceName: "contactGroups/" + g.id, Name: g.id, FormattedName: g.name, GroupType: "SYSTEM_CONTACT_GROUP",
		}}
	}
	return m
}

func peopleErr(code int, status, msg string) *apiError {
	return &apiError{Code: code, Status: status, Message: msg}
}

func errPersonNotFound() error {
	return peopleErr(404, "NOT_FOUND", "Requested entity was not found.")
}

func (s *Server) routePeople(mux *http.ServeMux) {
	h := func(pattern, op string, fn apiHandler) { mux.Handle(pattern, s.api(op, fn)) }
	h("GET /v1/people/me/connections", "people.people.connections.list", s.connectionsList)
	h("GET /v1/people/{id}", "people.people.get", s.peopleGet)
	h("POST /v1/people:createContact", "people.people.createContact", s.createContact)
	h("PATCH /v1/people/{call}", "people.people.updateContact", s.updateContact)
	h("DELETE /v1/people/{call}", "people.people.deleteContact", s.deleteContact)
	h("GET /v1/contactGroups", "people.contactGroups.list", s.groupsList)
	h("GET /v1/contactGroups/{id}", "people.contactGroups.get", s.groupsGet)
	h("POST /v1/contactGroups", "people.contactGroups.create", s.groupsCreate)
}

// parseMask reads a field mask parameter; required masks answer 400 when
// missing, as Google does for personFields.
func parseMask(r *http.Request, name string, required bool, valid func(string) bool) (map[string]bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if required {
			return nil, peopleErr(400, "INVALID_ARGUMENT", name+" mask is required. Please specify one or more valid paths. "+
				"Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/get.")
		}
		return nil, nil
	}
	m := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimPrefix(strings.TrimSpace(f), "person.")
		if !valid(f) {
			return nil, peopleErr(400, "INVALID_ARGUMENT", "Invalid "+name+" mask path: \""+f+"\". Valid paths are documented at "+
				"https://developers.google.com/people/api/rest/v1/people/get.")
		}
		m[f] = true
	}
	return m, nil
}

func isPersonField(f string) bool { _, ok := personFields[f]; return ok }

// personEtag looks like Google's "%EgUBAi43PRoEAQIFByIM..." etags.
func personEtag(seq int64) string {
	return "%" + base64.StdEncoding.EncodeToString(binary.AppendVarint([]byte{0x12, 0x05}, etagBase+seq))
}

// render returns the person as served: mask selects fields (nil: all);
// sync adds previousResourceNames, as Google does only in sync responses.
func (c *contact) render(mask map[string]bool, sync bool) map[string]any {
	etag := personEtag(c.seq)
	if c.deleted {
		return map[string]any{"resourceName": c.rn, "etag": etag, "metadata": map[string]any{"deleted": true}}
	}
	m := map[string]any{"resourceName": c.rn, "etag": etag}
	for k, v := range c.raw {
		if mask == nil || mask[k] {
			m[k] = v
		}
	}
	if mask == nil || mask["metadata"] {
		md := map[string]any{
			"sources": []any{map[string]any{"type": "CONTACT", "id": c.srcID, "etag": etag,
				"updateTime": c.updated.UTC().Format(time.RFC3339Nano)}},
			"objectType": "PERSON",
		}
		if sync && len(c.prev) > 0 {
			md["previousResourceNames"] = c.prev
		}
		m["metadata"] = md
	}
	return m
}

func checkSingletons(raw map[string]any) error {
	for _, f := range singletons {
		if a, ok := raw[f].([]any); ok && len(a) > 1 {
			return peopleErr(400, "INVALID_ARGUMENT", "Invalid person."+f+": Only one field is allowed.")
		}
	}
	return nil
}

// storeContact writes c's data, bumping its etag. Locked.
func (s *Server) storeContact(u *user, c *contact) {
	c.seq = s.nextSeq()
	c.updated = s.now()
	u.contacts[c.rn] = c
}

func (s *Server) newContact(u *user, raw map[string]any) *contact {
	for _, k := range []string{"resourceName", "etag", "metadata"} {
		delete(raw, k)
	}
	if _, ok := raw["memberships"]; !ok {
		raw["memberships"] = []any{map[string]any{"contactGroupMembership": map[string]any{
			"contactGroupId": "myContacts", "contactGroupResourceName": "contactGroups/myContacts"}}}
	}
	s.ids++
	c := &contact{rn: "people/c" + strconv.FormatInt(7e17+s.ids*7919, 10), raw: raw, srcID: strconv.FormatInt(0x1a2b3c4d+s.ids, 16)}
	s.storeContact(u, c)
	return c
}

func (s *Server) connectionsList(r *http.Request, u *user) (any, error) {
	q := r.URL.Query()
	mask, err := parseMask(r, "personFields", true, isPersonField)
	if err != nil {
		return nil, err
	}
	size, err := queryInt(r, "pageSize", 100, 1000)
	if err != nil {
		return nil, err
	}
	order := q.Get("sortOrder")
	switch order {
	case "", "LAST_MODIFIED_ASCENDING", "LAST_MODIFIED_DESCENDING", "FIRST_NAME_ASCENDING", "LAST_NAME_ASCENDING":
	default:
		return nil, peopleErr(400, "INVALID_ARGUMENT", "Invalid value at 'sort_order' ("+order+")")
	}
	since, incremental := int64(0), q.Get("syncToken") != ""
	if incremental {
		var st syncState
		since, st = s.parseSyncToken(q.Get("syncToken"), "pc", u.email, s.cfg.peopleSyncTTL)
		switch st {
		case syncInvalid:
			return nil, peopleErr(400, "INVALID_ARGUMENT", "Sync token is invalid.")
		case syncExpired:
			return nil, &apiError{Code: 400, Status: "FAILED_PRECONDITION",
				Message: "Sync token is expired. Clear local cache and retry call without the sync token.",
				Details: []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
					"reason": "EXPIRED_SYNC_TOKEN", "domain": "people.googleapis.com",
					"metadata": map[string]any{"service": "people.googleapis.com", "method": "google.people.v1.PeopleService.ListConnections"}}}}
		}
	}
	wantSync := incremental || q.Get("requestSyncToken") == "true"
	total := 0
	for _, c := range u.contacts {
		if !c.deleted {
			total++
		}
	}
	items, next, tok, err := s.paginate("pc:"+u.email+":"+q.Get("personFields"), q.Get("pageToken"), size, func() ([]any, string, error) {
		var cs []*contact
		for _, c := range u.contacts {
			if (incremental && c.seq > since) || (!incremental && !c.deleted) {
				cs = append(cs, c)
			}
		}
		slices.SortFunc(cs, func(a, b *contact) int { return int(a.seq - b.seq) })
		nameKey := func(c *contact, k string) string {
			if ns, ok := c.raw["names"].([]any); ok && len(ns) > 0 {
				if n, ok := ns[0].(map[string]any); ok {
					v, _ := n[k].(string)
					return strings.ToLower(v)
				}
			}
			return ""
		}
		switch order {
		case "LAST_MODIFIED_DESCENDING":
			slices.Reverse(cs)
		case "FIRST_NAME_ASCENDING":
			slices.SortStableFunc(cs, func(a, b *contact) int { return strings.Compare(nameKey(a, "givenName"), nameKey(b, "givenName")) })
		case "LAST_NAME_ASCENDING":
			slices.SortStableFunc(cs, func(a, b *contact) int { return strings.Compare(nameKey(a, "familyName"), nameKey(b, "familyName")) })
		}
		out := make([]any, len(cs))
		for i, c := range cs {
			out[i] = c.render(mask, incremental)
		}
		tok := ""
		if wantSync {
			tok = s.syncToken("pc", u.email)
		}
		return out, tok, nil
	})
	if err != nil {
		return nil, err
	}
	res := map[string]any{"totalPeople": total, "totalItems": total}
	if len(items) > 0 {
		res["connections"] = items
	}
	if next != "" {
		res["nextPageToken"] = next
	}
	if tok != "" {
		res["nextSyncToken"] = tok
	}
	return res, nil
}

func (s *Server) profile(u *user, mask map[string]bool) map[string]any {
	m := map[string]any{
		"resourceName": u.peopleID, "etag": personEtag(0),
		"names":          []any{map[string]any{"displayName": u.email, "metadata": map[string]any{"primary": true, "source": map[string]any{"type": "PROFILE", "id": strings.TrimPrefix(u.peopleID, "people/")}}}},
		"emailAddresses": []any{map[string]any{"value": u.email, "metadata": map[string]any{"primary": true, "verified": true, "source": map[string]any{"type": "ACCOUNT", "id": strings.TrimPrefix(u.peopleID, "people/")}}}},
		"metadata":       map[string]any{"sources": []any{map[string]any{"type": "PROFILE", "id": strings.TrimPrefix(u.peopleID, "people/"), "etag": personEtag(0)}}, "objectType": "PERSON"},
	}
	for k := range m {
		if k != "resourceName" && k != "etag" && mask != nil && !mask[k] {
			delete(m, k)
		}
	}
	return m
}

func (s *Server) peopleGet(r *http.Request, u *user) (any, error) {
	mask, err := parseMask(r, "personFields", true, isPersonField)
	if err != nil {
		return nil, err
	}
	rn := "people/" + r.PathValue("id")
	if rn == "people/me" || rn == u.peopleID {
		return s.profile(u, mask), nil
	}
	c := u.contacts[rn]
	if c == nil || c.deleted {
		return nil, errPersonNotFound()
	}
	return c.render(mask, false), nil
}

func (s *Server) createContact(r *http.Request, u *user) (any, error) {
	mask, err := parseMask(r, "personFields", false, isPersonField)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := readJSON(r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		raw = map[string]any{}
	}
	for k := range raw {
		if k == "resourceName" || k == "etag" || k == "metadata" {
			continue
		}
		if !personFields[k] {
			return nil, peopleErr(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown or read-only field \""+k+"\".")
		}
	}
	if err := checkSingletons(raw); err != nil {
		return nil, err
	}
	return s.newContact(u, raw).render(mask, false), nil
}

// splitCall splits "c123:updateContact" into the person ID and the method.
func splitCall(r *http.Request, method string) (string, error) {
	id, m, ok := strings.Cut(r.PathValue("call"), ":")
	if !ok || m != method {
		return "", peopleErr(404, "NOT_FOUND", "Method not found.")
	}
	return "people/" + id, nil
}

// bodyEtag is the CONTACT source etag of a request body, else its etag.
func bodyEtag(raw map[string]any) string {
	if md, ok := raw["metadata"].(map[string]any); ok {
		if srcs, ok := md["sources"].([]any); ok {
			for _, src := range srcs {
				if m, ok := src.(map[string]any); ok && m["type"] == "CONTACT" {
					if e, _ := m["etag"].(string); e != "" {
						return e
					}
				}
			}
		}
	}
	e, _ := raw["etag"].(string)
	return e
}

func (s *Server) updateContact(r *http.Request, u *user) (any, error) {
	rn, err := splitCall(r, "updateContact")
	if err != nil {
		return nil, err
	}
	upd, err := parseMask(r, "updatePersonFields", true, func(f string) bool { return personFields[f] })
	if err != nil {
		return nil, err
	}
	mask, err := parseMask(r, "personFields", false, isPersonField)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := readJSON(r, &raw); err != nil {
		return nil, err
	}
	if err := checkSingletons(raw); err != nil {
		return nil, err
	}
	c := u.contacts[rn]
	if c == nil || c.deleted {
		return nil, errPersonNotFound()
	}
	etag := bodyEtag(raw)
	if etag == "" {
		return nil, peopleErr(400, "INVALID_ARGUMENT", "Request must set person.etag or person.metadata.sources.etag for the source that is being updated.")
	}
	if etag != personEtag(c.seq) {
		return nil, &apiError{Code: 400, Status: "FAILED_PRECONDITION", Reason: "failedPrecondition",
			Message: "Request person.etag is different than the current person.etag. Clear local cache and get the latest person."}
	}
	next := make(map[string]any, len(c.raw))
	for k, v := range c.raw {
		next[k] = v
	}
	for f := range upd {
		if v, ok := raw[f]; ok {
			next[f] = v
		} else {
			delete(next, f)
		}
	}
	c.raw = next
	s.storeContact(u, c)
	return c.render(mask, false), nil
}

func (s *Server) deleteContact(r *http.Request, u *user) (any, error) {
	rn, err := splitCall(r, "deleteContact")
	if err != nil {
		return nil, err
	}
	c := u.contacts[rn]
	if c == nil || c.deleted {
		return nil, errPersonNotFound()
	}
	c.deleted = true
	s.storeContact(u, c)
	return map[string]any{}, nil
}

// ---- contact groups

func (s *Server) renderGroup(u *user, g *group, maxMembers int) *people.ContactGroup {
	out := g.g
	out.Etag = personEtag(g.seq)
	out.Metadata = &people.ContactGroupMetadata{UpdateTime: s.now().UTC().Format(time.RFC3339Nano), Deleted: g.deleted}
	if g.deleted {
		return &out
	}
	var members []string
	for _, c := range u.contacts {
		if !c.deleted && inGroup(c, g.g.ResourceName) {
			members = append(members, c.rn)
		}
	}
	slices.Sort(members)
	out.MemberCount = int64(len(members))
	if maxMembers > 0 {
		out.MemberResourceNames = members[:min(maxMembers, len(members))]
	}
	return &out
}

func inGroup(c *contact, rn string) bool {
	ms, _ := c.raw["memberships"].([]any)
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		cg, _ := mm["contactGroupMembership"].(map[string]any)
		if cg["contactGroupResourceName"] == rn || "contactGroups/"+str(cg["contactGroupId"]) == rn {
			return true
		}
	}
	return false
}

func str(v any) string { s, _ := v.(string); return s }

func (s *Server) groupsList(r *http.Request, u *user) (any, error) {
	q := r.URL.Query()
	size, err := queryInt(r, "pageSize", 30, 1000)
	if err != nil {
		return nil, err
	}
	since, incremental := int64(0), q.Get("syncToken") != ""
	if incremental {
		var st syncState
		if since, st = s.parseSyncToken(q.Get("syncToken"), "cg", u.email, s.cfg.peopleSyncTTL); st != syncOK {
			return nil, &apiError{Code: 400, Status: "FAILED_PRECONDITION",
				Message: "Sync token is expired. Clear local cache and retry call without the sync token.",
				Details: []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
					"reason": "EXPIRED_SYNC_TOKEN", "domain": "people.googleapis.com"}}}
		}
	}
	items, next, tok, err := s.paginate("cg:"+u.email, q.Get("pageToken"), size, func() ([]any, string, error) {
		var gs []*group
		for _, g := range u.groups {
			if (incremental && g.seq > since) || (!incremental && !g.deleted) {
				gs = append(gs, g)
			}
		}
		slices.SortFunc(gs, func(a, b *group) int { return strings.Compare(a.g.ResourceName, b.g.ResourceName) })
		out := make([]any, len(gs))
		for i, g := range gs {
			out[i] = s.renderGroup(u, g, 0)
		}
		return out, s.syncToken("cg", u.email), nil
	})
	if err != nil {
		return nil, err
	}
	res := &people.ListContactGroupsResponse{TotalItems: int64(len(u.groups)), NextPageToken: next, NextSyncToken: tok}
	for _, it := range items {
		res.ContactGroups = append(res.ContactGroups, it.(*people.ContactGroup))
	}
	return res, nil
}

func (s *Server) groupsGet(r *http.Request, u *user) (any, error) {
	g := u.groups["contactGroups/"+r.PathValue("id")]
	if g == nil || g.deleted {
		return nil, errPersonNotFound()
	}
	n, err := queryInt(r, "maxMembers", 0, 1<<30)
	if err != nil {
		return nil, err
	}
	if r.URL.Query().Get("maxMembers") == "" {
		n = 0
	}
	return s.renderGroup(u, g, n), nil
}

func (s *Server) groupsCreate(r *http.Request, u *user) (any, error) {
	var req people.CreateContactGroupRequest
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if req.ContactGroup == nil || req.ContactGroup.Name == "" {
		return nil, peopleErr(400, "INVALID_ARGUMENT", "Contact group name must not be empty.")
	}
	for _, g := range u.groups {
		if !g.deleted && (g.g.Name == req.ContactGroup.Name || g.g.FormattedName == req.ContactGroup.Name) {
			return nil, peopleErr(409, "ALREADY_EXISTS", "Contact group name already exists.")
		}
	}
	return s.renderGroup(u, s.addGroupLocked(u, req.ContactGroup.Name), 0), nil
}

func (s *Server) addGroupLocked(u *user, name string) *group {
	s.ids++
	rn := "contactGroups/" + strconv.FormatInt(0x3a1b0000+s.ids, 16)
	g := &group{g: people.ContactGroup{ResourceName: rn, Name: name, FormattedName: name, GroupType: "USER_CONTACT_GROUP"}, seq: s.nextSeq()}
	u.groups[rn] = g
	return g
}

// ---- seeding and Google-side changes

// AddContact adds a contact to the default user; see User.AddContact.
func (s *Server) AddContact(p *people.Person) string { return s.User(s.cfg.user).AddContact(p) }

// AddContact stores p as a new CONTACT-source contact (in My Contacts unless
// p.Memberships says otherwise) and returns its resourceName.
func (u *User) AddContact(p *people.Person) string {
	raw := toMap(p)
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	return u.s.newContact(u.s.userLocked(u.email), raw).rn
}

// AddContactGroup creates a user contact group for the default user and
// returns its resourceName.
func (s *Server) AddContactGroup(name string) string { return s.User(s.cfg.user).AddContactGroup(name) }

// AddContactGroup creates a user contact group and returns its resourceName.
func (u *User) AddContactGroup(name string) string {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	return u.s.addGroupLocked(u.s.userLocked(u.email), name).g.ResourceName
}

// contactLocked finds a live contact of any user.
func (s *Server) contactLocked(rn string) (*user, *contact) {
	for _, u := range s.users {
		if c := u.contacts[rn]; c != nil && !c.deleted {
			return u, c
		}
	}
	bug("unknown contact %q", rn)
	return nil, nil
}

// Contact returns a live contact as people.get would, with all fields.
func (s *Server) Contact(rn string) (*people.Person, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if c := u.contacts[rn]; c != nil && !c.deleted {
			return toPerson(c.render(nil, false)), true
		}
	}
	return nil, false
}

func toPerson(m map[string]any) *people.Person {
	b, _ := json.Marshal(m)
	var p people.Person
	_ = json.Unmarshal(b, &p)
	return &p
}

// UpdateContact edits a contact as a Google-side change (new etag). fn
// sees the person without resourceName, etag and metadata.
func (s *Server) UpdateContact(rn string, fn func(*people.Person)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c := s.contactLocked(rn)
	p := toPerson(c.raw)
	fn(p)
	raw := toMap(p)
	for _, k := range []string{"resourceName", "etag", "metadata"} {
		delete(raw, k)
	}
	c.raw = raw
	s.storeContact(u, c)
}

// DeleteContact deletes a contact as a Google-side change.
func (s *Server) DeleteContact(rn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c := s.contactLocked(rn)
	c.deleted = true
	s.storeContact(u, c)
}

// RenameContact gives a contact a new resourceName, as Google does when it
// links a contact to a profile, and returns it. Sync responses then carry
// the contact under the new name with metadata.previousResourceNames; the
// old name is not reported as deleted, and people.get on it answers 404.
func (s *Server) RenameContact(rn string) string {
	return s.MergeContacts(rn)
}

// MergeContacts merges contacts into one with a new resourceName (Google
// "merge duplicates"): the first contact's fields, plus the others' email
// addresses and phone numbers. previousResourceNames lists all old names,
// which vanish without deletion entries. It returns the new name.
func (s *Server) MergeContacts(rns ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rns) == 0 {
		bug("MergeContacts needs a contact")
	}
	u, first := s.contactLocked(rns[0])
	raw := make(map[string]any, len(first.raw))
	for k, v := range first.raw {
		raw[k] = v
	}
	prev := []string{}
	for i, rn := range rns {
		ou, c := s.contactLocked(rn)
		if ou != u {
			bug("MergeContacts across users")
		}
		prev = append(prev, c.prev...)
		prev = append(prev, rn)
		if i > 0 {
			for _, f := range []string{"emailAddresses", "phoneNumbers"} {
				a, _ := raw[f].([]any)
				b, _ := c.raw[f].([]any)
				raw[f] = append(slices.Clone(a), b...)
			}
		}
		delete(u.contacts, rn)
	}
	c := s.newContact(u, raw)
	c.prev = prev
	return c.rn
}
