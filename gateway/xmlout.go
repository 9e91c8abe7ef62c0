package gateway

import (
	"bufio"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	nsDAV     = "DAV:"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/"
	nsApple   = "http://apple.com/ns/ical/"
)

const nsDecl = `xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:ical="http://apple.com/ns/ical/"`

var prefixes = map[string]string{nsDAV: "d", nsCalDAV: "c", nsCardDAV: "card", nsCS: "cs", nsApple: "ical"}

// xmlEscape escapes text content. Unlike xml.EscapeText it leaves quotes
// alone (ETags stay readable) but keeps CR as &#xD; so CRLF line endings of
// calendar-data survive XML parsing.
func xmlEscape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '&' || c == '<' || c == '>' || c < 0x20 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	writeEscaped(&b, []byte(s))
	return b.String()
}

type byteStringWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

func writeEscaped(w byteStringWriter, s []byte) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case c == '\n' || c == '\t':
			continue
		case c < 0x20:
			esc = "\uFFFD" // not allowed in XML 1.0
		default:
			continue
		}
		_, _ = w.Write(s[last:i])
		_, _ = w.WriteString(esc)
		last = i + 1
	}
	_, _ = w.Write(s[last:])
}

// prop is one property value. Inner is trusted XML; Text, when set, is
// escaped on output (calendar-data).
type prop struct {
	name  xml.Name
	inner string
	text  []byte
}

// msWriter streams a DAV:multistatus, so a 10,000-object listing is never
// built in memory.
type msWriter struct {
	w   *bufio.Writer
	err error
}

func newMultistatus(w http.ResponseWriter) *msWriter {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	m := &msWriter{w: bufio.NewWriterSize(w, 32<<10)}
	m.s(`<?xml version="1.0" encoding="utf-8"?>` + "\n<d:multistatus " + nsDecl + ">")
	return m
}

func (m *msWriter) s(s string) {
	if m.err == nil {
		_, m.err = m.w.WriteString(s)
	}
}

func (m *msWriter) esc(b []byte) {
	if m.err == nil {
		writeEscaped(m.w, b)
	}
}

func (m *msWriter) open(n xml.Name) {
	if p, ok := prefixes[n.Space]; ok {
		m.s("<" + p + ":" + n.Local + ">")
		return
	}
	m.s("<" + n.Local + ` xmlns="` + xmlEscape(n.Space) + `">`)
}

func (m *msWriter) close(n xml.Name) {
	if p, ok := prefixes[n.Space]; ok {
		m.s("</" + p + ":" + n.Local + ">")
		return
	}
	m.s("</" + n.Local + ">")
}

func (m *msWriter) empty(n xml.Name) {
	if p, ok := prefixes[n.Space]; ok {
		m.s("<" + p + ":" + n.Local + "/>")
		return
	}
	m.s("<" + n.Local + ` xmlns="` + xmlEscape(n.Space) + `"/>`)
}

// response writes one DAV:response with a 200 propstat for found and a 404
// propstat for missing properties.
func (m *msWriter) response(href string, found []prop, missing []xml.Name) {
	m.s("<d:response><d:href>" + xmlEscape(href) + "</d:href>")
	if len(found) > 0 || len(missing) == 0 {
		m.s("<d:propstat><d:prop>")
		for _, p := range found {
			if p.inner == "" && p.text == nil {
				m.empty(p.name)
				continue
			}
			m.open(p.name)
			if p.text != nil {
				m.esc(p.text)
			} else {
				m.s(p.inner)
			}
			m.close(p.name)
		}
		m.s("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>")
	}
	m.propstat(missing, http.StatusNotFound)
	m.s("</d:response>")
}

func (m *msWriter) propstat(names []xml.Name, status int) {
	if len(names) == 0 {
		return
	}
	m.s("<d:propstat><d:prop>")
	for _, n := range names {
		m.empty(n)
	}
	m.s("</d:prop><d:status>" + statusLine(status) + "</d:status></d:propstat>")
}

// status writes a DAV:response that carries only a status (multiget misses,
// sync-collection deletions).
func (m *msWriter) status(href string, code int) {
	m.s("<d:response><d:href>" + xmlEscape(href) + "</d:href><d:status>" + statusLine(code) + "</d:status></d:response>")
}

func (m *msWriter) finish(trailer string) error {
	m.s(trailer + "</d:multistatus>\n")
	if m.err == nil {
		m.err = m.w.Flush()
	}
	return m.err
}

func statusLine(code int) string {
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code)
}

var _ io.Writer = (*bufio.Writer)(nil)
