package ewstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

type kind int

const (
	kindMessage kind = iota
	kindCalendar
	kindContact
	kindDistList
	kindTask
)

func (k kind) element() string {
	switch k {
	case kindCalendar:
		return "CalendarItem"
	case kindContact:
		return "Contact"
	case kindDistList:
		return "DistributionList"
	case kindTask:
		return "Task"
	}
	return "Item"
}

func (k kind) class() string {
	switch k {
	case kindCalendar:
		return "IPM.Appointment"
	case kindContact:
		return "IPM.Contact"
	case kindDistList:
		return "IPM.DistList"
	case kindTask:
		return "IPM.Task"
	}
	return "IPM.Note"
}

// ChangeKey type bytes as Exchange encodes them (first byte of the key).
func (k kind) ckByte() byte {
	switch k {
	case kindCalendar:
		return 0x0F
	case kindContact, kindDistList:
		return 0x11
	case kindTask:
		return 0x13
	}
	return 0x09
}

// extProp is an extended property stored verbatim, keyed by its
// ExtendedFieldURI attributes.
type extProp struct {
	key    string
	uri    *node
	values []string // one value, or several for *Array types
}

// extKey normalises an ExtendedFieldURI to a lookup key: tags compare
// numerically, names and set ids case-insensitively as Exchange does.
func extKey(n *node) string {
	if t := n.attr("PropertyTag"); t != "" {
		var v uint64
		s := strings.ToLower(strings.TrimPrefix(strings.ToLower(t), "0x"))
		if _, err := fmt.Sscanf(s, "%x", &v); err == nil && strings.HasPrefix(strings.ToLower(t), "0x") {
			return fmt.Sprintf("tag:%x", v)
		}
		if _, err := fmt.Sscanf(t, "%d", &v); err == nil {
			return fmt.Sprintf("tag:%x", v)
		}
		return "tag:" + strings.ToLower(t)
	}
	set := strings.ToLower(n.attr("DistinguishedPropertySetId"))
	if set == "" {
		set = strings.ToLower(n.attr("PropertySetId"))
	}
	if name := n.attr("PropertyName"); name != "" {
		return "name:" + set + ":" + name
	}
	return "id:" + set + ":" + n.attr("PropertyId")
}

type attachment struct {
	id          string
	name        string
	contentType string
	content     []byte
	isPhoto     bool
}

// change records which fields an update touched, for AutoResolve.
type change struct {
	ck     string
	fields []string // "*" means everything
}

type item struct {
	id, ck  string
	kind    kind
	class   string
	folder  *folder
	props   map[string]string   // FieldURI → value (typed contact/task/item fields)
	idx     map[string]string   // "contacts:EmailAddress/EmailAddress1" → value
	multi   map[string][]string // item:Categories
	ext     []*extProp
	cal     *ical.Calendar // calendar items: the stored iCalendar
	members []member
	atts    []*attachment

	created, modified time.Time
	imapUID           int64 // 0xe23, increasing per folder insert
	createdSeq        int64
	lastSeq           int64
	history           []change
	editComp          *ical.Component // apply target other than the master (occurrence edits)
}

type member struct{ Name, Email string }

type folder struct {
	id, ck        string
	distinguished string
	name          string
	class         string
	parent        *folder
	mb            *Mailbox
	items         []*item // insertion order
	tombs         []tomb
	modified      time.Time
	createdSeq    int64
	lastSeq       int64
	nextUID       int64
}

type tomb struct {
	id         string
	createdSeq int64
	deletedSeq int64
}

// Mailbox is one Exchange mailbox of the fake. Its methods seed it and make
// Exchange-side changes; they are safe for concurrent use.
type Mailbox struct {
	s       *Server
	addr    string
	name    string
	folders []*folder
	byID    map[string]*folder
	items   map[string]*item
	occ     map[string]occRef // synthetic occurrence ids
	ftombs  []tomb            // deleted folders, for SyncFolderHierarchy
}

type occRef struct {
	master string
	recID  time.Time
	index  int
}

// well-known folders every mailbox has (DavMail probes all of them).
var wellKnown = []struct{ id, name, class, parent string }{
	{"root", "", "", ""},
	{"msgfolderroot", "Top of Information Store", "", "root"},
	{"inbox", "Inbox", "IPF.Note", "msgfolderroot"},
	{"calendar", "Calendar", "IPF.Appointment", "msgfolderroot"},
	{"contacts", "Contacts", "IPF.Contact", "msgfolderroot"},
	{"tasks", "Tasks", "IPF.Task", "msgfolderroot"},
	{"sentitems", "Sent Items", "IPF.Note", "msgfolderroot"},
	{"drafts", "Drafts", "IPF.Note", "msgfolderroot"},
	{"deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"},
	{"junkemail", "Junk Email", "IPF.Note", "msgfolderroot"},
	{"outbox", "Outbox", "IPF.Note", "msgfolderroot"},
	{"notes", "Notes", "IPF.StickyNote", "msgfolderroot"},
	{"journal", "Journal", "IPF.Journal", "msgfolderroot"},
}

func (s *Server) newMailboxLocked(addr string) *Mailbox {
	mb := &Mailbox{s: s, addr: addr, byID: map[string]*folder{}, items: map[string]*item{}, occ: map[string]occRef{}}
	mb.name = addr
	if i := strings.IndexByte(addr, '@'); i > 0 {
		mb.name = addr[:i]
	}
	for _, wk := range wellKnown {
		var parent *folder
		if wk.parent != "" {
			parent = mb.distinguished(wk.parent)
		}
		f := mb.addFolderLocked(parent, wk.name, wk.class)
		f.distinguished = wk.id
	}
	s.mailboxes[strings.ToLower(addr)] = mb
	return mb
}

