package ews

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

// This file is free of I/O: typed contacts and distribution lists in,
// vCards out, and back. vCard import through MimeContent is not supported
// by Exchange, so writes always go through the typed properties.

// propVCard holds the client's vCard as PUT (contacts and lists).
var propVCard = api.ExtendedFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "davgate-vcard", PropertyType: "String"}

// noYear is the year Apple (X-APPLE-OMIT-YEAR) and davgate store in
// Exchange for a birthday without year.
const noYear = 1604

// phoneTypes maps EWS phone keys to vCard TEL types, in the order TEL
// lines are served.
var phoneTypes = []struct{ key, types string }{
	{"MobilePhone", "CELL"},
	{"BusinessPhone", "WORK,VOICE"},
	{"BusinessPhone2", "WORK,VOICE"},
	{"HomePhone", "HOME,VOICE"},
	{"HomePhone2", "HOME,VOICE"},
	{"BusinessFax", "WORK,FAX"},
	{"HomeFax", "HOME,FAX"},
	{"OtherFax", "FAX"},
	{"Pager", "PAGER"},
	{"CarPhone", "CAR"},
	{"Isdn", "ISDN"},
	{"TtyTddPhone", "TEXTPHONE"},
	{"AssistantPhone", "X-ASSISTANT"},
	{"CompanyMainPhone", "WORK,X-COMPANY-MAIN"},
	{"PrimaryPhone", "PREF,VOICE"},
	{"Callback", "X-CALLBACK"},
	{"RadioPhone", "X-RADIO"},
	{"Telex", "X-TELEX"},
	{"OtherTelephone", "VOICE"},
}

// phoneKey picks the EWS key for a TEL line's types; taken lists the keys
// already used (each key holds one number).
func phoneKey(types []string, taken map[string]bool) string {
	has := func(t string) bool {
		return slices.ContainsFunc(types, func(s string) bool { return strings.EqualFold(s, t) })
	}
	var cands []string
	switch {
	case has("cell"):
		cands = []string{"MobilePhone"}
	case has("fax") && has("work"):
		cands = []string{"BusinessFax"}
	case has("fax") && has("home"):
		cands = []string{"HomeFax"}
	case has("fax"):
		cands = []string{"OtherFax"}
	case has("pager"):
		cands = []string{"Pager"}
	case has("car"):
		cands = []string{"CarPhone"}
	case has("isdn"):
		cands = []string{"Isdn"}
	case has("textphone"):
		cands = []string{"TtyTddPhone"}
	case has("x-assistant"):
		cands = []string{"AssistantPhone"}
	case has("x-company-main"):
		cands = []string{"CompanyMainPhone"}
	case has("work"):
		cands = []string{"BusinessPhone", "BusinessPhone2"}
	case has("home"):
		cands = []string{"HomePhone", "HomePhone2"}
	}
	cands = append(cands, "OtherTelephone", "PrimaryPhone", "Callback", "RadioPhone")
	for _, k := range cands {
		if !taken[k] {
			return k
		}
	}
	return ""
}

var addrKeys = []struct{ key, typ string }{{"Business", "WORK"}, {"Home", "HOME"}, {"Other", "OTHER"}}

func entryValue(e *api.Entries, key string) string {
	if e == nil {
		return ""
	}
	for _, x := range e.List {
		if x.Key == key {
			return x.Value
		}
	}
	return ""
}

func addressOf(c *api.Contact, key string) *api.PhysicalAddress {
	if c.PhysicalAddresses == nil {
		return nil
	}
	for i := range c.PhysicalAddresses.List {
		if c.PhysicalAddresses.List[i].Key == key {
			return &c.PhysicalAddresses.List[i]
		}
	}
	return nil
}

