// Command feedgen writes a deterministic iCalendar feed of N events for
// davgate's benchmarks, and the set of UIDs that a one-month calendar-query
// must return.
//
// About 80% of the events are single events spread over two years (some
// all-day, some in Europe/Berlin with a VTIMEZONE, some with DURATION), the
// rest daily, workday and (bi)weekly series, some bounded by COUNT or UNTIL,
// with EXDATEs and RECURRENCE-ID overrides. A few fixed probes sit on the
// month's edges: a series whose override moves an instance into the month,
// one whose only in-month instance is moved out, one where an EXDATE removes
// it, and timed events that end exactly at the month start or straddle its
// end.
//
// The expected set is computed from the generator's own list of instances
// (wall-clock arithmetic in the event's time zone, COUNT/UNTIL, EXDATE,
// overrides) with RFC 4791 §9.9 overlap (start < windowEnd && end >
// windowStart); no CalDAV or RRULE library is involved. All-day (floating)
// events are kept at least a day from the window edges so the answer does
// not depend on how a server interprets floating time.
//
//	feedgen -n 10000 -out feed.ics -dir objects/ -month 2026-03 -expected expected.txt -get get.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin without relying on the host's zoneinfo
)

const vtimezone = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
`

var berlin *time.Location

type override struct {
	recid      time.Time // original instance start, in the event's zone
	start, end time.Time
}

type recur struct {
	freq     string // DAILY or WEEKLY
	interval int
	workdays bool // BYDAY=MO,TU,WE,TH,FR (DAILY only)
	count    int
	until    time.Time // UTC, inclusive
	exdates  []time.Time
	overs    []override
}

type event struct {
	uid         string
	allDay      bool
	loc         *time.Location // time.UTC or berlin; ignored for all-day
	start, end  time.Time
	useDuration bool
	rec         *recur
	summary     string
	desc        string
	location    string
	attendees   []string
	organizer   string
	alarm       int // minutes before; 0 = none
	status      string
}

type window struct{ start, end time.Time }

func (w window) overlaps(s, e time.Time) bool { return s.Before(w.end) && e.After(w.start) }

// instances lists the series' instances as (start, end) pairs, after
// EXDATEs and overrides, up to limit (recurrence-ids past limit still count).
func (ev *event) instances(limit time.Time) [][2]time.Time {
	if ev.rec == nil {
		return [][2]time.Time{{ev.start, ev.end}}
	}
	r := ev.rec
	dur := ev.end.Sub(ev.start)
	for _, o := range r.overs {
		if o.recid.After(limit) {
			limit = o.recid
		}
	}
	ex := map[int64]bool{}
	for _, x := range r.exdates {
		ex[x.Unix()] = true
	}
	ov := map[int64]override{}
	for _, o := range r.overs {
		ov[o.recid.Unix()] = o
	}
	var out [][2]time.Time
	n := 0
	for d := 0; ; d++ {
		var s time.Time
		switch r.freq {
		case "DAILY":
			s = ev.start.AddDate(0, 0, d*r.interval)
			if r.workdays && (s.Weekday() == time.Saturday || s.Weekday() == time.Sunday) {
				continue
			}
		case "WEEKLY":
			s = ev.start.AddDate(0, 0, 7*d*r.interval)
		}
		if r.count > 0 && n >= r.count {
			break
		}
		if !r.until.IsZero() && s.After(r.until) {
			break
		}
		if s.After(limit) {
			break
		}
		n++
		if ex[s.Unix()] {
			continue
		}
		if o, ok := ov[s.Unix()]; ok {
			out = append(out, [2]time.Time{o.start, o.end})
			continue
		}
		out = append(out, [2]time.Time{s, s.Add(dur)})
	}
	return out
}

// ---- text ----

var words = strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod
tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation
ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit
esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia
deserunt mollit anim id est laborum agenda budget review roadmap quarterly planning customer release
migration retrospective architecture onboarding security incident follow-up workshop interview demo`)