func (mb *Mailbox) distinguished(id string) *folder {
	for _, f := range mb.folders {
		if f.distinguished == id {
			return f
		}
	}
	return nil
}

func (mb *Mailbox) addFolderLocked(parent *folder, name, class string) *folder {
	s := mb.s
	f := &folder{id: s.newID(0x01), name: name, class: class, parent: parent, mb: mb, modified: s.now(), nextUID: 100}
	f.createdSeq = s.bump()
	f.ck = s.newCK(0x01, f.id)
	mb.folders = append(mb.folders, f)
	mb.byID[f.id] = f
	f.lastSeq = f.createdSeq
	return f
}

// folderRef resolves a seeding folder reference: a distinguished id, a
// folder id, or a display name (first match).
func (mb *Mailbox) folderRef(ref string) (*folder, error) {
	if f := mb.distinguished(ref); f != nil {
		return f, nil
	}
	if f := mb.byID[ref]; f != nil {
		return f, nil
	}
	for _, f := range mb.folders {
		if f.name == ref {
			return f, nil
		}
	}
	return nil, fmt.Errorf("ewstest: no folder %q in mailbox %s", ref, mb.addr)
}

func (f *folder) isUnder(d string) bool {
	for p := f; p != nil; p = p.parent {
		if p.distinguished == d {
			return true
		}
	}
	return false
}

// children of f, in creation order.
func (mb *Mailbox) childFolders(f *folder, deep bool) []*folder {
	var out []*folder
	for _, c := range mb.folders {
		if c.parent == f {
			out = append(out, c)
			if deep {
				out = append(out, mb.childFolders(c, true)...)
			}
		}
	}
	return out
}

func (f *folder) elementName() string {
	c := f.class
	switch {
	case strings.HasPrefix(c, "IPF.Appointment"):
		return "CalendarFolder"
	case strings.HasPrefix(c, "IPF.Contact"):
		return "ContactsFolder"
	case strings.HasPrefix(c, "IPF.Task"):
		return "TasksFolder"
	}
	return "Folder"
}

// ----- ids

func (s *Server) bump() int64 {
	s.seq++
	return s.seq
}

// newID makes a base64 id of 114 bytes (152 characters; DavMail wants ids
// of at least 140 characters to recognise them).
func (s *Server) newID(typ byte) string {
	n := s.bump()
	b := make([]byte, 0, 114)
	b = append(b, 0, 0, 0, typ)
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(n))
	h := sha256.Sum256(append([]byte(s.idSalt), seed[:]...))
	for len(b) < 114 {
		b = append(b, h[:]...)
		h = sha256.Sum256(h[:])
	}
	b = b[:114]
	copy(b[106:], seed[:])
	return base64.StdEncoding.EncodeToString(b)
}

// newCK makes a ChangeKey shaped like Exchange's (30 bytes, type byte
// first: "DwAAABYAAAA..." for calendar items).
func (s *Server) newCK(typ byte, id string) string {
	n := s.bump()
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(n))
	h := sha256.Sum256(append([]byte(id), seed[:]...))
	b := []byte{typ, 0, 0, 0, 0x16, 0, 0, 0}
	b = append(b, h[:16]...)
	b = append(b, seed[2:]...)
	return base64.StdEncoding.EncodeToString(b)
}

// ----- item lifecycle

func (mb *Mailbox) insertLocked(f *folder, it *item) {
	s := mb.s
	now := s.now()
	it.id = s.newID(0x46)
	it.folder = f
	if it.class == "" {
		it.class = it.kind.class()
	}
	it.created, it.modified = now, now
	it.createdSeq = s.bump()
	it.lastSeq = it.createdSeq
	f.nextUID++
	it.imapUID = f.nextUID
	it.ck = s.newCK(it.kind.ckByte(), it.id)
	it.history = []change{{ck: it.ck}}
	f.items = append(f.items, it)
	f.modified = now
	mb.items[it.id] = it
}

// touchLocked records a change of it: new ChangeKey, modification time and
// sync sequence.
func (mb *Mailbox) touchLocked(it *item, fields []string) {
	s := mb.s
	it.modified = s.now()
	it.lastSeq = s.bump()
	it.ck = s.newCK(it.kind.ckByte(), it.id)
	it.history[len(it.history)-1].fields = fields
	it.history = append(it.history, change{ck: it.ck})
	if len(it.history) > 64 {
		it.history = it.history[len(it.history)-64:]
	}
	it.folder.modified = it.modified
}

func (mb *Mailbox) removeLocked(it *item) {
	f := it.folder
	for i, x := range f.items {
		if x == it {
			f.items = append(f.items[:i:i], f.items[i+1:]...)
			break
		}
	}
	f.tombs = append(f.tombs, tomb{id: it.id, createdSeq: it.createdSeq, deletedSeq: mb.s.bump()})
	f.modified = mb.s.now()
	delete(mb.items, it.id)
}

// changedSince reports the fields changed after ChangeKey ck; ok is false
// when ck is not in the item's recent history.
func (it *item) changedSince(ck string) (fields map[string]bool, ok bool) {
	for i, c := range it.history {
		if c.ck == ck {
			fields = map[string]bool{}
			for _, later := range it.history[i:] {
				for _, f := range later.fields {
					fields[f] = true
				}
			}
			return fields, true
		}
	}
	return nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func encodeICS(cal *ical.Calendar) ([]byte, error) {
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
