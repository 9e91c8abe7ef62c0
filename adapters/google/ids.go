package google

import (
	"crypto/sha256"
	"encoding/base32"
	"sort"
	"strings"

	"github.com/davgate/davgate/adapters/google/api"
)

// Google event ids are [a-v0-9]{5,1024}: base32hex, lower case. Encoding a
// client's object ID as base32hex gives a deterministic event id, so an
// object PUT under any href is found again by its ID without storing a
// mapping; the ID is also kept in the event's private extended properties
// (api.PropID) so listings report it without decoding.
var b32 = base32.HexEncoding.WithPadding(base32.NoPadding)

const (
	encPrefix  = "dg" // base32hex of the client ID follows
	hashPrefix = "dh" // base32hex of the SHA-256 of a too-long ID follows
	maxEventID = 1024
)

// validEventID reports whether id can be used as a Google event id as is.
func validEventID(id string) bool {
	if len(id) < 5 || len(id) > maxEventID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return false
		}
	}
	return true
}

// EventID returns the Google event id an object ID maps to: the ID itself
// when Google accepts it, else a base32hex encoding, else (IDs too long to
// encode within 1024 characters) a hash. The mapping is a pure function,
// so it needs no storage and survives restarts.
func EventID(objectID string) string {
	if validEventID(objectID) {
		return objectID
	}
	if enc := encPrefix + strings.ToLower(b32.EncodeToString([]byte(objectID))); len(enc) <= maxEventID {
		return enc
	}
	sum := sha256.Sum256([]byte(objectID))
	return hashPrefix + strings.ToLower(b32.EncodeToString(sum[:]))
}

// objectIDOf returns the object ID of a Google event: the stored client
// ID, else the decoded id of an event davgate named, else the event id
// (events created on the Google side).
func objectIDOf(e *api.Event, seriesID string) string {
	if e != nil && e.ExtendedProperties != nil {
		if id := getChunked(e.ExtendedProperties.Private, api.PropID); id != "" {
			return id
		}
	}
	if rest, ok := strings.CutPrefix(seriesID, encPrefix); ok {
		if b, err := b32.DecodeString(strings.ToUpper(rest)); err == nil && EventID(string(b)) == seriesID {
			return string(b)
		}
	}
	return seriesID
}

// setChunked stores v under key, split into api.ChunkSize pieces at rune
// boundaries; an empty v removes the key.
func setChunked(m map[string]string, key, v string) {
	for k := range m {
		if k == key || strings.HasPrefix(k, key+".") {
			delete(m, k)
		}
	}
	for i := 0; v != ""; i++ {
		n := min(len(v), api.ChunkSize)
		for n < len(v) && n > 0 && !utf8RuneStart(v[n]) {
			n--
		}
		k := key
		if i > 0 {
			k = key + "." + itoa(i)
		}
		m[k] = v[:n]
		v = v[n:]
	}
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// getChunked reassembles a value stored by setChunked.
func getChunked(m map[string]string, key string) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(v)
	for i := 1; ; i++ {
		part, ok := m[key+"."+itoa(i)]
		if !ok {
			break
		}
		sb.WriteString(part)
	}
	return sb.String()
}

// seriesVersion combines the etags of a series' events: the master's etag
// alone when it has no overrides (so If-Match can use it directly), else a
// hash of all of them, so an edited override changes the object's Version.
func seriesVersion(events []*api.Event) string {
	if len(events) == 1 {
		return events[0].Etag
	}
	parts := make([]string, 0, len(events))
	for _, e := range events {
		parts = append(parts, e.Id+"="+e.Etag)
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return "s" + strings.ToLower(b32.EncodeToString(sum[:15]))
}