var topics = []string{"Standup", "1:1", "Design review", "Sprint planning", "Customer call", "Lunch",
	"Dentist", "Team offsite", "Release sync", "Budget review", "Interview", "Workshop", "Board meeting",
	"Yoga", "Flight to Munich", "Conference", "Training", "Retrospective", "Quarterly review", "Demo day"}

var places = []string{"Room Ada (3rd floor)", "Room Turing, Building B", "Café Einstein, Unter den Linden 42, Berlin",
	"https://meet.example.com/abc-defg-hij", "Conference Center Hall 4, Messedamm 22, 14055 Berlin",
	"Hauptbahnhof, Gleis 12", "Home office", "Zoom: https://zoom.example.com/j/123456789"}

var first = []string{"Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ines", "Jonas", "Karin", "Lukas", "Mia", "Noah", "Olga", "Paul"}
var last = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter"}

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
		if i%12 == 11 && i != n-1 {
			b.WriteByte('.')
		}
	}
	b.WriteByte('.')
	return b.String()
}

func person(r *rand.Rand) string {
	f, l := first[r.IntN(len(first))], last[r.IntN(len(last))]
	mail := strings.ToLower(f + "." + strings.NewReplacer("ü", "ue").Replace(l) + "@example.com")
	return fmt.Sprintf("CN=%s %s:mailto:%s", f, l, mail)
}

// ---- generation ----

var (
	spanStart = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	spanDays  = 730
)

func genEvent(r *rand.Rand, i int, w window, recurring bool) *event {
	ev := &event{uid: fmt.Sprintf("ev%05d-davgate-bench", i)}
	ev.summary = topics[r.IntN(len(topics))] + fmt.Sprintf(" #%d", i)
	ev.desc = sentence(r, 15+r.IntN(35))
	ev.location = places[r.IntN(len(places))]
	p := person(r)
	ev.organizer = p
	for j, k := 0, 1+r.IntN(4); j < k; j++ {
		ev.attendees = append(ev.attendees, person(r))
	}
	if r.IntN(3) > 0 {
		ev.alarm = []int{5, 10, 15, 30, 60}[r.IntN(5)]
	}
	ev.status = []string{"CONFIRMED", "CONFIRMED", "CONFIRMED", "TENTATIVE"}[r.IntN(4)]
	day := spanStart.AddDate(0, 0, r.IntN(spanDays))

	if !recurring && r.IntN(10) == 0 { // all-day, 1-3 days, floating
		for {
			s := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
			e := s.AddDate(0, 0, 1+r.IntN(3))
			// Keep floating intervals unambiguous under any UTC offset.
			pad := 15 * time.Hour
			a := w.overlaps(s.Add(-pad), e.Add(-pad))
			b := w.overlaps(s.Add(pad), e.Add(pad))
			if a == b && a == w.overlaps(s, e) {
				ev.allDay, ev.start, ev.end = true, s, e
				return ev
			}
			day = day.AddDate(0, 0, 3)
		}
	}
	ev.loc = time.UTC
	if r.IntN(2) == 0 {
		ev.loc = berlin
	}
	hour, min := 7+r.IntN(13), []int{0, 15, 30, 45}[r.IntN(4)]
	ev.start = time.Date(day.Year(), day.Month(), day.Day(), hour, min, 0, 0, ev.loc)
	ev.end = ev.start.Add(time.Duration(15+15*r.IntN(12)) * time.Minute)
	ev.useDuration = r.IntN(8) == 0
	if !recurring {
		return ev
	}
	rc := &recur{interval: 1}
	switch r.IntN(4) {
	case 0:
		rc.freq = "DAILY"
	case 1:
		rc.freq, rc.workdays = "DAILY", true
		for ev.start.Weekday() == time.Saturday || ev.start.Weekday() == time.Sunday {
			ev.start, ev.end = ev.start.AddDate(0, 0, 1), ev.end.AddDate(0, 0, 1)
		}
	case 2:
		rc.freq = "WEEKLY"
	default:
		rc.freq, rc.interval = "WEEKLY", 2
	}
	switch r.IntN(3) {
	case 0:
		rc.count = 5 + r.IntN(60)
	case 1:
		rc.until = ev.start.AddDate(0, 0, 20+r.IntN(300)).UTC()
	}
	ev.rec = rc
	// EXDATEs and overrides pick from the first instances (before either).
	insts := ev.instances(ev.start.AddDate(0, 3, 0))
	used := map[int]bool{}
	for j, k := 0, r.IntN(3); j < k && len(insts) > 2; j++ {
		x := 1 + r.IntN(len(insts)-1)
		if !used[x] {
			used[x] = true
			rc.exdates = append(rc.exdates, insts[x][0])
		}
	}
	for j, k := 0, r.IntN(3); j < k && len(insts) > 2; j++ {
		x := 1 + r.IntN(len(insts)-1)
		if !used[x] {
			used[x] = true
			s := insts[x][0].Add(time.Duration(r.IntN(49)-24) * time.Hour)
			rc.overs = append(rc.overs, override{recid: insts[x][0], start: s, end: s.Add(insts[x][1].Sub(insts[x][0]))})
		}
	}
	return ev
}

