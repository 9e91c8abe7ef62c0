package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/davgate/davgate/adapters"
)

// translatorVersion is part of every ETag: bump it when the bytes the
// gateway serves for an unchanged upstream object change (so clients
// refetch).
const translatorVersion = "1"

// etagOf derives an object's strong ETag (unquoted) from its identity and
// upstream version, so it is stable across restarts and needs no storage.
// Objects without a Version are hashed by content.
func etagOf(coll string, o adapters.Object) string {
	if safeVersion(o.Version) {
		// Already a short opaque token (a content hash, a counter): use it,
		// prefixed so a translator change still changes every ETag.
		return "v" + translatorVersion + "-" + o.Version
	}
	h := sha256.New()
	h.Write([]byte(translatorVersion))
	h.Write([]byte{0})
	h.Write([]byte(coll))
	h.Write([]byte{0})
	h.Write([]byte(o.ID))
	h.Write([]byte{0})
	if o.Version != "" {
		h.Write([]byte(o.Version))
	} else if b, err := o.Encode(); err == nil {
		h.Write(b)
	}
	var sum [32]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// matchETags implements If-Match / If-None-Match list matching with strong
// comparison (RFC 9110 §13.1.1): "*" matches any existing resource, weak
// tags never match.
func matchETags(header, etag string, exists bool) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "*":
			if exists {
				return true
			}
		case strings.HasPrefix(part, "W/"):
			continue
		case exists && strings.Trim(part, `"`) == etag && strings.HasPrefix(part, `"`):
			return true
		}
	}
	return false
}

// safeVersion reports whether an upstream version can serve in an ETag as
// is: short, and only characters that need no quoting or escaping.
func safeVersion(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
