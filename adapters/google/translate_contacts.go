package google

// Translation between People API persons and vCards (3.0 and 4.0), free
// of I/O. A vCard a client PUT is kept verbatim in the person's clientData
// together with a hash of the Google fields it mapped to: while Google's
// copy of those fields is unchanged the client reads back exactly what it
// wrote (unknown properties, its vCard version, parameter spelling);
// after an edit on the Google side the card is rebuilt from the person.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-vcard"
	people "google.golang.org/api/people/v1"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google/api"
)

// clientData keys (chunked like extended properties).
const (
	cdID   = "dg.id"   // the object ID a client chose
	cdCard = "dg.card" // the vCard as the client wrote it
	cdSum  = "dg.sum"  // mappedHash of the person when the card was stored
)

// Groups maps contact group resource names to names and back.
type Groups struct {
	ByResource map[string]string
	ByName     map[string]string
}

// contactID returns the object ID of a person: the client's ID if it
// chose one, else the resource name without "people/".
func contactID(p *api.Person) string {
	if id := clientValue(p, cdID); id != "" {
		return id
	}
	return strings.TrimPrefix(p.ResourceName, "people/")
}

func clientMap(p *api.Person) map[string]string {
	m := map[string]string{}
	for _, cd := range p.ClientData {
		m[cd.Key] = cd.Value
	}
	return m
}

func clientValue(p *api.Person, key string) string { return getChunked(clientMap(p), key) }

func setClientData(p *api.Person, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p.ClientData = nil
	for _, k := range keys {
		p.ClientData = append(p.ClientData, &people.ClientData{Key: k, Value: m[k]})
	}
}