// probes are fixed events on the window's edges; see the package comment.
func probes(w window, next func() int) []*event {
	mk := func(summary string, s, e time.Time, loc *time.Location) *event {
		i := next()
		return &event{uid: fmt.Sprintf("ev%05d-davgate-bench", i), summary: summary + fmt.Sprintf(" #%d", i),
			desc: "Benchmark probe: " + summary, location: "Probe", loc: loc, start: s.In(loc), end: e.In(loc), status: "CONFIRMED"}
	}
	var out []*event
	ws, we := w.start, w.end
	// Series of 5 weekly instances ending 3 weeks before the window; the
	// last one is moved into the window.
	a := mk("override moved in", ws.AddDate(0, 0, -56).Add(9*time.Hour), ws.AddDate(0, 0, -56).Add(10*time.Hour), berlin)
	a.rec = &recur{freq: "WEEKLY", interval: 1, count: 5}
	last := a.start.AddDate(0, 0, 28)
	a.rec.overs = []override{{recid: last, start: ws.AddDate(0, 0, 9).Add(9 * time.Hour), end: ws.AddDate(0, 0, 9).Add(10 * time.Hour)}}
	// 4 weekly instances, the last on day 4 of the window; it moves after the window.
	b := mk("override moved out", ws.AddDate(0, 0, -17).Add(14*time.Hour), ws.AddDate(0, 0, -17).Add(15*time.Hour), time.UTC)
	b.rec = &recur{freq: "WEEKLY", interval: 1, count: 4}
	bl := b.start.AddDate(0, 0, 21)
	b.rec.overs = []override{{recid: bl, start: we.AddDate(0, 0, 9).Add(14 * time.Hour), end: we.AddDate(0, 0, 9).Add(15 * time.Hour)}}
	// 3 weekly instances, the only in-window one excluded.
	c := mk("exdate removes", ws.AddDate(0, 0, -10).Add(8*time.Hour), ws.AddDate(0, 0, -10).Add(9*time.Hour), berlin)
	c.rec = &recur{freq: "WEEKLY", interval: 1, count: 3, exdates: []time.Time{c.start.AddDate(0, 0, 14)}}
	// UNTIL is inclusive: the last instance ends exactly at the window start.
	d := mk("until at window start", ws.AddDate(0, 0, -5).Add(-time.Hour), ws.AddDate(0, 0, -5), time.UTC)
	d.rec = &recur{freq: "DAILY", interval: 1, until: ws.Add(-time.Hour)}
	// Infinite weekly series started a year earlier: inside.
	e := mk("infinite weekly", ws.AddDate(-1, 0, 2).Add(7*time.Hour), ws.AddDate(-1, 0, 2).Add(8*time.Hour), berlin)
	e.rec = &recur{freq: "WEEKLY", interval: 1}
	// Timed singles on the edges.
	f := mk("ends at window start", ws.Add(-time.Hour), ws, time.UTC)
	g := mk("straddles window end", we.Add(-30*time.Minute), we.Add(30*time.Minute), time.UTC)
	h := mk("starts at window end", we, we.Add(time.Hour), time.UTC)
	i := mk("straddles window start (Berlin)", ws.Add(-30*time.Minute), ws.Add(30*time.Minute), berlin)
	return append(out, a, b, c, d, e, f, g, h, i)
}

