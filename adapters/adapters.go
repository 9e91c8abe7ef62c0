// Package adapters is the contract between the DAV gateway and the services
// that hold calendars and contacts (Google, EWS, ICS feeds, memory).
//
// An adapter implements Reader and, optionally, Writer, CollectionWriter and
// ChangeLister; the gateway finds them by type assertion, through
// CapabilitiesOf. Adapters never see HTTP requests from DAV clients: the
// gateway translates paths, conditional headers and errors.
//
// Every method takes ctx first and reports failures by wrapping exactly one
// of the sentinel errors in errors.go, so that the gateway's mapping to HTTP
// status stays one table long.
package adapters

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
)

// Kind says what a collection holds.
type Kind int

const (
	// KindCalendar collections hold iCalendar objects (VEVENT, VTODO, ...).
	KindCalendar Kind = iota
	// KindAddressBook collections hold vCards.
	KindAddressBook
)

func (k Kind) String() string {
	if k == KindAddressBook {
		return "addressbook"
	}
	return "calendar"
}

// Collection describes one calendar or address book of an adapter instance.
type Collection struct {
	// ID is the upstream identifier, unique within the adapter instance. It
	// may contain any character; the gateway escapes it in URLs. The empty
	// ID is allowed for single-collection adapters (an ICS feed).
	ID          string
	Kind        Kind
	Name        string
	Description string
	// Color is "#RRGGBB" or "#RRGGBBAA", or empty.
	Color string
	// TimeZone is an IANA zone name, or empty.
	TimeZone string
	// Components lists the iCalendar components a calendar accepts
	// (VEVENT, VTODO, VJOURNAL). Empty means VEVENT only.
	Components []string
	// ReadOnly collections refuse writes with ErrReadOnly.
	ReadOnly bool
}

// Object is one calendar object resource (a VCALENDAR holding one UID: a
// master and its overrides) or one vCard.
type Object struct {
	// ID is the upstream identifier, unique within its collection. The
	// gateway derives the object's href from it, and the href a client
	// PUT to maps back to the same ID, so IDs chosen by clients are kept.
	ID string
	// Data is the parsed calendar object (calendar collections). It may be
	// nil when Raw is set: adapters that serve many objects (an ICS feed)
	// keep only the bytes, and readers parse on demand with Calendar().
	// Returned objects are shared: callers must not modify Data or Card.
	Data *ical.Calendar
	// Card is the parsed vCard (address book collections); it may be nil
	// when Raw is set (see Data).
	Card vcard.Card
	// Raw, when set, is the canonical encoding of the object. Adapters
	// that hold encoded bytes anyway set it so reads cost no re-encoding.
	Raw []byte
	// Version is an opaque upstream version (Google etag, EWS ChangeKey, a
	// content hash). It changes whenever the object's content changes and
	// stays the same otherwise. Empty means "derive from content".
	Version string
	// Updated is the last modification time, or zero if unknown.
	Updated time.Time
}

// Encode returns the object's canonical bytes: Raw if set, else the
// encoding of Data or Card.
func (o Object) Encode() ([]byte, error) {
	if len(o.Raw) > 0 {
		return o.Raw, nil
	}
	var buf bytes.Buffer
	switch {
	case o.Data != nil:
		if err := ical.NewEncoder(&buf).Encode(o.Data); err != nil {
			return nil, fmt.Errorf("encode object %q: %w: %v", o.ID, ErrInvalid, err)
		}
	case o.Card != nil:
		if err := vcard.NewEncoder(&buf).Encode(o.Card); err != nil {
			return nil, fmt.Errorf("encode object %q: %w: %v", o.ID, ErrInvalid, err)
		}
	default:
		return nil, fmt.Errorf("object %q has no data: %w", o.ID, ErrInvalid)
	}
	return buf.Bytes(), nil
}

