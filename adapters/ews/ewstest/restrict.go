package ewstest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// getter reads a property (FieldURI / ExtendedFieldURI / IndexedFieldURI
// element) of the object a restriction is evaluated on.
type getter func(uri *node) (string, bool)

func uriOf(n *node) *node {
	for _, k := range n.all() {
		switch k.Local {
		case "FieldURI", "ExtendedFieldURI", "IndexedFieldURI":
			return k
		}
	}
	return nil
}

// compare orders two values: numbers, booleans and times by value,
// strings case-insensitively (as Exchange compares).
func compare(a, b string) int {
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	if x, err := time.Parse(time.RFC3339, a); err == nil {
		if y, err := time.Parse(time.RFC3339, b); err == nil {
			return x.Compare(y)
		}
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// evalRestriction evaluates a search expression (the child of Restriction).
func evalRestriction(n *node, get getter) bool {
	switch n.Local {
	case "And":
		for _, k := range n.all() {
			if !evalRestriction(k, get) {
				return false
			}
		}
		return true
	case "Or":
		for _, k := range n.all() {
			if evalRestriction(k, get) {
				return true
			}
		}
		return false
	case "Not":
		return len(n.Kids) > 0 && !evalRestriction(n.Kids[0], get)
	case "Exists":
		u := uriOf(n)
		if u == nil {
			return false
		}
		_, ok := get(u)
		return ok
	case "Contains":
		u := uriOf(n)
		if u == nil {
			return false
		}
		v, ok := get(u)
		if !ok {
			return false
		}
		want := n.kid("Constant").attr("Value")
		if n.attr("ContainmentComparison") != "Exact" {
			v, want = strings.ToLower(v), strings.ToLower(want)
		}
		switch n.attr("ContainmentMode") {
		case "FullString":
			return v == want
		case "Prefixed":
			return strings.HasPrefix(v, want)
		}
		return strings.Contains(v, want)
	case "Excludes":
		return true
	}
	u := uriOf(n)
	if u == nil {
		return false
	}
	v, ok := get(u)
	if !ok {
		return false
	}
	var other string
	foc := n.kid("FieldURIOrConstant")
	if k := foc.kid("Constant"); k != nil {
		other = k.attr("Value")
	} else if u2 := uriOf(foc); u2 != nil {
		if other, ok = get(u2); !ok {
			return false
		}
	}
	cmp := compare(v, other)
	switch n.Local {
	case "IsEqualTo":
		return cmp == 0
	case "IsNotEqualTo":
		return cmp != 0
	case "IsGreaterThan":
		return cmp > 0
	case "IsGreaterThanOrEqualTo":
		return cmp >= 0
	case "IsLessThan":
		return cmp < 0
	case "IsLessThanOrEqualTo":
		return cmp <= 0
	}
	return false
}

// itemGetter reads item properties for restrictions and sorting.
func (c *requestCtx) itemGetter(it *item) getter {
	return func(uri *node) (string, bool) {
		switch uri.Local {
		case "ExtendedFieldURI":
			vals, ok := c.extValue(it, uri)
			if !ok || len(vals) == 0 {
				return "", false
			}
			return vals[0], true
		case "IndexedFieldURI":
			f, i := uri.attr("FieldURI"), uri.attr("FieldIndex")
			v, ok := it.idx[f+"/"+i]
			return v, ok && v != ""
		}
		return c.scalar(it, uri.attr("FieldURI"))
	}
}

// ----- sync states: opaque base64 (gzip, like Exchange's "H4sI…")

type syncStateData struct {
	Scope string `json:"f"`
	Seq   int64  `json:"s"`
	Epoch int    `json:"e"`
	Salt  string `json:"x"`
}

func (s *Server) syncState(scope string, seq int64) string {
	raw, _ := json.Marshal(syncStateData{Scope: scope, Seq: seq, Epoch: s.epoch, Salt: s.idSalt})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func (s *Server) parseSyncState(st, scope string) (int64, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st))
	if err != nil {
		return 0, false
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, false
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 4096))
	if err != nil {
		return 0, false
	}
	var d syncStateData
	if json.Unmarshal(raw, &d) != nil || d.Scope != scope || d.Epoch != s.epoch || d.Salt != s.idSalt || d.Seq > s.seq {
		return 0, false
	}
	return d.Seq, true
}