// ewsDate parses an EWS date-time into a calendar date.
func ewsDate(s string) (time.Time, bool) {
	t, err := api.ParseTime(s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// cardDate renders a date for version ("3.0" or "4.0"): a date without
// year is --MMDD in 4.0 and 1604-MM-DD with X-APPLE-OMIT-YEAR in 3.0.
func cardDate(t time.Time, version string) *vcard.Field {
	f := &vcard.Field{Params: vcard.Params{}}
	switch {
	case t.Year() == noYear && version == "4.0":
		f.Value = t.Format("--0102")
	case t.Year() == noYear:
		f.Value = t.Format("2006-01-02")
		f.Params.Set("X-APPLE-OMIT-YEAR", fmt.Sprint(noYear))
	case version == "4.0":
		f.Value = t.Format("20060102")
	default:
		f.Value = t.Format("2006-01-02")
	}
	return f
}

// parseCardDate reads BDAY/ANNIVERSARY values: 19800102, 1980-01-02,
// --0102, --01-02, 1604-01-02 (Apple, no year), with an optional time.
func parseCardDate(f *vcard.Field) (time.Time, bool) {
	if f == nil {
		return time.Time{}, false
	}
	v := strings.TrimSpace(f.Value)
	if i := strings.IndexByte(v, 'T'); i > 0 {
		v = v[:i]
	}
	if strings.HasPrefix(v, "--") {
		md := strings.ReplaceAll(v[2:], "-", "")
		t, err := time.Parse("0102", md)
		if err != nil {
			return time.Time{}, false
		}
		return time.Date(noYear, t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	v = strings.ReplaceAll(v, "-", "")
	t, err := time.Parse("20060102", v)
	if err != nil {
		return time.Time{}, false
	}
	if f.Params.Get("X-APPLE-OMIT-YEAR") != "" && fmt.Sprint(t.Year()) == f.Params.Get("X-APPLE-OMIT-YEAR") {
		t = time.Date(noYear, t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t, true
}

// photo is a contact picture.
type photo struct {
	data        []byte
	contentType string
}

func (p *photo) typ() string {
	if p == nil {
		return ""
	}
	t := strings.ToUpper(strings.TrimPrefix(p.contentType, "image/"))
	if t == "" {
		t = "JPEG"
	}
	return t
}

// cardFromContact builds a vCard 3.0 from a typed contact.
func cardFromContact(c *api.Contact, uid string, ph *photo) vcard.Card {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	card.SetValue(vcard.FieldUID, uid)
	fn := c.DisplayName
	if fn == "" {
		fn = strings.TrimSpace(c.GivenName + " " + c.Surname)
	}
	if fn == "" {
		fn = c.CompanyName
	}
	card.SetValue(vcard.FieldFormattedName, fn)
	card.SetName(&vcard.Name{FamilyName: c.Surname, GivenName: c.GivenName, AdditionalName: c.MiddleName, HonorificSuffix: c.Generation})
	if c.Nickname != "" {
		card.SetValue(vcard.FieldNickname, c.Nickname)
	}
	for _, k := range []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"} {
		if v := entryValue(c.EmailAddresses, k); v != "" {
			f := &vcard.Field{Value: strings.TrimPrefix(strings.TrimPrefix(v, "SMTP:"), "smtp:"), Params: vcard.Params{}}
			f.Params.Set(vcard.ParamType, "INTERNET")
			if k == "EmailAddress1" {
				f.Params.Add(vcard.ParamType, "PREF")
			}
			card.Add(vcard.FieldEmail, f)
		}
	}
	for _, pt := range phoneTypes {
		if v := entryValue(c.PhoneNumbers, pt.key); v != "" {
			f := &vcard.Field{Value: v, Params: vcard.Params{}}
			f.Params[vcard.ParamType] = strings.Split(pt.types, ",")
			card.Add(vcard.FieldTelephone, f)
		}
	}
	for _, ak := range addrKeys {
		if a := addressOf(c, ak.key); a != nil {
			ad := &vcard.Address{StreetAddress: a.Street, Locality: a.City, Region: a.State, PostalCode: a.PostalCode, Country: a.CountryOrRegion,
				Field: &vcard.Field{Params: vcard.Params{}}}
			ad.Field.Params.Set(vcard.ParamType, ak.typ)
			card.AddAddress(ad)
		}
	}
	if c.CompanyName != "" {
		card.SetValue(vcard.FieldOrganization, c.CompanyName)
	}
	if c.JobTitle != "" {
		card.SetValue(vcard.FieldTitle, c.JobTitle)
	}
	if c.Department != "" {
		card.SetValue(vcard.FieldRole, c.Department)
	}
	if t, ok := ewsDate(c.Birthday); ok && c.Birthday != "" {
		card.Set(vcard.FieldBirthday, cardDate(t, "3.0"))
	}
	if t, ok := ewsDate(c.WeddingAnniversary); ok && c.WeddingAnniversary != "" {
		card.Set("X-ANNIVERSARY", cardDate(t, "3.0"))
	}
	if c.Body != nil && strings.TrimSpace(c.Body.Value) != "" {
		card.SetValue(vcard.FieldNote, c.Body.Value)
	}
	if c.BusinessHomePage != "" {
		card.SetValue(vcard.FieldURL, c.BusinessHomePage)
	}
	for _, k := range []string{"ImAddress1", "ImAddress2", "ImAddress3"} {
		if v := entryValue(c.ImAddresses, k); v != "" {
			card.AddValue(vcard.FieldIMPP, v)
		}
	}
	addCategories(card, c.Categories)
	if ph != nil && len(ph.data) > 0 {
		f := &vcard.Field{Value: base64.StdEncoding.EncodeToString(ph.data), Params: vcard.Params{}}
		f.Params.Set("ENCODING", "b")
		f.Params.Set(vcard.ParamType, ph.typ())
		card.Set(vcard.FieldPhoto, f)
	}
	return card
}

// cardFromDistList builds a vCard 3.0 group (Apple's form) from a
// distribution list.
func cardFromDistList(d *api.DistributionList, uid string) vcard.Card {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	card.SetValue(vcard.FieldUID, uid)
	card.SetValue(vcard.FieldFormattedName, d.DisplayName)
	card.SetName(&vcard.Name{FamilyName: d.DisplayName})
	card.SetValue("X-ADDRESSBOOKSERVER-KIND", "group")
	if d.Members != nil {
		for _, m := range d.Members.List {
			if m.Mailbox.EmailAddress == "" {
				continue
			}
			card.AddValue("X-ADDRESSBOOKSERVER-MEMBER", "mailto:"+m.Mailbox.EmailAddress)
		}
	}
	if d.Body != nil && strings.TrimSpace(d.Body.Value) != "" {
		card.SetValue(vcard.FieldNote, d.Body.Value)
	}
	addCategories(card, d.Categories)
	return card
}

// isGroup reports whether a vCard is a contact group (vCard 4 KIND:group
// or Apple's X-ADDRESSBOOKSERVER-KIND:group).
func isGroup(card vcard.Card) bool {
	return strings.EqualFold(card.Value(vcard.FieldKind), "group") || strings.EqualFold(card.Value("X-ADDRESSBOOKSERVER-KIND"), "group")
}

// groupMembers returns the e-mail addresses of a group's MEMBER (or
// X-ADDRESSBOOKSERVER-MEMBER) lines; other references (urn:uuid:) have no
// Exchange form and live in the stored vCard only.
func groupMembers(card vcard.Card) []api.Member {
	var out []api.Member
	for _, k := range []string{vcard.FieldMember, "X-ADDRESSBOOKSERVER-MEMBER"} {
		for _, f := range card[k] {
			v := strings.TrimSpace(f.Value)
			if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
				out = append(out, api.Member{Mailbox: api.Mailbox{Name: f.Params.Get("CN"), EmailAddress: v[7:]}})
			}
		}
	}
	return out
}

// distListFromCard maps a group vCard onto a distribution list.
func distListFromCard(card vcard.Card) api.DistributionList {
	d := api.DistributionList{DisplayName: card.PreferredValue(vcard.FieldFormattedName)}
	if d.DisplayName == "" {
		if n := card.Name(); n != nil {
			d.DisplayName = n.FamilyName
		}
	}
	if ms := groupMembers(card); len(ms) > 0 {
		d.Members = &api.Members{List: ms}
	}
	if v := card.Value(vcard.FieldNote); v != "" {
		d.Body = &api.BodyContent{BodyType: "Text", Value: v}
	}
	if cats := categoriesOf(card); len(cats) > 0 {
		d.Categories = &cats
	}
	return d
}

// photoOf decodes a PHOTO given inline (vCard 3 ENCODING=b, vCard 4 data:
// URI); a PHOTO by reference (http URL) gives nil.
func photoOf(card vcard.Card) *photo {
	f := card.Get(vcard.FieldPhoto)
	if f == nil {
		return nil
	}
	v := strings.TrimSpace(f.Value)
	ct := "image/jpeg"
	if strings.HasPrefix(v, "data:") {
		meta, data, ok := strings.Cut(v[5:], ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil
		}
		ct = strings.TrimSuffix(meta, ";base64")
		v = data
	} else if enc := strings.ToLower(f.Params.Get("ENCODING")); enc != "b" && enc != "base64" {
		return nil
	} else if t := f.Params.Get(vcard.ParamType); t != "" {
		ct = "image/" + strings.ToLower(t)
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil || len(b) == 0 {
		return nil
	}
	return &photo{data: b, contentType: ct}
}

// contactFromCard maps a vCard (3.0 or 4.0) onto typed contact fields.
func contactFromCard(card vcard.Card) api.Contact {
	var c api.Contact
	if n := card.Name(); n != nil {
		c.Surname, c.GivenName, c.MiddleName, c.Generation = n.FamilyName, n.GivenName, n.AdditionalName, n.HonorificSuffix
	}
	c.DisplayName = card.PreferredValue(vcard.FieldFormattedName)
	c.Nickname = card.Value(vcard.FieldNickname)
	var emails []api.Entry
	for i, f := range prefSorted(card[vcard.FieldEmail]) {
		if i == 3 {
			break
		}
		emails = append(emails, api.Entry{Key: fmt.Sprintf("EmailAddress%d", i+1), Value: strings.TrimPrefix(f.Value, "mailto:")})
	}
	if len(emails) > 0 {
		c.EmailAddresses = &api.Entries{List: emails}
	}
	taken := map[string]bool{}
	var phones []api.Entry
	for _, f := range card[vcard.FieldTelephone] {
		k := phoneKey(f.Params.Types(), taken)
		if k == "" {
			continue
		}
		taken[k] = true
		phones = append(phones, api.Entry{Key: k, Value: strings.TrimPrefix(strings.TrimSpace(f.Value), "tel:")})
	}
	if len(phones) > 0 {
		c.PhoneNumbers = &api.Entries{List: phones}
	}
	var addrs []api.PhysicalAddress
	usedAddr := map[string]bool{}
	for _, a := range card.Addresses() {
		key := "Other"
		switch {
		case a.Params.HasType("work"):
			key = "Business"
		case a.Params.HasType("home"):
			key = "Home"
		}
		if usedAddr[key] {
			continue
		}
		usedAddr[key] = true
		street := a.StreetAddress
		if a.ExtendedAddress != "" {
			street = strings.TrimSpace(street + "\n" + a.ExtendedAddress)
		}
		if a.PostOfficeBox != "" {
			street = strings.TrimSpace(street + "\n" + a.PostOfficeBox)
		}
		addrs = append(addrs, api.PhysicalAddress{Key: key, Street: street, City: a.Locality, State: a.Region, PostalCode: a.PostalCode, CountryOrRegion: a.Country})
	}
	if len(addrs) > 0 {
		c.PhysicalAddresses = &api.PhysicalAddresses{List: addrs}
	}
	if org := card.Value(vcard.FieldOrganization); org != "" {
		c.CompanyName, _, _ = strings.Cut(org, ";")
	}
	c.JobTitle = card.Value(vcard.FieldTitle)
	c.Department = card.Value(vcard.FieldRole)
	if t, ok := parseCardDate(card.Get(vcard.FieldBirthday)); ok {
		c.Birthday = api.FormatTime(t)
	}
	ann := card.Get(vcard.FieldAnniversary)
	if ann == nil {
		ann = card.Get("X-ANNIVERSARY")
	}
	if t, ok := parseCardDate(ann); ok {
		c.WeddingAnniversary = api.FormatTime(t)
	}
	if v := card.Value(vcard.FieldNote); v != "" {
		c.Body = &api.BodyContent{BodyType: "Text", Value: v}
	}
	c.BusinessHomePage = card.PreferredValue(vcard.FieldURL)
	var ims []api.Entry
	for i, v := range card.Values(vcard.FieldIMPP) {
		if i == 3 {
			break
		}
		ims = append(ims, api.Entry{Key: fmt.Sprintf("ImAddress%d", i+1), Value: v})
	}
	if len(ims) > 0 {
		c.ImAddresses = &api.Entries{List: ims}
	}
	if cats := categoriesOf(card); len(cats) > 0 {
		c.Categories = &cats
	}
	return c
}

// prefSorted orders fields by PREF (vCard 4 PREF=n, vCard 3 TYPE=pref),
// keeping the card's order otherwise.
func prefSorted(fs []*vcard.Field) []*vcard.Field {
	out := slices.Clone(fs)
	rank := func(f *vcard.Field) int {
		if p := f.Params.Get(vcard.ParamPreferred); p != "" {
			var n int
			if _, err := fmt.Sscanf(p, "%d", &n); err == nil {
				return n
			}
		}
		if f.Params.HasType("pref") {
			return 1
		}
		return 101
	}
	slices.SortStableFunc(out, func(a, b *vcard.Field) int { return rank(a) - rank(b) })
	return out
}

// contactFingerprint hashes the typed properties of a contact or list as
// Exchange answers them, plus its photo attachments; see fingerprint.
func contactFingerprint(c *api.Contact, d *api.DistributionList) string {
	h := sha256.New()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	entries := func(e *api.Entries) {
		if e == nil {
			return
		}
		for _, x := range e.List {
			w(x.Key + "=" + x.Value)
		}
	}
	body := func(b *api.BodyContent) {
		if b != nil {
			w(strings.TrimSpace(b.Value))
		}
	}
	cats := func(c *[]string) {
		if c != nil {
			w(strings.Join(*c, ","))
		}
	}
	switch {
	case c != nil:
		for _, s := range []string{c.DisplayName, c.GivenName, c.MiddleName, c.Surname, c.Nickname, c.Generation, c.CompanyName,
			c.JobTitle, c.Department, normTime(c.Birthday), normTime(c.WeddingAnniversary), c.BusinessHomePage} {
			w(s)
		}
		entries(c.EmailAddresses)
		entries(c.PhoneNumbers)
		entries(c.ImAddresses)
		if c.PhysicalAddresses != nil {
			for _, a := range c.PhysicalAddresses.List {
				w(a.Key + "=" + a.Street + "|" + a.City + "|" + a.State + "|" + a.PostalCode + "|" + a.CountryOrRegion)
			}
		}
		body(c.Body)
		cats(c.Categories)
		for _, id := range photoIDs(c) {
			w("photo=" + id)
		}
	case d != nil:
		w(d.DisplayName)
		if d.Members != nil {
			for _, m := range d.Members.List {
				w(m.Mailbox.Name + "<" + m.Mailbox.EmailAddress + ">")
			}
		}
		body(d.Body)
		cats(d.Categories)
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// photoIDs returns the ids of a contact's photo attachments.
func photoIDs(c *api.Contact) []string {
	if c.Attachments == nil {
		return nil
	}
	var out []string
	for _, a := range c.Attachments.Files {
		if a.IsContactPhoto && a.AttachmentID != nil {
			out = append(out, a.AttachmentID.ID)
		}
	}
	return out
}

// storedCard returns the client's vCard kept on the item while the item
// is as davgate left it (the fingerprint matches), else nil.
func storedCard(ext []api.ExtendedProperty, fp string) []byte {
	var vcf, stored string
	for _, e := range ext {
		switch {
		case e.ExtendedFieldURI.Same(propVCard):
			vcf = e.Value
		case e.ExtendedFieldURI.Same(propFP):
			stored = e.Value
		}
	}
	if vcf == "" || stored == "" || stored != fp {
		return nil
	}
	return []byte(vcf)
}

// storedUID returns the UID of the client's vCard kept on the item, even
// when the item changed since, so a contact keeps its UID.
func storedUID(ext []api.ExtendedProperty) string {
	for _, e := range ext {
		if e.ExtendedFieldURI.Same(propVCard) && e.Value != "" {
			if card, err := vcard.NewDecoder(strings.NewReader(e.Value)).Decode(); err == nil {
				return card.Value(vcard.FieldUID)
			}
		}
	}
	return ""
}

// encodeCard renders card.
func encodeCard(card vcard.Card) ([]byte, error) {
	var buf bytes.Buffer
	if err := vcard.NewEncoder(&buf).Encode(card); err != nil {
		return nil, fmt.Errorf("ews: encode vCard: %w: %v", adapters.ErrInvalid, err)
	}
	return buf.Bytes(), nil
}

// contactUpdates lists the UpdateItem changes that turn cur into want,
// one SetItemField (or DeleteItemField) per changed field.
func contactUpdates(cur, want *api.Contact) []api.Update {
	var u []api.Update
	simple := []struct {
		uri      string
		cur, val string
		set      func(c *api.Contact, v string)
	}{
		{"contacts:DisplayName", cur.DisplayName, want.DisplayName, func(c *api.Contact, v string) { c.DisplayName = v }},
		{"contacts:GivenName", cur.GivenName, want.GivenName, func(c *api.Contact, v string) { c.GivenName = v }},
		{"contacts:MiddleName", cur.MiddleName, want.MiddleName, func(c *api.Contact, v string) { c.MiddleName = v }},
		{"contacts:Surname", cur.Surname, want.Surname, func(c *api.Contact, v string) { c.Surname = v }},
		{"contacts:Nickname", cur.Nickname, want.Nickname, func(c *api.Contact, v string) { c.Nickname = v }},
		{"contacts:Generation", cur.Generation, want.Generation, func(c *api.Contact, v string) { c.Generation = v }},
		{"contacts:CompanyName", cur.CompanyName, want.CompanyName, func(c *api.Contact, v string) { c.CompanyName = v }},
		{"contacts:JobTitle", cur.JobTitle, want.JobTitle, func(c *api.Contact, v string) { c.JobTitle = v }},
		{"contacts:Department", cur.Department, want.Department, func(c *api.Contact, v string) { c.Department = v }},
		{"contacts:BusinessHomePage", cur.BusinessHomePage, want.BusinessHomePage, func(c *api.Contact, v string) { c.BusinessHomePage = v }},
		{"contacts:Birthday", normTime(cur.Birthday), normTime(want.Birthday), func(c *api.Contact, v string) { c.Birthday = v }},
		{"contacts:WeddingAnniversary", normTime(cur.WeddingAnniversary), normTime(want.WeddingAnniversary), func(c *api.Contact, v string) { c.WeddingAnniversary = v }},
	}
	for _, f := range simple {
		if f.cur == f.val {
			continue
		}
		if f.val == "" {
			u = append(u, api.DeleteField(f.uri))
			continue
		}
		c := &api.Contact{}
		f.set(c, f.val)
		u = append(u, api.Update{XMLName: api.SetField(f.uri, nil).XMLName, FieldURI: &api.FieldURI{FieldURI: f.uri}, Contact: c})
	}
	curBody, wantBody := "", ""
	if cur.Body != nil {
		curBody = strings.TrimSpace(cur.Body.Value)
	}
	if want.Body != nil {
		wantBody = want.Body.Value
	}
	if curBody != strings.TrimSpace(wantBody) {
		if wantBody == "" {
			u = append(u, api.DeleteField("item:Body"))
		} else {
			u = append(u, api.Update{XMLName: api.SetField("", nil).XMLName, FieldURI: &api.FieldURI{FieldURI: "item:Body"},
				Contact: &api.Contact{Body: &api.BodyContent{BodyType: "Text", Value: wantBody}}})
		}
	}
	var curCats, wantCats []string
	if cur.Categories != nil {
		curCats = *cur.Categories
	}
	if want.Categories != nil {
		wantCats = *want.Categories
	}
	if !slices.Equal(curCats, wantCats) {
		if len(wantCats) == 0 {
			u = append(u, api.DeleteField("item:Categories"))
		} else {
			cs := slices.Clone(wantCats)
			u = append(u, api.Update{XMLName: api.SetField("", nil).XMLName, FieldURI: &api.FieldURI{FieldURI: "item:Categories"},
				Contact: &api.Contact{Categories: &cs}})
		}
	}
	dict := func(uri string, keys []string, cur, want *api.Entries, wrap func(e api.Entry) *api.Contact) {
		for _, k := range keys {
			cv, wv := entryValue(cur, k), entryValue(want, k)
			switch {
			case cv == wv:
			case wv == "":
				u = append(u, api.DeleteIndexed(uri, k))
			default:
				u = append(u, api.SetIndexed(uri, k, wrap(api.Entry{Key: k, Value: wv})))
			}
		}
	}
	dict("contacts:EmailAddress", []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"}, cur.EmailAddresses, want.EmailAddresses,
		func(e api.Entry) *api.Contact {
			return &api.Contact{EmailAddresses: &api.Entries{List: []api.Entry{e}}}
		})
	var pkeys []string
	for _, p := range phoneTypes {
		pkeys = append(pkeys, p.key)
	}
	dict("contacts:PhoneNumber", pkeys, cur.PhoneNumbers, want.PhoneNumbers,
		func(e api.Entry) *api.Contact { return &api.Contact{PhoneNumbers: &api.Entries{List: []api.Entry{e}}} })
	dict("contacts:ImAddress", []string{"ImAddress1", "ImAddress2", "ImAddress3"}, cur.ImAddresses, want.ImAddresses,
		func(e api.Entry) *api.Contact { return &api.Contact{ImAddresses: &api.Entries{List: []api.Entry{e}}} })
	for _, ak := range addrKeys {
		ca, wa := addressOf(cur, ak.key), addressOf(want, ak.key)
		if ca == nil {
			ca = &api.PhysicalAddress{}
		}
		if wa == nil {
			wa = &api.PhysicalAddress{}
		}
		parts := []struct {
			name     string
			cur, val string
			set      func(a *api.PhysicalAddress, v string)
		}{
			{"Street", ca.Street, wa.Street, func(a *api.PhysicalAddress, v string) { a.Street = v }},
			{"City", ca.City, wa.City, func(a *api.PhysicalAddress, v string) { a.City = v }},
			{"State", ca.State, wa.State, func(a *api.PhysicalAddress, v string) { a.State = v }},
			{"CountryOrRegion", ca.CountryOrRegion, wa.CountryOrRegion, func(a *api.PhysicalAddress, v string) { a.CountryOrRegion = v }},
			{"PostalCode", ca.PostalCode, wa.PostalCode, func(a *api.PhysicalAddress, v string) { a.PostalCode = v }},
		}
		for _, p := range parts {
			uri := "contacts:PhysicalAddress:" + p.name
			switch {
			case p.cur == p.val:
			case p.val == "":
				u = append(u, api.DeleteIndexed(uri, ak.key))
			default:
				a := api.PhysicalAddress{Key: ak.key}
				p.set(&a, p.val)
				u = append(u, api.SetIndexed(uri, ak.key, &api.Contact{PhysicalAddresses: &api.PhysicalAddresses{List: []api.PhysicalAddress{a}}}))
			}
		}
	}
	return u
}

// distListUpdates lists the changes that turn cur into want.
func distListUpdates(cur, want *api.DistributionList) []api.Update {
	var u []api.Update
	set := func(uri string, d *api.DistributionList) {
		u = append(u, api.Update{XMLName: api.SetField("", nil).XMLName, FieldURI: &api.FieldURI{FieldURI: uri}, DistributionList: d})
	}
	if cur.DisplayName != want.DisplayName {
		set("contacts:DisplayName", &api.DistributionList{DisplayName: want.DisplayName})
	}
	members := func(d *api.DistributionList) []string {
		var out []string
		if d.Members != nil {
			for _, m := range d.Members.List {
				out = append(out, strings.ToLower(m.Mailbox.EmailAddress))
			}
		}
		return out
	}
	if !slices.Equal(members(cur), members(want)) {
		if want.Members == nil {
			u = append(u, api.DeleteField("distributionlist:Members"))
		} else {
			set("distributionlist:Members", &api.DistributionList{Members: want.Members})
		}
	}
	curBody, wantBody := "", ""
	if cur.Body != nil {
		curBody = strings.TrimSpace(cur.Body.Value)
	}
	if want.Body != nil {
		wantBody = want.Body.Value
	}
	if curBody != strings.TrimSpace(wantBody) {
		if wantBody == "" {
			u = append(u, api.DeleteField("item:Body"))
		} else {
			set("item:Body", &api.DistributionList{Body: want.Body})
		}
	}
	return u
}

// addCategories adds one CATEGORIES line per category: go-vcard escapes
// the commas of a list, which clients would read as one category.
func addCategories(card vcard.Card, cats *[]string) {
	if cats == nil {
		return
	}
	for _, c := range *cats {
		card.AddValue(vcard.FieldCategories, c)
	}
}

// categoriesOf reads every CATEGORIES line, split at commas.
func categoriesOf(card vcard.Card) []string {
	var out []string
	for _, v := range card.Values(vcard.FieldCategories) {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}
