package gateway

import (
	"encoding/xml"
	"testing"
)

// FuzzRequestBodies feeds arbitrary bytes to every DAV request-body parser
// and the path parser: they must answer with an error, never panic.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		propfindAll,
		`<d:propfind xmlns:d="DAV:"><d:allprop/><d:include><d:sync-token/></d:include></d:propfind>`,
		`<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-data><c:expand start="20260101T000000Z" end="20260201T000000Z"/></c:calendar-data></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260101T000000Z"/><c:prop-filter name="SUMMARY"><c:text-match negate-condition="yes">x</c:text-match><c:param-filter name="LANG"><c:is-not-defined/></c:param-filter></c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`,
		`<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:limit><d:nresults>10</d:nresults></d:limit><d:prop><d:getetag/></d:prop></d:sync-collection>`,
		`<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>x</d:displayname></d:prop></d:set><d:remove><d:prop><d:displayname/></d:prop></d:remove></d:propertyupdate>`,
		`<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><card:filter test="allof"><card:prop-filter name="FN"><card:text-match match-type="starts-with">a</card:text-match></card:prop-filter></card:filter><card:limit><card:nresults>1</card:nresults></card:limit></card:addressbook-query>`,
	} {
		f.Add([]byte(seed), "/dav/calendars/alice/src~c%2Fd/x.ics")
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		_, _ = parsePropfind(body)
		_, _ = reportRoot(body)
		var q calQueryXML
		if xml.Unmarshal(body, &q) == nil {
			_, _ = q.Filter.conv()
		}
		var cq cardQueryXML
		_ = xml.Unmarshal(body, &cq)
		var sq syncXML
		_ = xml.Unmarshal(body, &sq)
		var mg multigetXML
		if xml.Unmarshal(body, &mg) == nil {
			for _, h := range mg.Hrefs {
				_ = hrefTarget(h)
			}
		}
		_, _ = parseSetRemove(body)
		tg := parsePath(path)
		if tg.level == lvObject && tg.obj == "" {
			t.Fatalf("object target without ID for %q", path)
		}
	})
}
