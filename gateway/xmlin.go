package gateway

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/davgate/davgate/adapters/filter"
)

// propReq is what a PROPFIND or REPORT asks for.
type propReq struct {
	allprop  bool
	propname bool
	names    []xml.Name
	// expand is the calendar-data <C:expand> range, if any.
	expand *filter.TimeRange
}

func (p *propReq) wants(n xml.Name) bool {
	for _, x := range p.names {
		if x == n {
			return true
		}
	}
	return false
}

// propList decodes a DAV:prop element: it records child element names and
// calendar-data's expand range.
type propList struct {
	names  []xml.Name
	expand *filter.TimeRange
}

func (pl *propList) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			pl.names = append(pl.names, t.Name)
			if t.Name == (xml.Name{Space: nsCalDAV, Local: "calendar-data"}) {
				var cd struct {
					Expand *timeRangeXML `xml:"urn:ietf:params:xml:ns:caldav expand"`
				}
				if err := d.DecodeElement(&cd, &t); err != nil {
					return err
				}
				if cd.Expand != nil {
					tr, err := cd.Expand.parse()
					if err != nil {
						return err
					}
					pl.expand = &tr
				}
				continue
			}
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

type propfindXML struct {
	XMLName  xml.Name  `xml:"DAV: propfind"`
	AllProp  *struct{} `xml:"DAV: allprop"`
	PropName *struct{} `xml:"DAV: propname"`
	Prop     *propList `xml:"DAV: prop"`
	Include  *propList `xml:"DAV: include"`
}

// readBody reads a request body within the server's limit, mapping an
// oversized body to 413.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errStatus(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
		}
		return nil, errStatus(http.StatusBadRequest, "cannot read request body")
	}
	return b, nil
}

func badXML(err error) *davError {
	return &davError{status: http.StatusBadRequest, msg: "malformed XML request body", cause: err}
}

func parsePropfind(body []byte) (*propReq, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return &propReq{allprop: true}, nil
	}
	var x propfindXML
	if err := xml.Unmarshal(body, &x); err != nil {
		return nil, badXML(err)
	}
	p := &propReq{}
	switch {
	case x.PropName != nil:
		p.propname = true
	case x.Prop != nil:
		p.names, p.expand = x.Prop.names, x.Prop.expand
	default:
		p.allprop = true
		if x.Include != nil {
			p.names = x.Include.names
		}
	}
	return p, nil
}

