package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
)

// FileResult is the outcome of WriteCollectionFile.
type FileResult struct {
	Path    string
	Objects int
	// Written is false when the file already held exactly this content
	// (a rerun without changes touches nothing).
	Written bool
}

// WriteCollectionFile writes job's collection as one file at path: a
// single VCALENDAR holding every object's components (time zones once per
// TZID) or the concatenated vCards. The file is replaced atomically, and
// only if its content changed. With dryRun it reports without writing.
func WriteCollectionFile(ctx context.Context, job Job, path string, dryRun bool) (FileResult, error) {
	res := FileResult{Path: path}
	objs, err := job.Source.Objects(ctx, job.Collection.ID, adapters.Query{})
	if err != nil {
		return res, fmt.Errorf("list source collection %q: %w", job.Label, err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].ID < objs[j].ID })
	res.Objects = len(objs)
	var buf bytes.Buffer
	if job.Collection.Kind == adapters.KindAddressBook {
		enc := vcard.NewEncoder(&buf)
		for _, o := range objs {
			o, err := decoded(adapters.KindAddressBook, o)
			if err != nil {
				return res, err
			}
			if err := enc.Encode(o.Card); err != nil {
				return res, fmt.Errorf("encode vCard %q: %w: %v", o.ID, adapters.ErrInvalid, err)
			}
		}
	} else {
		cal := ical.NewCalendar()
		cal.Props.SetText(ical.PropVersion, "2.0")
		cal.Props.SetText(ical.PropProductID, "-//davgate//export//EN")
		if job.Collection.Name != "" {
			// X-WR-CALNAME is what calendar apps show for an imported file.
			cal.Props.SetText("X-WR-CALNAME", job.Collection.Name)
		}
		tzs := map[string]bool{}
		var comps []*ical.Component
		for _, o := range objs {
			o, err := decoded(adapters.KindCalendar, o)
			if err != nil {
				return res, err
			}
			for _, c := range o.Data.Children {
				if c.Name == ical.CompTimezone {
					id := ""
					if p := c.Props.Get(ical.PropTimezoneID); p != nil {
						id = p.Value
					}
					if tzs[id] {
						continue
					}
					tzs[id] = true
					cal.Children = append(cal.Children, c)
					continue
				}
				comps = append(comps, c)
			}
		}
		cal.Children = append(cal.Children, comps...)
		if len(cal.Children) == 0 {
			// go-ical refuses an empty VCALENDAR; an empty calendar is
			// still a calendar, so write the envelope by hand.
			buf.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//davgate//export//EN\r\nEND:VCALENDAR\r\n")
		} else if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
			return res, fmt.Errorf("encode %q: %w: %v", job.Label, adapters.ErrInvalid, err)
		}
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	if err == nil && bytes.Equal(old, buf.Bytes()) {
		return res, nil
	}
	res.Written = true
	if dryRun {
		return res, nil
	}
	return res, WriteFileAtomic(path, buf.Bytes(), 0o644)
}