// mappedHash hashes the writable fields davgate maps, ignoring what
// Google computes (display names, formatted types, metadata).
func mappedHash(p *api.Person) string {
	type proj struct {
		N                       [][5]string
		Nick, Bio               []string
		Email, Tel, URL, IM     [][2]string
		Adr                     [][8]string
		Org                     [][3]string
		BDay, Events, Relations []string
		Groups                  []string
	}
	var x proj
	for _, n := range p.Names {
		if v := [5]string{n.FamilyName, n.GivenName, n.MiddleName, n.HonorificPrefix, n.HonorificSuffix}; v != ([5]string{}) {
			x.N = append(x.N, v)
		}
	}
	for _, n := range p.Nicknames {
		x.Nick = append(x.Nick, n.Value)
	}
	for _, b := range p.Biographies {
		x.Bio = append(x.Bio, b.Value)
	}
	for _, e := range p.EmailAddresses {
		x.Email = append(x.Email, [2]string{e.Value, strings.ToLower(e.Type)})
	}
	for _, t := range p.PhoneNumbers {
		x.Tel = append(x.Tel, [2]string{t.Value, strings.ToLower(t.Type)})
	}
	for _, u := range p.Urls {
		x.URL = append(x.URL, [2]string{u.Value}) // vCard URL has no standard types
	}
	for _, im := range p.ImClients {
		x.IM = append(x.IM, [2]string{im.Username, strings.ToLower(im.Protocol)})
	}
	for _, a := range p.Addresses {
		x.Adr = append(x.Adr, [8]string{a.PoBox, a.ExtendedAddress, a.StreetAddress, a.City, a.Region, a.PostalCode, a.Country, strings.ToLower(a.Type)})
	}
	for _, o := range p.Organizations {
		x.Org = append(x.Org, [3]string{o.Name, o.Department, o.Title})
	}
	for _, b := range p.Birthdays {
		if b.Date != nil {
			x.BDay = append(x.BDay, fmt.Sprintf("%d-%d-%d", b.Date.Year, b.Date.Month, b.Date.Day))
		}
	}
	for _, e := range p.Events {
		if e.Date != nil {
			x.Events = append(x.Events, fmt.Sprintf("%s:%d-%d-%d", strings.ToLower(e.Type), e.Date.Year, e.Date.Month, e.Date.Day))
		}
	}
	for _, r := range p.Relations {
		x.Relations = append(x.Relations, strings.ToLower(r.Type)+":"+r.Person)
	}
	for _, m := range p.Memberships {
		if m.ContactGroupMembership != nil && !systemGroup(m.ContactGroupMembership.ContactGroupResourceName) {
			x.Groups = append(x.Groups, m.ContactGroupMembership.ContactGroupResourceName)
		}
	}
	sort.Strings(x.Groups)
	b, _ := json.Marshal(x)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// PersonToCard renders a person. version ("3.0" or "4.0") applies to
// cards rebuilt from Google data; a stored client card keeps its own.
func PersonToCard(p *api.Person, version string, groups Groups) (vcard.Card, error) {
	cd := clientMap(p)
	if raw := getChunked(cd, cdCard); raw != "" && getChunked(cd, cdSum) == mappedHash(p) {
		c, err := vcard.NewDecoder(strings.NewReader(raw)).Decode()
		if err == nil {
			return c, nil
		}
	}
	v4 := version == "4.0"
	c := vcard.Card{}
	c.SetValue(vcard.FieldVersion, version)
	uid := getChunked(cd, cdID)
	if uid == "" {
		uid = strings.TrimPrefix(p.ResourceName, "people/")
	}
	c.SetValue(vcard.FieldUID, uid)
	fn := ""
	if len(p.Names) > 0 {
		n := p.Names[0]
		c.SetName(&vcard.Name{FamilyName: n.FamilyName, GivenName: n.GivenName, AdditionalName: n.MiddleName,
			HonorificPrefix: n.HonorificPrefix, HonorificSuffix: n.HonorificSuffix})
		fn = firstNonEmpty(n.DisplayName, n.UnstructuredName, strings.TrimSpace(n.GivenName+" "+n.FamilyName))
	}
	for _, n := range p.Nicknames {
		c.Add(vcard.FieldNickname, &vcard.Field{Value: n.Value})
	}
	for _, e := range p.EmailAddresses {
		f := &vcard.Field{Value: e.Value, Params: vcard.Params{}}
		typ := strings.ToLower(e.Type)
		if !v4 {
			f.Params.Add(vcard.ParamType, "INTERNET")
		}
		if typ == "home" || typ == "work" {
			f.Params.Add(vcard.ParamType, cased(typ, v4))
		}
		c.Add(vcard.FieldEmail, f)
		fn = firstNonEmpty(fn, e.Value)
	}
	for _, t := range p.PhoneNumbers {
		f := &vcard.Field{Value: t.Value, Params: vcard.Params{}}
		for _, ty := range phoneTypes[strings.ToLower(t.Type)] {
			f.Params.Add(vcard.ParamType, cased(ty, v4))
		}
		c.Add(vcard.FieldTelephone, f)
	}
	for _, ad := range p.Addresses {
		f := &vcard.Field{Params: vcard.Params{}, Value: strings.Join([]string{
			esc(ad.PoBox), esc(ad.ExtendedAddress), esc(ad.StreetAddress), esc(ad.City), esc(ad.Region), esc(ad.PostalCode), esc(ad.Country)}, ";")}
		if typ := strings.ToLower(ad.Type); typ == "home" || typ == "work" {
			f.Params.Add(vcard.ParamType, cased(typ, v4))
		}
		c.Add(vcard.FieldAddress, f)
	}
	for _, o := range p.Organizations {
		if o.Name != "" || o.Department != "" {
			v := esc(o.Name)
			if o.Department != "" {
				v += ";" + esc(o.Department)
			}
			c.Add(vcard.FieldOrganization, &vcard.Field{Value: v})
			fn = firstNonEmpty(fn, o.Name)
		}
		if o.Title != "" {
			c.Add(vcard.FieldTitle, &vcard.Field{Value: o.Title})
		}
	}
	for _, b := range p.Birthdays {
		if b.Date != nil {
			c.Set(vcard.FieldBirthday, dateField(b.Date, v4))
			break
		}
	}
	for _, e := range p.Events {
		if e.Date == nil {
			continue
		}
		if strings.EqualFold(e.Type, "anniversary") {
			name := "X-ANNIVERSARY"
			if v4 {
				name = vcard.FieldAnniversary
			}
			c.Add(name, dateField(e.Date, v4))
		}
	}
	for _, b := range p.Biographies {
		c.Add(vcard.FieldNote, &vcard.Field{Value: b.Value})
	}
	for _, u := range p.Urls {
		c.Add(vcard.FieldURL, &vcard.Field{Value: u.Value})
	}
	for _, r := range p.Relations {
		f := &vcard.Field{Value: r.Person, Params: vcard.Params{}}
		if r.Type != "" {
			f.Params.Add(vcard.ParamType, strings.ToLower(r.Type))
		}
		if v4 {
			f.Params.Set(vcard.ParamValue, "text")
			c.Add(vcard.FieldRelated, f)
		} else {
			c.Add("X-ABRELATEDNAMES", f)
		}
	}
	for _, ph := range p.Photos {
		if ph.Default || ph.Url == "" {
			continue // a generated monogram
		}
		f := &vcard.Field{Value: ph.Url, Params: vcard.Params{}}
		if !v4 {
			f.Params.Set(vcard.ParamValue, "uri")
		}
		c.Add(vcard.FieldPhoto, f)
	}
	for _, im := range p.ImClients {
		proto := strings.ToLower(firstNonEmpty(im.Protocol, "x-unknown"))
		f := &vcard.Field{Value: proto + ":" + im.Username, Params: vcard.Params{}}
		f.Params.Set("X-SERVICE-TYPE", im.Protocol)
		c.Add(vcard.FieldIMPP, f)
	}
	var cats []string
	for _, m := range p.Memberships {
		if m.ContactGroupMembership == nil {
			continue
		}
		if name, ok := groups.ByResource[m.ContactGroupMembership.ContactGroupResourceName]; ok {
			cats = append(cats, name)
		}
	}
	if len(cats) > 0 {
		sort.Strings(cats)
		c.Set(vcard.FieldCategories, &vcard.Field{Value: strings.Join(cats, ",")})
	}
	c.SetValue(vcard.FieldFormattedName, firstNonEmpty(fn, uid))
	return c, nil
}

// systemGroup reports Google's built-in groups, which Google adds on its
// own (every new contact joins myContacts) and which are not CATEGORIES.
func systemGroup(rn string) bool {
	switch strings.TrimPrefix(rn, "contactGroups/") {
	case "myContacts", "starred", "friends", "family", "coworkers", "chatBuddies", "all", "blocked":
		return true
	}
	return false
}

var phoneTypes = map[string][]string{
	"mobile": {"cell"}, "home": {"home"}, "work": {"work"}, "homefax": {"home", "fax"}, "workfax": {"work", "fax"},
	"otherfax": {"fax"}, "pager": {"pager"}, "main": {"voice"},
}

// cased: vCard 3 clients (Apple) expect upper-case TYPE values.
func cased(s string, v4 bool) string {
	if v4 {
		return s
	}
	return strings.ToUpper(s)
}

// esc prepares one component of a structured value (ADR, ORG). go-vcard
// escapes values itself but treats ';' as the separator, so a ';' inside a
// component cannot be written; it becomes ','.
func esc(s string) string { return strings.ReplaceAll(s, ";", ",") }

// dateField renders a People date; a date without year is "--MMDD" in
// vCard 4 and Apple's 1604 + X-APPLE-OMIT-YEAR in vCard 3.
func dateField(d *people.Date, v4 bool) *vcard.Field {
	f := &vcard.Field{Params: vcard.Params{}}
	switch {
	case d.Year == 0 && v4:
		f.Value = fmt.Sprintf("--%02d%02d", d.Month, d.Day)
	case d.Year == 0:
		f.Value = fmt.Sprintf("1604-%02d-%02d", d.Month, d.Day)
		f.Params.Set("X-APPLE-OMIT-YEAR", "1604")
	case v4:
		f.Value = fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day)
	default:
		f.Value = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	return f
}

// parseDate reads vCard 3/4 dates: YYYYMMDD, YYYY-MM-DD, --MMDD,
// --MM-DD, and the X-APPLE-OMIT-YEAR convention.
func parseDate(f *vcard.Field) (*people.Date, bool) {
	v := strings.TrimSpace(f.Value)
	if i := strings.IndexByte(v, 'T'); i > 0 {
		v = v[:i]
	}
	omit := f.Params.Get("X-APPLE-OMIT-YEAR")
	var y, m, d int
	var err error
	switch {
	case strings.HasPrefix(v, "--"):
		s := strings.ReplaceAll(v[2:], "-", "")
		if len(s) != 4 {
			return nil, false
		}
		m, err = strconv.Atoi(s[:2])
		if err == nil {
			d, err = strconv.Atoi(s[2:])
		}
	default:
		s := strings.ReplaceAll(v, "-", "")
		if len(s) != 8 {
			return nil, false
		}
		y, err = strconv.Atoi(s[:4])
		if err == nil {
			m, err = strconv.Atoi(s[4:6])
		}
		if err == nil {
			d, err = strconv.Atoi(s[6:])
		}
		if omit != "" && strconv.Itoa(y) == omit {
			y = 0
		}
	}
	if err != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return nil, false
	}
	return &people.Date{Year: int64(y), Month: int64(m), Day: int64(d)}, true
}