// reportRoot returns the name of a REPORT body's root element.
func reportRoot(body []byte) (xml.Name, error) {
	d := xml.NewDecoder(strings.NewReader(string(body)))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, badXML(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

type timeRangeXML struct {
	Start string `xml:"start,attr"`
	End   string `xml:"end,attr"`
}

func (t *timeRangeXML) parse() (filter.TimeRange, error) {
	var tr filter.TimeRange
	var err error
	if t.Start != "" {
		if tr.Start, err = parseUTC(t.Start); err != nil {
			return tr, err
		}
	}
	if t.End != "" {
		if tr.End, err = parseUTC(t.End); err != nil {
			return tr, err
		}
	}
	if t.Start == "" && t.End == "" {
		return tr, errStatus(http.StatusBadRequest, "time-range needs start or end")
	}
	return tr, nil
}

func parseUTC(s string) (time.Time, error) {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		return t, &davError{status: http.StatusBadRequest, precond: "<c:valid-filter/>", msg: "time-range attributes must be UTC date-times like 20260101T000000Z", cause: err}
	}
	return t, nil
}

type textMatchXML struct {
	Text      string `xml:",chardata"`
	Collation string `xml:"collation,attr"`
	Negate    string `xml:"negate-condition,attr"`
	MatchType string `xml:"match-type,attr"`
}

func (t *textMatchXML) conv() *filter.TextMatch {
	if t == nil {
		return nil
	}
	return &filter.TextMatch{Text: t.Text, Collation: t.Collation, Negate: t.Negate == "yes", MatchType: t.MatchType}
}

type paramFilterXML struct {
	Name         string        `xml:"name,attr"`
	IsNotDefined *struct{}     `xml:"is-not-defined"`
	TextMatch    *textMatchXML `xml:"text-match"`
}

type propFilterXML struct {
	Name         string           `xml:"name,attr"`
	Test         string           `xml:"test,attr"`
	IsNotDefined *struct{}        `xml:"is-not-defined"`
	TimeRange    *timeRangeXML    `xml:"time-range"`
	TextMatch    []textMatchXML   `xml:"text-match"`
	Params       []paramFilterXML `xml:"param-filter"`
}

type compFilterXML struct {
	Name         string          `xml:"name,attr"`
	IsNotDefined *struct{}       `xml:"urn:ietf:params:xml:ns:caldav is-not-defined"`
	TimeRange    *timeRangeXML   `xml:"urn:ietf:params:xml:ns:caldav time-range"`
	Props        []propFilterXML `xml:"urn:ietf:params:xml:ns:caldav prop-filter"`
	Comps        []compFilterXML `xml:"urn:ietf:params:xml:ns:caldav comp-filter"`
}

func convParams(ps []paramFilterXML) []filter.ParamFilter {
	var out []filter.ParamFilter
	for _, p := range ps {
		out = append(out, filter.ParamFilter{Name: p.Name, IsNotDefined: p.IsNotDefined != nil, TextMatch: p.TextMatch.conv()})
	}
	return out
}

func (c *compFilterXML) conv() (filter.CompFilter, error) {
	f := filter.CompFilter{Name: strings.ToUpper(c.Name), IsNotDefined: c.IsNotDefined != nil}
	if c.TimeRange != nil {
		tr, err := c.TimeRange.parse()
		if err != nil {
			return f, err
		}
		f.TimeRange = &tr
	}
	for _, p := range c.Props {
		pf := filter.PropFilter{Name: strings.ToUpper(p.Name), IsNotDefined: p.IsNotDefined != nil, Params: convParams(p.Params)}
		if p.TimeRange != nil {
			tr, err := p.TimeRange.parse()
			if err != nil {
				return f, err
			}
			pf.TimeRange = &tr
		}
		if len(p.TextMatch) > 0 {
			pf.TextMatch = p.TextMatch[0].conv()
		}
		f.Props = append(f.Props, pf)
	}
	for i := range c.Comps {
		sub, err := c.Comps[i].conv()
		if err != nil {
			return f, err
		}
		f.Comps = append(f.Comps, sub)
	}
	return f, nil
}

type calQueryXML struct {
	XMLName  xml.Name      `xml:"urn:ietf:params:xml:ns:caldav calendar-query"`
	AllProp  *struct{}     `xml:"DAV: allprop"`
	Prop     *propList     `xml:"DAV: prop"`
	Filter   compFilterXML `xml:"urn:ietf:params:xml:ns:caldav filter>comp-filter"`
	Timezone string        `xml:"urn:ietf:params:xml:ns:caldav timezone"`
}

type multigetXML struct {
	AllProp *struct{} `xml:"DAV: allprop"`
	Prop    *propList `xml:"DAV: prop"`
	Hrefs   []string  `xml:"DAV: href"`
}

type cardQueryXML struct {
	AllProp *struct{} `xml:"DAV: allprop"`
	Prop    *propList `xml:"DAV: prop"`
	Filter  struct {
		Test  string          `xml:"test,attr"`
		Props []propFilterXML `xml:"urn:ietf:params:xml:ns:carddav prop-filter"`
	} `xml:"urn:ietf:params:xml:ns:carddav filter"`
	Limit *struct {
		NResults int `xml:"urn:ietf:params:xml:ns:carddav nresults"`
	} `xml:"urn:ietf:params:xml:ns:carddav limit"`
}

type syncXML struct {
	Token string    `xml:"DAV: sync-token"`
	Level string    `xml:"DAV: sync-level"`
	Prop  *propList `xml:"DAV: prop"`
	Limit *struct {
		NResults int `xml:"DAV: nresults"`
	} `xml:"DAV: limit"`
}

type freeBusyXML struct {
	TimeRange *timeRangeXML `xml:"urn:ietf:params:xml:ns:caldav time-range"`
}

func propsOf(allprop *struct{}, pl *propList) *propReq {
	if pl == nil || allprop != nil {
		return &propReq{allprop: true}
	}
	return &propReq{names: pl.names, expand: pl.expand}
}

// setProps decodes the DAV:set/DAV:prop children of MKCALENDAR, extended
// MKCOL and PROPPATCH bodies, in document order.
type setRemove struct {
	remove bool
	name   xml.Name
	text   string   // chardata of simple properties
	comps  []string // supported-calendar-component-set
	rtypes []xml.Name
}

func parseSetRemove(body []byte) ([]setRemove, error) {
	var out []setRemove
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	d := xml.NewDecoder(strings.NewReader(string(body)))
	depth := 0
	remove := false
	inProp := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, badXML(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case t.Name.Space == nsDAV && (t.Name.Local == "set" || t.Name.Local == "remove"):
				remove = t.Name.Local == "remove"
			case t.Name.Space == nsDAV && t.Name.Local == "prop":
				inProp = true
			case inProp:
				sr, err := decodeOneProp(d, t)
				if err != nil {
					return nil, badXML(err)
				}
				sr.remove = remove
				out = append(out, sr)
				depth--
			}
		case xml.EndElement:
			depth--
			if t.Name.Space == nsDAV && t.Name.Local == "prop" {
				inProp = false
			}
		}
	}
}

func decodeOneProp(d *xml.Decoder, start xml.StartElement) (setRemove, error) {
	sr := setRemove{name: start.Name}
	var text strings.Builder
	level := 1
	for level > 0 {
		tok, err := d.Token()
		if err != nil {
			return sr, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			level++
			if t.Name.Local == "comp" {
				for _, a := range t.Attr {
					if a.Name.Local == "name" {
						sr.comps = append(sr.comps, strings.ToUpper(a.Value))
					}
				}
			}
			if start.Name == (xml.Name{Space: nsDAV, Local: "resourcetype"}) {
				sr.rtypes = append(sr.rtypes, t.Name)
			}
		case xml.EndElement:
			level--
		case xml.CharData:
			if level == 1 {
				text.Write(t)
			}
		}
	}
	sr.text = strings.TrimSpace(text.String())
	return sr, nil
}
