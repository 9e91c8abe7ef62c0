package vdir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// File names.
//
// An object ID maps to a file name by escaping every byte outside
// [A-Za-z0-9@._+-] as %XX (upper-case hex), plus a leading '.', so that no
// ID becomes a hidden file, "." or "..". The mapping is reversible: a file
// name unescapes to exactly one ID, and names that do not unescape (they
// were not written by davgate) are taken literally as IDs. vdirsyncer
// writes UID-based names with unsafe characters replaced, which are all in
// the safe set, so its files keep their names as IDs.
//
// File names are limited to 255 bytes. An ID whose escaped name would be
// longer is stored under "=<sha256 hex>" + ext, and the full ID in a hidden
// sidecar file ".=<sha256 hex>.id" next to it; '=' is outside the safe set,
// so no escaped name begins with it.

const maxNameBytes = 200 // leaves room for the extension and temp prefixes

func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '@' || c == '.' || c == '_' || c == '+' || c == '-'
}

// escape maps an ID to a file base name (without extension). hashed is true
// when the name is the hash form, which needs a sidecar holding the ID.
func escape(id string) (name string, hashed bool) {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if safeByte(c) && !(i == 0 && c == '.') {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	if b.Len() == 0 {
		return "", false
	}
	if b.Len() > maxNameBytes {
		sum := sha256.Sum256([]byte(id))
		return "=" + hex.EncodeToString(sum[:]), true
	}
	return b.String(), false
}

// unescape is the inverse of escape for non-hashed names. Malformed
// escapes (files not written by davgate) leave the name as it is.
func unescape(name string) string {
	if !strings.Contains(name, "%") {
		return name
	}
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			out = append(out, name[i])
			continue
		}
		if i+2 >= len(name) {
			return name
		}
		v, err := hex.DecodeString(name[i+1 : i+3])
		if err != nil {
			return name
		}
		out = append(out, v[0])
		i += 2
	}
	return string(out)
}

// idFromName returns the ID of a (non-hashed) base name: the unescaped
// form when the name is exactly its canonical escaping, else the name
// itself, so that files written by other tools ("a b.ics") keep their names
// as IDs and lookups find them (see Adapter.locate).
func idFromName(base string) string {
	if id := unescape(base); id != base {
		if n, hashed := escape(id); !hashed && n == base {
			return id
		}
		return base
	}
	return base
}

// literalOK reports whether id can be used as a file name as it is.
func literalOK(id string) bool {
	return id != "" && id[0] != '.' && id[0] != '=' && len(id) <= maxNameBytes &&
		!strings.ContainsAny(id, "/\x00")
}

// sidecarName is the hidden file holding the ID of a hashed name.
func sidecarName(base string) string { return "." + base + ".id" }
