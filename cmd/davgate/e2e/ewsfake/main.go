// Command ewsfake runs the ewstest fake EWS server standalone, for clients
// that run outside a Go test (DavMail, exchangelib, bench/ews/run.sh).
//
//	ewsfake -events 500 -control 127.0.0.1:8089 -url-file /tmp/ews.url
//
// It seeds the primary mailbox's calendar with -events generated events
// (deterministic: the same calendar every run), writes the EWS URL to
// -url-file (and stdout) and serves a control endpoint:
//
//	GET  /calls   the SOAP calls counted so far, as JSON {"FindItem": 2, ...}
//	POST /reset   zero the counters
//	GET  /url     the EWS URL
//
// It stops on SIGINT or SIGTERM.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/davgate/davgate/adapters/ews/ewstest"
)

func main() {
	events := flag.Int("events", 0, "seed the calendar with this many generated events")
	control := flag.String("control", "127.0.0.1:0", "address of the control endpoint")
	urlFile := flag.String("url-file", "", "write the EWS URL here")
	user := flag.String("user", "user@example.test", "Basic user")
	password := flag.String("password", "secret", "Basic password")
	flag.Parse()

	srv := ewstest.New(ewstest.WithBasicAuth(*user, *password))
	defer srv.Close()
	for i := range *events {
		if _, err := srv.AddCalendarItem("calendar", Event(i)); err != nil {
			log.Fatalf("ewsfake: seed event %d: %v", i, err)
		}
	}
	srv.ResetCalls()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(srv.Calls())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		srv.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /url", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, srv.URL()) })
	l, err := net.Listen("tcp", *control)
	if err != nil {
		log.Fatalf("ewsfake: %v", err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()

	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(srv.URL()+"\n"), 0o600); err != nil {
			log.Fatalf("ewsfake: %v", err)
		}
	}
	fmt.Printf("ews %s\ncontrol http://%s\nevents %d\n", srv.URL(), l.Addr(), *events)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = hs.Close()
}

// Event returns the i-th generated event: hourly one-hour meetings from
// 2026-03-02 09:00 Europe/Berlin, every tenth one weekly (COUNT=10), with a
// description, location and category, as an Exchange export would carry.
func Event(i int) string {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(i%300) * 24 * time.Hour / 3).Add(time.Duration(i/300) * time.Hour)
	const f = "20060102T150405"
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//davgate//ewsfake//EN",
		"BEGIN:VTIMEZONE", "TZID:W. Europe Standard Time",
		"BEGIN:STANDARD", "DTSTART:16010101T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
		"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "END:STANDARD",
		"BEGIN:DAYLIGHT", "DTSTART:16010101T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
		"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT", "END:VTIMEZONE",
		"BEGIN:VEVENT", fmt.Sprintf("UID:bench-%05d@ewsfake.example", i), "DTSTAMP:20260101T000000Z",
		"DTSTART;TZID=W. Europe Standard Time:" + start.Format(f),
		"DTEND;TZID=W. Europe Standard Time:" + start.Add(time.Hour).Format(f),
		fmt.Sprintf("SUMMARY:Bench meeting %d", i),
		fmt.Sprintf("LOCATION:Room %d", i%17),
		"DESCRIPTION:" + strings.Repeat(fmt.Sprintf("Agenda item %d. ", i), 6),
		"CATEGORIES:Bench",
	}
	if i%10 == 0 {
		lines = append(lines, "RRULE:FREQ=WEEKLY;COUNT=10")
	}
	lines = append(lines, "END:VEVENT", "END:VCALENDAR", "")
	return strings.Join(lines, "\r\n")
}
