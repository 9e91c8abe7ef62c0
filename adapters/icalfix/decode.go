package icalfix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

// CleanStats counts what Clean repaired.
type CleanStats struct {
	// DroppedLines counts content lines without a colon (garbage, or
	// parameter lines cut short) that were removed.
	DroppedLines int
	// RepairedLines counts lines rewritten to parse, such as a TZID
	// whose closing quote came after the value.
	RepairedLines int
	// Latin1 is true when the input was not UTF-8 and was read as Latin-1.
	Latin1 bool
	// Structure counts BEGIN/END repairs: components closed at a parent's
	// END or at end of input, stray END lines dropped, bare components
	// wrapped in a VCALENDAR.
	Structure int
}

var bom = []byte("\xef\xbb\xbf")

// Clean returns text go-ical can read line by line: without a UTF-8 BOM,
// valid UTF-8 (invalid input is taken as Latin-1, the usual culprit), with
// CRLF line ends, no blank lines, without logical lines go-ical would
// reject (it fails the whole document for one, or panics on a parameter
// line cut short), and with balanced BEGIN/END: unclosed components are
// closed, stray ENDs and lines outside any component dropped, and bare
// components (a VEVENT file) wrapped in a VCALENDAR. Folding is kept. The
// result never aliases in.
func Clean(in []byte) ([]byte, CleanStats) {
	var st CleanStats
	in = bytes.TrimPrefix(in, bom)
	if !utf8.Valid(in) {
		in = latin1ToUTF8(in)
		st.Latin1 = true
	}
	// Old Mac files use CR alone; elsewhere a lone CR is noise in a value.
	lineSep := byte('\n')
	if bytes.IndexByte(in, '\n') < 0 {
		lineSep = '\r'
	}
	out := make([]byte, 0, len(in)+len(in)/32)
	var logical []byte // the current logical line, folds kept
	hasColon := false
	var stack []string // open components
	flush := func() {
		if len(logical) == 0 {
			return
		}
		defer func() { logical, hasColon = logical[:0], false }()
		if !hasColon {
			st.DroppedLines++
			return
		}
		switch name, value := beginEnd(logical); name {
		case "BEGIN":
			if len(stack) == 0 && value != "VCALENDAR" {
				out = append(out, "BEGIN:VCALENDAR\r\n"...)
				stack = append(stack, "VCALENDAR")
				st.Structure++
			}
			stack = append(stack, value)
		case "END":
			i := len(stack) - 1
			for i >= 0 && stack[i] != value {
				i--
			}
			if i < 0 {
				st.Structure++
				return
			}
			for j := len(stack) - 1; j > i; j-- {
				out = append(out, "END:"+stack[j]+"\r\n"...)
				st.Structure++
			}
			stack = stack[:i]
		default:
			if len(stack) == 0 {
				st.DroppedLines++
				return
			}
			if !lineOK(logical) {
				fixed, ok := repairLine(logical)
				if !ok {
					st.DroppedLines++
					return
				}
				out = append(out, fixed...)
				st.RepairedLines++
				return
			}
		}
		out = append(out, logical...)
	}
	for len(in) > 0 {
		var line []byte
		if i := bytes.IndexByte(in, lineSep); i >= 0 {
			line, in = in[:i], in[i+1:]
		} else {
			line, in = in, nil
		}
		line = bytes.TrimRight(line, "\r")
		if bytes.IndexByte(line, '\r') >= 0 {
			line = bytes.ReplaceAll(line, []byte("\r"), nil)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines, including whitespace-only folds
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(logical) > 0 {
				logical = append(logical, line...)
				logical = append(logical, '\r', '\n')
				hasColon = hasColon || bytes.IndexByte(line, ':') >= 0
			} else {
				st.DroppedLines++
			}
			continue
		}
		flush()
		logical = append(logical, line...)
		logical = append(logical, '\r', '\n')
		hasColon = bytes.IndexByte(line, ':') >= 0
	}
	flush()
	for j := len(stack) - 1; j >= 0; j-- {
		out = append(out, "END:"+stack[j]+"\r\n"...)
		st.Structure++
	}
	return out, st
}

// beginEnd returns "BEGIN" or "END" and the upper-cased component name
// for such lines, else "".
func beginEnd(line []byte) (string, string) {
	if len(line) < 4 || (line[0]|0x20 != 'b' && line[0]|0x20 != 'e') {
		return "", ""
	}
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return "", ""
	}
	name := string(bytes.ToUpper(line[:i]))
	if name != "BEGIN" && name != "END" {
		return "", ""
	}
	v := bytes.TrimSpace(bytes.ReplaceAll(bytes.ReplaceAll(line[i+1:], []byte("\r\n "), nil), []byte("\r\n\t"), nil))
	return name, string(bytes.ToUpper(v))
}