// Calendar returns the parsed calendar: Data, or Raw decoded. It returns an
// error matching ErrInvalid when neither is usable.
func (o Object) Calendar() (cal *ical.Calendar, err error) {
	if o.Data != nil {
		return o.Data, nil
	}
	if len(o.Raw) == 0 {
		return nil, fmt.Errorf("object %q has no calendar data: %w", o.ID, ErrInvalid)
	}
	defer func() { // go-ical panics on some malformed input
		if v := recover(); v != nil {
			cal, err = nil, fmt.Errorf("object %q: %w: malformed iCalendar (%v)", o.ID, ErrInvalid, v)
		}
	}()
	cal, err = ical.NewDecoder(bytes.NewReader(o.Raw)).Decode()
	if err != nil {
		return nil, fmt.Errorf("object %q: %w: %v", o.ID, ErrInvalid, err)
	}
	return cal, nil
}

// VCard returns the parsed vCard: Card, or Raw decoded.
func (o Object) VCard() (vcard.Card, error) {
	if o.Card != nil {
		return o.Card, nil
	}
	if len(o.Raw) == 0 {
		return nil, fmt.Errorf("object %q has no vCard data: %w", o.ID, ErrInvalid)
	}
	card, err := vcard.NewDecoder(bytes.NewReader(o.Raw)).Decode()
	if err != nil {
		return nil, fmt.Errorf("object %q: %w: %v", o.ID, ErrInvalid, err)
	}
	return card, nil
}

// Query narrows Objects. The zero Query means all objects.
type Query struct {
	// Start and End bound a time range [Start, End); either may be zero
	// for an open end. Adapters may return a superset of the matching
	// objects (the gateway applies exact RFC 4791 matching afterwards) but
	// must never omit an object that overlaps the range.
	Start, End time.Time
}

// IsZero reports whether q selects all objects.
func (q Query) IsZero() bool { return q.Start.IsZero() && q.End.IsZero() }

// Cond makes a write conditional. The gateway translates If-Match and
// If-None-Match into it after comparing ETags itself, so adapters can apply
// the condition atomically upstream (Google If-Match, EWS ChangeKey).
type Cond struct {
	// IfVersion, when set, requires the current Version to equal it.
	IfVersion string
	// IfAbsent requires that no object with that ID exists.
	IfAbsent bool
}

// Adapter is the base of every adapter instance.
type Adapter interface {
	// Close releases the instance's resources. It is called once.
	Close() error
}

// Reader is the read side every adapter implements.
type Reader interface {
	Adapter
	// Collections lists the instance's collections.
	Collections(ctx context.Context) ([]Collection, error)
	// Objects lists the objects of collection coll that may match q.
	// It returns an error matching ErrNotFound if coll does not exist.
	Objects(ctx context.Context, coll string, q Query) ([]Object, error)
	// Object returns one object. It returns an error matching ErrNotFound
	// if coll or the object does not exist.
	Object(ctx context.Context, coll, id string) (Object, error)
}

// Writer is implemented by adapters that can store objects.
type Writer interface {
	// Put creates or replaces obj (by obj.ID) and returns it as stored,
	// with its new Version. It returns an error matching ErrPrecondition
	// if c does not hold, ErrReadOnly if coll is read-only, ErrNotFound if
	// coll does not exist, and ErrInvalid or ErrUnsupported for data the
	// upstream refuses. It never reports success for a write the upstream
	// did not store.
	Put(ctx context.Context, coll string, obj Object, c Cond) (Object, error)
	// Delete removes an object. It returns an error matching ErrNotFound
	// if it does not exist and ErrPrecondition if c does not hold.
	Delete(ctx context.Context, coll, id string, c Cond) error
}

// CollectionPatch changes collection properties; nil fields stay as they are.
type CollectionPatch struct {
	Name, Description, Color *string
}

// CollectionWriter is implemented by adapters that can create, change and
// delete collections.
type CollectionWriter interface {
	// CreateCollection creates c (c.ID is the one the client chose) and
	// returns it as stored. It returns an error matching ErrPrecondition if
	// the ID is taken.
	CreateCollection(ctx context.Context, c Collection) (Collection, error)
	// UpdateCollection applies p and returns the result.
	UpdateCollection(ctx context.Context, coll string, p CollectionPatch) (Collection, error)
	// DeleteCollection removes coll and all its objects.
	DeleteCollection(ctx context.Context, coll string) error
}

