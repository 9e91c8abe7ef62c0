package ewstest

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// Namespace URIs. Requests are matched by local name (clients use any
// prefix: soap:, s:, default xmlns=); responses use Exchange's prefixes.
const (
	nsSOAP   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes  = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMsgs   = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsErrors = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// node is a parsed request element.
type node struct {
	Space, Local string
	Attrs        []xml.Attr
	Kids         []*node
	Text         string
}

func parseXML(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{Space: t.Name.Space, Local: t.Name.Local, Attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}

// kid returns the first child with the local name, or nil.
func (n *node) kid(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Local == local {
			return k
		}
	}
	return nil
}

// all returns the children (nil-safe).
func (n *node) all() []*node {
	if n == nil {
		return nil
	}
	return n.Kids
}

func (n *node) kidsNamed(local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.Kids {
		if k.Local == local {
			out = append(out, k)
		}
	}
	return out
}

// at walks a path of local names.
func (n *node) at(path ...string) *node {
	for _, p := range path {
		n = n.kid(p)
	}
	return n
}

func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) hasAttr(name string) bool {
	if n == nil {
		return false
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return true
		}
	}
	return false
}

func (n *node) text() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

// xw writes Exchange-shaped XML with fixed prefixes.
type xw struct{ b strings.Builder }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func escAttr(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", "&#xA;", "\r", "&#xD;", "\t", "&#x9;")
	return r.Replace(s)
}

func (w *xw) start(name string, attrs []string, selfClose bool) {
	w.b.WriteByte('<')
	w.b.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.b.WriteByte(' ')
		w.b.WriteString(attrs[i])
		w.b.WriteString(`="`)
		w.b.WriteString(escAttr(attrs[i+1]))
		w.b.WriteByte('"')
	}
	if selfClose {
		w.b.WriteString("/>")
	} else {
		w.b.WriteByte('>')
	}
}

// open writes a start tag; attrs are name, value pairs.
func (w *xw) open(name string, attrs ...string) { w.start(name, attrs, false) }

func (w *xw) close(name string) {
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

// empty writes a self-closing element.
func (w *xw) empty(name string, attrs ...string) { w.start(name, attrs, true) }

// leaf writes an element with text content (self-closing when empty).
func (w *xw) leaf(name, text string, attrs ...string) {
	if text == "" {
		w.start(name, attrs, true)
		return
	}
	w.start(name, attrs, false)
	w.b.WriteString(esc(text))
	w.close(name)
}

// copyNode re-emits a request element (for echoing ExtendedFieldURI etc.)
// under the given prefix, keeping its attributes in request order.
func (w *xw) copyNode(prefix string, n *node) {
	var attrs []string
	for _, a := range n.Attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		attrs = append(attrs, a.Name.Local, a.Value)
	}
	if len(n.Kids) == 0 {
		w.leaf(prefix+n.Local, n.text(), attrs...)
		return
	}
	w.open(prefix+n.Local, attrs...)
	for _, k := range n.Kids {
		w.copyNode(prefix, k)
	}
	w.close(prefix + n.Local)
}