func latin1ToUTF8(in []byte) []byte {
	out := make([]byte, 0, len(in)+len(in)/8)
	for _, b := range in {
		out = utf8.AppendRune(out, rune(b))
	}
	return out
}

// Decode reads all concatenated VCALENDARs from r after Clean. It returns
// an error matching adapters.ErrInvalid when the data is not iCalendar or
// a calendar is malformed (go-ical panics are converted); calendars
// decoded before the failure are returned with it.
func Decode(r io.Reader) ([]*ical.Calendar, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("icalfix: read: %w", err)
	}
	cals, _, err := DecodeBytes(data)
	return cals, err
}

// DecodeBytes is Decode over bytes; it also reports what Clean repaired.
func DecodeBytes(data []byte) ([]*ical.Calendar, CleanStats, error) {
	clean, st := Clean(data)
	dec := ical.NewDecoder(bytes.NewReader(clean))
	var cals []*ical.Calendar
	for {
		cal, err := decodeOne(dec)
		if errors.Is(err, io.EOF) {
			if len(cals) == 0 {
				return nil, st, fmt.Errorf("icalfix: no complete VCALENDAR: %w", adapters.ErrInvalid)
			}
			return cals, st, nil
		}
		if err != nil {
			return cals, st, fmt.Errorf("icalfix: calendar %d: %w: %v", len(cals)+1, adapters.ErrInvalid, err)
		}
		cals = append(cals, cal)
	}
}

// DecodeOne decodes exactly one VCALENDAR from clean text (see Clean),
// converting go-ical panics into errors matching adapters.ErrInvalid.
func DecodeOne(clean []byte) (*ical.Calendar, error) {
	cal, err := decodeOne(ical.NewDecoder(bytes.NewReader(clean)))
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("icalfix: truncated VCALENDAR: %w", adapters.ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("icalfix: %w: %v", adapters.ErrInvalid, err)
	}
	return cal, nil
}

func decodeOne(dec *ical.Decoder) (cal *ical.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("parser panic: %v", p)
		}
	}()
	return dec.Decode()
}

// unfold joins a logical line's folds (CRLF then a space or tab) and
// drops the final CRLF.
func unfold(line []byte) string {
	line = bytes.TrimSuffix(line, []byte("\r\n"))
	if bytes.IndexByte(line, '\n') < 0 {
		return string(line)
	}
	var b strings.Builder
	for len(line) > 0 {
		i := bytes.Index(line, []byte("\r\n"))
		if i < 0 {
			b.Write(line)
			break
		}
		b.Write(line[:i])
		line = line[i+2:]
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			line = line[1:]
		}
	}
	return b.String()
}

// lineOK reports whether go-ical parses the logical line; it follows
// go-ical's lineDecoder, including the inputs on which that panics.
func lineOK(logical []byte) bool {
	i := bytes.IndexAny(logical, ";:")
	if i <= 0 {
		return false
	}
	if logical[i] == ':' {
		return true // no parameters: nothing else can fail
	}
	return paramsOK(unfold(logical)[i:])
}

func paramsOK(s string) bool {
	for len(s) > 0 && s[0] == ';' {
		s = s[1:]
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return false
		}
		s = s[eq+1:]
		for {
			if len(s) > 0 && s[0] == '"' {
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					return false
				}
				s = s[end+2:]
			} else {
				end := strings.IndexAny(s, "\";,:")
				if end < 0 {
					return false // the value runs to the end: go-ical panics
				}
				if s[end] == '"' {
					return false
				}
				s = s[end:]
			}
			if len(s) == 0 {
				return false
			}
			if s[0] != ',' {
				break
			}
			s = s[1:]
		}
		if s[0] != ';' && s[0] != ':' {
			return false
		}
	}
	return len(s) > 0 && s[0] == ':'
}

// repairLine fixes a quoted parameter that swallowed the value
// (DTSTART;TZID="W. Europe Standard Time:20200609T090000"), as Exchange
// writes it, by moving the closing quote before the last colon.
func repairLine(logical []byte) ([]byte, bool) {
	line := unfold(logical)
	if !strings.HasSuffix(line, `"`) || strings.Count(line, `"`) != 2 {
		return nil, false
	}
	c := strings.LastIndexByte(line, ':')
	q := strings.IndexByte(line, '"')
	if c < q {
		return nil, false
	}
	fixed := line[:c] + `"` + line[c:len(line)-1]
	if !lineOK([]byte(fixed)) {
		return nil, false
	}
	return []byte(fixed + "\r\n"), true
}
