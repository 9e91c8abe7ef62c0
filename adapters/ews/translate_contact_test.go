package ews

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters/ews/api"
)

// golden compares got with testdata/translate/<name><ext>, rewriting it
// with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", path, got)
	}
}

func decodeItems(t *testing.T, path string) *api.Items {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env api.ResponseEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	return env.Body.Response.Messages.List[0].Items
}

// TestTranslateContactGolden turns testdata/translate/contact-*.xml (a
// GetItem response of a contact or list) into <case>.vcf.
func TestTranslateContactGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/translate/contact-*.xml")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			items := decodeItems(t, in)
			var card vcard.Card
			if len(items.Contacts) > 0 {
				c := &items.Contacts[0]
				card = cardFromContact(c, otherObjectID(c.ItemID, c.ExtendedProperty), &photo{data: []byte("\xff\xd8\xff\xe0fakejpeg"), contentType: "image/jpeg"})
			} else {
				d := &items.DistLists[0]
				card = cardFromDistList(d, otherObjectID(d.ItemID, d.ExtendedProperty))
			}
			b, err := encodeCard(card)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".xml")+".vcf", b)
		})
	}
}

// TestContactFromCard maps both vCard versions onto the same typed fields
// and back.
func TestContactFromCard(t *testing.T) {
	v3 := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Jane Doe\r\nN:Doe;Jane;Q.;;Jr.\r\nNICKNAME:JD\r\n" +
		"EMAIL;TYPE=INTERNET,WORK:jane@example.com\r\nEMAIL;TYPE=INTERNET,PREF:pref@example.com\r\n" +
		"TEL;TYPE=CELL:+1 555 0101\r\nTEL;TYPE=WORK:+1 555 0100\r\nTEL;TYPE=WORK:+1 555 0103\r\nTEL;TYPE=HOME,FAX:+1 555 0102\r\n" +
		"ADR;TYPE=WORK:;;1 Main St;Springfield;IL;12345;USA\r\nORG:Example Inc.;Lab\r\nTITLE:Boss\r\nROLE:Research\r\n" +
		"BDAY;X-APPLE-OMIT-YEAR=1604:1604-01-02\r\nX-ANNIVERSARY:2010-06-15\r\nNOTE:hi\r\nURL:https://example.com\r\n" +
		"IMPP:xmpp:jane@example.com\r\nCATEGORIES:A,B\r\nPHOTO;ENCODING=b;TYPE=PNG:iVBORw0K\r\nEND:VCARD\r\n"
	v4 := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u1\r\nFN:Jane Doe\r\nN:Doe;Jane;Q.;;Jr.\r\nNICKNAME:JD\r\n" +
		"EMAIL;TYPE=work:jane@example.com\r\nEMAIL;PREF=1:pref@example.com\r\n" +
		"TEL;VALUE=uri;TYPE=cell:tel:+1 555 0101\r\nTEL;TYPE=work:+1 555 0100\r\nTEL;TYPE=work:+1 555 0103\r\nTEL;TYPE=home,fax:+1 555 0102\r\n" +
		"ADR;TYPE=work:;;1 Main St;Springfield;IL;12345;USA\r\nORG:Example Inc.;Lab\r\nTITLE:Boss\r\nROLE:Research\r\n" +
		"BDAY:--0102\r\nANNIVERSARY:20100615\r\nNOTE:hi\r\nURL:https://example.com\r\n" +
		"IMPP:xmpp:jane@example.com\r\nCATEGORIES:A,B\r\nPHOTO:data:image/png;base64,iVBORw0K\r\nEND:VCARD\r\n"
	var got []api.Contact
	for _, s := range []string{v3, v4} {
		card, err := vcard.NewDecoder(strings.NewReader(s)).Decode()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, contactFromCard(card))
		if p := photoOf(card); p == nil || p.contentType != "image/png" || len(p.data) != 6 {
			t.Errorf("photo of %s: %+v", card.Value(vcard.FieldVersion), p)
		}
	}
	a, _ := xml.Marshal(got[0])
	b, _ := xml.Marshal(got[1])
	if string(a) != string(b) {
		t.Errorf("vCard 3 and 4 differ:\n%s\n%s", a, b)
	}
	c := got[0]
	for name, pair := range map[string][2]string{
		"email1":   {entryValue(c.EmailAddresses, "EmailAddress1"), "pref@example.com"},
		"mobile":   {entryValue(c.PhoneNumbers, "MobilePhone"), "+1 555 0101"},
		"business": {entryValue(c.PhoneNumbers, "BusinessPhone2"), "+1 555 0103"},
		"homefax":  {entryValue(c.PhoneNumbers, "HomeFax"), "+1 555 0102"},
		"birthday": {c.Birthday, "1604-01-02T00:00:00Z"},
		"wedding":  {c.WeddingAnniversary, "2010-06-15T00:00:00Z"},
		"company":  {c.CompanyName, "Example Inc."},
		"dept":     {c.Department, "Research"},
		"gen":      {c.Generation, "Jr."},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %q, want %q", name, pair[0], pair[1])
		}
	}
	// Back to vCard: a birthday without year keeps having none.
	card := cardFromContact(&c, "u1", nil)
	if f := card.Get(vcard.FieldBirthday); f == nil || f.Value != "1604-01-02" || f.Params.Get("X-APPLE-OMIT-YEAR") != "1604" {
		t.Errorf("BDAY = %+v", f)
	}
	if f := cardDate(mustDate(t, c.Birthday), "4.0"); f.Value != "--0102" {
		t.Errorf("vCard 4 BDAY = %q", f.Value)
	}
}

func mustDate(t *testing.T, s string) (d time.Time) {
	t.Helper()
	d, ok := ewsDate(s)
	if !ok {
		t.Fatalf("bad date %q", s)
	}
	return d
}

func TestGroupCard(t *testing.T) {
	for _, s := range []string{
		"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:g\r\nKIND:group\r\nFN:Team\r\nMEMBER:mailto:bob@example.test\r\nMEMBER:urn:uuid:x\r\nEND:VCARD\r\n",
		"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:g\r\nX-ADDRESSBOOKSERVER-KIND:group\r\nFN:Team\r\nN:Team;;;;\r\nX-ADDRESSBOOKSERVER-MEMBER:mailto:bob@example.test\r\nEND:VCARD\r\n",
	} {
		card, err := vcard.NewDecoder(strings.NewReader(s)).Decode()
		if err != nil {
			t.Fatal(err)
		}
		if !isGroup(card) {
			t.Fatal("not a group")
		}
		d := distListFromCard(card)
		if d.DisplayName != "Team" || d.Members == nil || len(d.Members.List) != 1 || d.Members.List[0].Mailbox.EmailAddress != "bob@example.test" {
			t.Errorf("list = %+v", d)
		}
	}
}