// ---- output ----

func fold(w *bufio.Writer, line string) {
	// Fold at 75 octets without splitting UTF-8 sequences.
	for len(line) > 75 {
		cut := 75
		for cut > 0 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		w.WriteString(line[:cut])
		w.WriteString("\r\n ")
		line = line[cut:]
	}
	w.WriteString(line)
	w.WriteString("\r\n")
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}

func dt(name string, t time.Time, loc *time.Location, allDay bool) string {
	switch {
	case allDay:
		return name + ";VALUE=DATE:" + t.Format("20060102")
	case loc == berlin:
		return name + ";TZID=Europe/Berlin:" + t.In(berlin).Format("20060102T150405")
	default:
		return name + ":" + t.UTC().Format("20060102T150405Z")
	}
}

func writeVEVENT(w *bufio.Writer, ev *event, o *override) {
	fold(w, "BEGIN:VEVENT")
	fold(w, "UID:"+ev.uid)
	fold(w, "DTSTAMP:20250101T000000Z")
	fold(w, "CREATED:20250101T000000Z")
	fold(w, "LAST-MODIFIED:20250101T000000Z")
	start, end := ev.start, ev.end
	if o != nil {
		fold(w, dt("RECURRENCE-ID", o.recid, ev.loc, false))
		start, end = o.start, o.end
		fold(w, "SEQUENCE:1")
	}
	fold(w, dt("DTSTART", start, ev.loc, ev.allDay))
	if ev.useDuration && !ev.allDay {
		fold(w, fmt.Sprintf("DURATION:PT%dM", int(end.Sub(start).Minutes())))
	} else {
		fold(w, dt("DTEND", end, ev.loc, ev.allDay))
	}
	if r := ev.rec; r != nil && o == nil {
		rule := "RRULE:FREQ=" + r.freq
		if r.interval > 1 {
			rule += fmt.Sprintf(";INTERVAL=%d", r.interval)
		}
		if r.workdays {
			rule += ";BYDAY=MO,TU,WE,TH,FR"
		}
		if r.count > 0 {
			rule += fmt.Sprintf(";COUNT=%d", r.count)
		}
		if !r.until.IsZero() {
			rule += ";UNTIL=" + r.until.UTC().Format("20060102T150405Z")
		}
		fold(w, rule)
		for _, x := range r.exdates {
			fold(w, dt("EXDATE", x, ev.loc, false))
		}
	}
	summary := ev.summary
	if o != nil {
		summary += " (moved)"
	}
	fold(w, "SUMMARY:"+escape(summary))
	fold(w, "DESCRIPTION:"+escape(ev.desc))
	fold(w, "LOCATION:"+escape(ev.location))
	fold(w, "STATUS:"+ev.status)
	if ev.allDay {
		fold(w, "TRANSP:TRANSPARENT")
	}
	if ev.organizer != "" {
		fold(w, "ORGANIZER;"+ev.organizer)
	}
	for _, a := range ev.attendees {
		fold(w, "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;"+a)
	}
	if ev.alarm > 0 {
		fold(w, "BEGIN:VALARM")
		fold(w, "ACTION:DISPLAY")
		fold(w, "DESCRIPTION:Reminder")
		fold(w, fmt.Sprintf("TRIGGER:-PT%dM", ev.alarm))
		fold(w, "END:VALARM")
	}
	fold(w, "END:VEVENT")
}

