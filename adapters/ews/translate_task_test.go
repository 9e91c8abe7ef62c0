package ews

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
)

// TestTranslateTaskGolden turns testdata/translate/task-*.xml (a GetItem
// response of a task) into <case>.ics, and the VTODO back into the same
// typed fields.
func TestTranslateTaskGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/translate/task-*.xml")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			task := &decodeItems(t, in).Tasks[0]
			cal := calendarFromTask(task, otherObjectID(task.ItemID, task.ExtendedProperty))
			var buf bytes.Buffer
			if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".xml")+".ics", buf.Bytes())
			back, err := taskFromCalendar(cal)
			if err != nil {
				t.Fatal(err)
			}
			if ups := taskUpdates(task, &back); len(ups) != 0 {
				b, _ := xml.Marshal(ups)
				t.Errorf("VTODO does not map back onto the task: %s", b)
			}
		})
	}
}