// Changes is a delta between two sync tokens.
type Changes struct {
	// Token names the state after the changes.
	Token string
	// Updated holds objects created or changed since the old token.
	Updated []Object
	// Deleted holds IDs of objects removed since the old token.
	Deleted []string
}

// ChangeLister is implemented by adapters that can list changes cheaply.
type ChangeLister interface {
	// Changes returns what changed in coll since token. The empty token
	// asks for everything (all objects in Updated). It returns an error
	// matching ErrInvalidToken if the token is unknown or expired, after
	// which the gateway makes the client resynchronise from scratch.
	Changes(ctx context.Context, coll, token string) (Changes, error)
	// Token returns coll's current token without listing changes; it
	// backs the collection's CTag and DAV:sync-token properties.
	Token(ctx context.Context, coll string) (string, error)
}

// BusyPeriod is one busy interval of a free-busy answer.
type BusyPeriod struct {
	Start, End time.Time
	// Type is the FBTYPE: BUSY, BUSY-TENTATIVE or BUSY-UNAVAILABLE.
	Type string
}

// FreeBusyer is implemented by adapters whose upstream answers free-busy
// queries itself (EWS GetUserAvailability), so the gateway need not read
// every event of the range.
type FreeBusyer interface {
	// FreeBusy returns the busy periods of coll in [start, end), free
	// time omitted. It returns an error matching ErrNotFound if coll
	// does not exist, and ErrUnsupported if the upstream cannot answer
	// for coll (the gateway then computes the answer from the events).
	FreeBusy(ctx context.Context, coll string, start, end time.Time) ([]BusyPeriod, error)
}

// Capabilities says which optional interfaces an adapter offers.
type Capabilities struct {
	Write           bool
	CollectionWrite bool
	Changes         bool
	FreeBusy        bool
}

// Capabler is implemented by wrappers (the cache) that implement every
// optional interface but support only what the wrapped adapter does.
type Capabler interface {
	Capabilities() Capabilities
}

// CapabilitiesOf computes an adapter's capabilities once; the gateway and
// the conformance suite both use it, so they agree on what to skip.
func CapabilitiesOf(a Adapter) Capabilities {
	if c, ok := a.(Capabler); ok {
		return c.Capabilities()
	}
	_, w := a.(Writer)
	_, cw := a.(CollectionWriter)
	_, ch := a.(ChangeLister)
	_, fb := a.(FreeBusyer)
	return Capabilities{Write: w, CollectionWrite: cw, Changes: ch, FreeBusy: fb}
}

// Status is what an adapter instance reports about its upstream, for
// /healthz and /metrics.
type Status struct {
	// Healthy is false when the instance cannot currently reach its
	// upstream or needs operator action (re-authorisation).
	Healthy bool `json:"healthy"`
	// Detail says what is wrong and what to do, for humans.
	Detail string `json:"detail,omitempty"`
	// LastSuccess is the time of the last successful upstream fetch.
	LastSuccess time.Time `json:"last_success,omitempty"`
	// LastError is the last upstream failure, or "".
	LastError string `json:"last_error,omitempty"`
	// Fetches and Failures count upstream calls since start.
	Fetches  uint64 `json:"fetches"`
	Failures uint64 `json:"failures"`
	// Stale is true when reads are served from a copy older than the
	// adapter's refresh interval because the upstream failed.
	Stale bool `json:"stale"`
}

// StatusReporter is implemented by adapters that talk to an upstream.
type StatusReporter interface {
	Status() Status
}

// Refresher is implemented by adapters that decide how long their data
// stays fresh (an ICS feed's refresh interval). The cache revalidates at
// least that often, so its TTL never delays a refresh the source wants.
type Refresher interface {
	RefreshInterval() time.Duration
}