func writeEvent(w *bufio.Writer, ev *event) {
	writeVEVENT(w, ev, nil)
	if ev.rec != nil {
		for i := range ev.rec.overs {
			writeVEVENT(w, ev, &ev.rec.overs[i])
		}
	}
}

func writeCalendar(path string, evs []*event, tz bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	fold(w, "BEGIN:VCALENDAR")
	fold(w, "VERSION:2.0")
	fold(w, "PRODID:-//davgate//bench feedgen//EN")
	fold(w, "CALSCALE:GREGORIAN")
	if len(evs) > 1 {
		fold(w, "X-WR-CALNAME:davgate bench feed")
	}
	if tz {
		for _, l := range strings.Split(strings.TrimSpace(vtimezone), "\n") {
			fold(w, l)
		}
	}
	for _, ev := range evs {
		writeEvent(w, ev)
	}
	fold(w, "END:VCALENDAR")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	n := flag.Int("n", 10000, "number of events (UIDs)")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", "", "write the feed to this file")
	dir := flag.String("dir", "", "also write one <uid>.ics per event into this directory")
	month := flag.String("month", "2026-03", "benchmark month (UTC), YYYY-MM")
	expected := flag.String("expected", "", "write the UIDs overlapping the month, one a line")
	get := flag.String("get", "", "write the UID of the event used for the GET workload")
	flag.Parse()

	var err error
	if berlin, err = time.LoadLocation("Europe/Berlin"); err != nil {
		fatal(err)
	}
	ms, err := time.Parse("2006-01", *month)
	if err != nil {
		fatal(fmt.Errorf("-month: %w", err))
	}
	w := window{ms, ms.AddDate(0, 1, 0)}

	r := rand.New(rand.NewPCG(*seed, 0xda76a7e))
	var evs []*event
	idx := 0
	next := func() int { idx++; return idx - 1 }
	evs = append(evs, probes(w, next)...)
	for len(evs) < *n {
		i := next()
		evs = append(evs, genEvent(r, i, w, r.IntN(5) == 0))
	}
	evs = evs[:*n]

	var exp []string
	recurring, allDay, tz, overs, exd := 0, 0, 0, 0, 0
	for _, ev := range evs {
		for _, in := range ev.instances(w.end) {
			if w.overlaps(in[0], in[1]) {
				exp = append(exp, ev.uid)
				break
			}
		}
		if ev.rec != nil {
			recurring++
			overs += len(ev.rec.overs)
			exd += len(ev.rec.exdates)
		}
		if ev.allDay {
			allDay++
		}
		if ev.loc == berlin {
			tz++
		}
	}
	sort.Strings(exp)

	if *out != "" {
		if err := writeCalendar(*out, evs, true); err != nil {
			fatal(err)
		}
	}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fatal(err)
		}
		for _, ev := range evs {
			if err := writeCalendar(filepath.Join(*dir, ev.uid+".ics"), []*event{ev}, ev.loc == berlin && !ev.allDay); err != nil {
				fatal(err)
			}
		}
	}
	if *expected != "" {
		if err := os.WriteFile(*expected, []byte(strings.Join(exp, "\n")+"\n"), 0o644); err != nil {
			fatal(err)
		}
	}
	// The GET target: an ordinary single timed event well inside the span.
	getUID := evs[len(evs)/2].uid
	for _, ev := range evs[len(evs)/2:] {
		if ev.rec == nil && !ev.allDay {
			getUID = ev.uid
			break
		}
	}
	if *get != "" {
		if err := os.WriteFile(*get, []byte(getUID+"\n"), 0o644); err != nil {
			fatal(err)
		}
	}
	size := int64(0)
	if *out != "" {
		if st, err := os.Stat(*out); err == nil {
			size = st.Size()
		}
	}
	fmt.Fprintf(os.Stderr, "feedgen: %d events (%d recurring, %d overrides, %d exdates, %d all-day, %d Europe/Berlin), %d bytes, %d expected in %s\n",
		len(evs), recurring, overs, exd, allDay, tz, size, len(exp), *month)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "feedgen:", err)
	os.Exit(1)
}
