package ics

import (
	"bytes"
	"strconv"
	"strings"
)

// The splitter cuts a cleaned feed (icalfix.Clean output: CRLF lines,
// balanced BEGIN/END, no garbage lines) into its top-level components
// without decoding them, so that each object is decoded on its own: one
// broken event costs that event only, and decoding runs in parallel.

// part is one top-level component of the feed.
type part struct {
	name string // VEVENT, VTODO, VJOURNAL, VTIMEZONE, ...
	text []byte // BEGIN … END, CRLF-terminated lines
	// Header values read without a full decode (unfolded, raw).
	uid, recurID, seq, stamp, modified, dtstart, summary, tzid string
}

// feedParts is a split feed.
type feedParts struct {
	props []prop // VCALENDAR-level properties of all calendars, in order
	parts []part
}

type prop struct {
	name, value string
	params      string // raw ";…" text
}

// split cuts clean into parts. It never fails: text outside VCALENDARs
// is ignored (Clean wraps bare components).
func split(clean []byte) feedParts {
	var fp feedParts
	depth := 0
	var cur *part
	start := 0
	for pos := 0; pos < len(clean); {
		ls, le, next := logicalLine(clean, pos)
		pos = next
		line := clean[ls:le]
		name, params, value := splitLine(line)
		switch name {
		case "BEGIN":
			depth++
			if depth == 2 {
				cur = &part{name: strings.ToUpper(strings.TrimSpace(value))}
				start = ls
			}
			continue
		case "END":
			if depth == 2 && cur != nil {
				cur.text = clean[start:next]
				fp.parts = append(fp.parts, *cur)
				cur = nil
			}
			if depth > 0 {
				depth--
			}
			continue
		}
		switch {
		case depth == 1:
			if name != "" {
				fp.props = append(fp.props, prop{name: name, params: params, value: value})
			}
		case depth == 2 && cur != nil:
			switch name {
			case "UID":
				cur.uid = value
			case "RECURRENCE-ID":
				cur.recurID = value
			case "SEQUENCE":
				cur.seq = value
			case "DTSTAMP":
				cur.stamp = value
			case "LAST-MODIFIED":
				cur.modified = value
			case "DTSTART":
				cur.dtstart = value
			case "SUMMARY":
				cur.summary = value
			case "TZID":
				cur.tzid = strings.Trim(value, `"`)
			}
		}
	}
	return fp
}

// logicalLine returns the bounds of the logical line at pos (folds
// included, line end excluded) and where the next one starts.
func logicalLine(b []byte, pos int) (start, end, next int) {
	start = pos
	i := pos
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return start, len(b), len(b)
		}
		i += j + 1
		if i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			continue
		}
		end = i - 1
		if end > start && b[end-1] == '\r' {
			end--
		}
		return start, end, i
	}
}

// splitLine returns a line's upper-cased name, raw parameter text and
// unfolded value. Colons inside quoted parameter values do not end the
// parameters.
func splitLine(line []byte) (name, params, value string) {
	if bytes.Contains(line, []byte("\n")) {
		line = unfold(line)
	}
	i := bytes.IndexAny(line, ";:")
	if i <= 0 {
		return "", "", ""
	}
	name = strings.ToUpper(string(line[:i]))
	if line[i] == ':' {
		return name, "", string(line[i+1:])
	}
	inQuote := false
	for j := i; j < len(line); j++ {
		switch line[j] {
		case '"':
			inQuote = !inQuote
		case ':':
			if !inQuote {
				return name, string(line[i:j]), string(line[j+1:])
			}
		}
	}
	return name, string(line[i:]), ""
}

func unfold(line []byte) []byte {
	out := make([]byte, 0, len(line))
	for len(line) > 0 {
		k := bytes.IndexByte(line, '\n')
		if k < 0 {
			out = append(out, line...)
			break
		}
		seg := line[:k]
		seg = bytes.TrimSuffix(seg, []byte("\r"))
		out = append(out, seg...)
		line = line[k+1:]
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			line = line[1:]
		}
	}
	return out
}

// param returns the value of parameter name in raw ";A=b;C=d" text.
func param(params, name string) string {
	for params != "" {
		params = strings.TrimPrefix(params, ";")
		end, inQuote := len(params), false
		for j := 0; j < len(params); j++ {
			if params[j] == '"' {
				inQuote = !inQuote
			} else if params[j] == ';' && !inQuote {
				end = j
				break
			}
		}
		k, v, _ := strings.Cut(params[:end], "=")
		if strings.EqualFold(k, name) {
			return strings.Trim(v, `"`)
		}
		params = params[end:]
	}
	return ""
}

// unescapeText decodes an iCalendar TEXT value.
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}
