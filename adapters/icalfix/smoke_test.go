package icalfix

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/davgate/davgate/adapters"
)

func TestSmoke(t *testing.T) {
	var ok, bad, encFail int
	for _, f := range fixtureFiles(t) {
		data, _ := os.ReadFile(f)
		cals, _, err := DecodeBytes(data)
		if err != nil {
			if !errors.Is(err, adapters.ErrInvalid) { t.Errorf("%s: %v", f, err) }
			bad++
			t.Logf("%s: %v", f, err)
		}
		for _, c := range cals {
			rep, err := Normalize(c, Options{Stamp: time.Unix(1e9, 0)})
			if err != nil { t.Logf("%s normalize: %v", f, err); continue }
			var b bytes.Buffer
			if err := ical.NewEncoder(&b).Encode(c); err != nil { encFail++; t.Errorf("%s encode: %v %+v", f, err, rep) }
			if len(rep.UnknownTZIDs) > 0 { t.Logf("%s unknown %q", f, rep.UnknownTZIDs) }
		}
		ok++
	}
	t.Logf("ok %d bad %d encfail %d", ok, bad, encFail)
}
