package gateway

import (
	"strings"
	"testing"

	"github.com/davgate/davgate/adapters"
)

func TestETagOf(t *testing.T) {
	raw := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	tests := []struct {
		name string
		o    adapters.Object
		hash bool // derived by hashing rather than from Version
	}{
		{"content hash version", adapters.Object{ID: "a", Version: "0123abcd"}, false},
		{"counter version", adapters.Object{ID: "a", Version: "42"}, false},
		{"quoted Google etag", adapters.Object{ID: "a", Version: `"3181161784712000"`}, true},
		{"EWS ChangeKey", adapters.Object{ID: "a", Version: "DwAAABYAAAA+k/7nn=="}, true},
		{"no version", adapters.Object{ID: "a", Raw: raw}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := etagOf("c", tc.o)
			if strings.ContainsAny(e, `"\ `) || e == "" {
				t.Fatalf("ETag %q is not a bare token", e)
			}
			if got := !strings.HasPrefix(e, "v"+translatorVersion+"-"); got != tc.hash {
				t.Fatalf("ETag %q: hashed = %v, want %v", e, got, tc.hash)
			}
			if etagOf("c", tc.o) != e {
				t.Fatal("ETag not stable")
			}
			changed := tc.o
			changed.Version += "x"
			if tc.o.Version == "" {
				changed.Raw = append([]byte(nil), raw...)
				changed.Raw[0] = 'b'
			}
			if etagOf("c", changed) == e {
				t.Fatal("ETag did not change with the version or content")
			}
		})
	}
}
