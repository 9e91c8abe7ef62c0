package google

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters/adaptertest"
	"github.com/davgate/davgate/adapters/google/api"
)

// TestTranslateContactsGolden renders testdata/translate/people-*.json as
// vCard 3.0 (<case>.vcf) and 4.0 (<case>.v4.vcf), and checks that a card
// written back (CardToPerson) maps to the same Google fields.
func TestTranslateContactsGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "translate", "people-*.json"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var in struct {
				Groups map[string]string `json:"groups"`
				Person *api.Person       `json:"person"`
			}
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			groups := Groups{ByResource: in.Groups, ByName: map[string]string{}}
			for rn, n := range in.Groups {
				groups.ByName[n] = rn
			}
			for _, v := range []struct{ version, suffix string }{{"3.0", ".vcf"}, {"4.0", ".v4.vcf"}} {
				card, err := PersonToCard(in.Person, v.version, groups)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := vcard.NewEncoder(&buf).Encode(card); err != nil {
					t.Fatal(err)
				}
				golden(t, name+v.suffix, buf.Bytes())

				back, err := CardToPerson(card, contactID(in.Person), groups)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := mappedHash(back), mappedHash(in.Person); got != want {
					bj, _ := json.Marshal(back)
					t.Errorf("vCard %s written back maps to different fields:\n%s", v.version, bj)
				}
				// The stored card is what the client reads back.
				back.Etag = "x"
				again, _ := PersonToCard(back, "3.0", groups)
				if d := adaptertest.DiffCard(card, again); d != "" {
					t.Errorf("vCard %s not read back verbatim:\n%s", v.version, d)
				}
			}
		})
	}
}

func TestBirthdayWithoutYear(t *testing.T) {
	for _, tc := range []struct{ name, line string }{
		{"v4", "BDAY:--1210"},
		{"v4-dashed", "BDAY:--12-10"},
		{"apple", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-12-10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := vcard.NewDecoder(strings.NewReader("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n" + tc.line + "\r\nEND:VCARD\r\n")).Decode()
			if err != nil {
				t.Fatal(err)
			}
			p, err := CardToPerson(c, "x", Groups{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Birthdays) != 1 || p.Birthdays[0].Date.Year != 0 || p.Birthdays[0].Date.Month != 12 || p.Birthdays[0].Date.Day != 10 {
				t.Errorf("birthday = %+v", p.Birthdays)
			}
		})
	}
}