// splitStructured splits a decoded structured value (go-vcard has
// already unescaped it) at sep.
func splitStructured(v string, sep byte) []string { return strings.Split(v, string(sep)) }

func hasType(f *vcard.Field, t string) bool {
	for _, v := range f.Params.Types() {
		for _, x := range strings.Split(v, ",") {
			if strings.EqualFold(x, t) {
				return true
			}
		}
	}
	return false
}

// CardToPerson translates a client's vCard (3.0 or 4.0). The card itself
// is kept in clientData so it reads back unchanged (see package comment
// of this file). groups maps CATEGORIES to existing contact groups;
// unknown categories are kept in the stored card only.
func CardToPerson(c vcard.Card, objectID string, groups Groups) (*api.Person, error) {
	if c == nil {
		return nil, fmt.Errorf("no vCard: %w", adapters.ErrInvalid)
	}
	p := &api.Person{}
	if n := c.Name(); n != nil {
		p.Names = []*people.Name{{FamilyName: n.FamilyName, GivenName: n.GivenName, MiddleName: n.AdditionalName,
			HonorificPrefix: n.HonorificPrefix, HonorificSuffix: n.HonorificSuffix}}
	} else if fn := c.Value(vcard.FieldFormattedName); fn != "" {
		p.Names = []*people.Name{{UnstructuredName: fn}}
	}
	for _, f := range c[vcard.FieldNickname] {
		for _, v := range splitStructured(f.Value, ',') {
			if v != "" {
				p.Nicknames = append(p.Nicknames, &people.Nickname{Value: v})
			}
		}
	}
	for _, f := range c[vcard.FieldEmail] {
		e := &people.EmailAddress{Value: f.Value}
		switch {
		case hasType(f, "home"):
			e.Type = "home"
		case hasType(f, "work"):
			e.Type = "work"
		}
		p.EmailAddresses = append(p.EmailAddresses, e)
	}
	for _, f := range c[vcard.FieldTelephone] {
		v := strings.TrimPrefix(f.Value, "tel:")
		t := &people.PhoneNumber{Value: v}
		switch {
		case hasType(f, "fax") && hasType(f, "home"):
			t.Type = "homeFax"
		case hasType(f, "fax") && hasType(f, "work"):
			t.Type = "workFax"
		case hasType(f, "fax"):
			t.Type = "otherFax"
		case hasType(f, "cell"):
			t.Type = "mobile"
		case hasType(f, "pager"):
			t.Type = "pager"
		case hasType(f, "home"):
			t.Type = "home"
		case hasType(f, "work"):
			t.Type = "work"
		}
		p.PhoneNumbers = append(p.PhoneNumbers, t)
	}
	for _, f := range c[vcard.FieldAddress] {
		parts := append(splitStructured(f.Value, ';'), make([]string, 7)...)
		ad := &people.Address{PoBox: parts[0], ExtendedAddress: parts[1], StreetAddress: parts[2], City: parts[3],
			Region: parts[4], PostalCode: parts[5], Country: parts[6]}
		switch {
		case hasType(f, "home"):
			ad.Type = "home"
		case hasType(f, "work"):
			ad.Type = "work"
		}
		p.Addresses = append(p.Addresses, ad)
	}
	titles := c[vcard.FieldTitle]
	for i, f := range c[vcard.FieldOrganization] {
		parts := append(splitStructured(f.Value, ';'), "")
		o := &people.Organization{Name: parts[0], Department: parts[1]}
		if i < len(titles) {
			o.Title = titles[i].Value
		}
		p.Organizations = append(p.Organizations, o)
	}
	for i := len(c[vcard.FieldOrganization]); i < len(titles); i++ {
		p.Organizations = append(p.Organizations, &people.Organization{Title: titles[i].Value})
	}
	if f := c.Get(vcard.FieldBirthday); f != nil {
		if d, ok := parseDate(f); ok {
			p.Birthdays = []*people.Birthday{{Date: d}}
		}
	}
	for _, name := range []string{vcard.FieldAnniversary, "X-ANNIVERSARY"} {
		for _, f := range c[name] {
			if d, ok := parseDate(f); ok {
				p.Events = append(p.Events, &people.Event{Date: d, Type: "anniversary"})
			}
		}
	}
	for _, f := range c[vcard.FieldNote] {
		p.Biographies = append(p.Biographies, &people.Biography{Value: f.Value, ContentType: "TEXT_PLAIN"})
	}
	for _, f := range c[vcard.FieldURL] {
		p.Urls = append(p.Urls, &people.Url{Value: f.Value})
	}
	for _, name := range []string{vcard.FieldRelated, "X-ABRELATEDNAMES"} {
		for _, f := range c[name] {
			r := &people.Relation{Person: f.Value}
			if ts := f.Params.Types(); len(ts) > 0 {
				r.Type = strings.ToLower(ts[0])
			}
			p.Relations = append(p.Relations, r)
		}
	}
	for _, f := range c[vcard.FieldIMPP] {
		proto, user, ok := strings.Cut(f.Value, ":")
		if !ok {
			user, proto = f.Value, ""
		}
		p.ImClients = append(p.ImClients, &people.ImClient{Username: user, Protocol: firstNonEmpty(f.Params.Get("X-SERVICE-TYPE"), proto)})
	}
	for _, f := range c[vcard.FieldCategories] {
		for _, name := range splitStructured(f.Value, ',') {
			if rn, ok := groups.ByName[name]; ok {
				p.Memberships = append(p.Memberships, &people.Membership{
					ContactGroupMembership: &people.ContactGroupMembership{ContactGroupResourceName: rn}})
			}
		}
	}
	if len(p.Memberships) > 0 {
		// Replacing memberships must keep the contact in My Contacts.
		p.Memberships = append(p.Memberships, &people.Membership{
			ContactGroupMembership: &people.ContactGroupMembership{ContactGroupResourceName: "contactGroups/myContacts"}})
	}
	var buf bytes.Buffer
	if err := vcard.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("encode vCard: %w: %v", adapters.ErrInvalid, err)
	}
	cd := map[string]string{}
	setChunked(cd, cdCard, buf.String())
	setChunked(cd, cdSum, mappedHash(p))
	if objectID != strings.TrimPrefix(p.ResourceName, "people/") {
		setChunked(cd, cdID, objectID)
	}
	setClientData(p, cd)
	return p, nil
}
