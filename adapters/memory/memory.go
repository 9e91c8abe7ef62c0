// Package memory is the reference adapter: read-write, with collections and
// change listing, all in process memory. The gateway's write paths and the
// conformance suite are tested against it.
package memory

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
)

func init() {
	adapters.Register(adapters.Info{Type: "memory", New: New})
}

// Options configure a memory instance.
type Options struct {
	// Collections created at start.
	Collections []CollectionOptions `yaml:"collections"`
	// MaxLog bounds the change log per collection; tokens older than it
	// are answered with ErrInvalidToken. Default 10000.
	MaxLog int `yaml:"max_log"`
}

// CollectionOptions describes one collection created at start.
type CollectionOptions struct {
	ID          string   `yaml:"id"`
	Kind        string   `yaml:"kind"` // calendar (default) or addressbook
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Color       string   `yaml:"color"`
	Components  []string `yaml:"components"`
	ReadOnly    bool     `yaml:"read_only"`
}

// Adapter is an in-memory store. The zero value is not usable; use New or
// NewWith.
type Adapter struct {
	epoch  string // tells tokens of this process from earlier ones
	maxLog int

	mu      sync.RWMutex
	colls   map[string]*collection
	version uint64 // last version handed out, shared by all collections
}

type collection struct {
	meta    adapters.Collection
	objects map[string]adapters.Object
	log     []change // ascending seq
	seq     uint64   // last seq in this collection
	trimmed uint64   // tokens below this seq are no longer answerable
}

type change struct {
	seq     uint64
	id      string
	deleted bool
}

// New decodes options and builds an instance (the registry's constructor).
func New(o adapters.Options, _ adapters.Env) (adapters.Adapter, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return nil, err
	}
	return NewWith(opts)
}

// NewWith builds an instance from decoded options.
func NewWith(opts Options) (*Adapter, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	a := &Adapter{epoch: hex.EncodeToString(b[:]), maxLog: opts.MaxLog, colls: map[string]*collection{}}
	if a.maxLog <= 0 {
		a.maxLog = 10000
	}
	for _, c := range opts.Collections {
		kind := adapters.KindCalendar
		switch c.Kind {
		case "", "calendar":
		case "addressbook":
			kind = adapters.KindAddressBook
		default:
			return nil, fmt.Errorf("memory: collection %q: kind %q is not calendar or addressbook", c.ID, c.Kind)
		}
		if _, dup := a.colls[c.ID]; dup {
			return nil, fmt.Errorf("memory: collection %q declared twice", c.ID)
		}
		a.colls[c.ID] = &collection{meta: adapters.Collection{
			ID: c.ID, Kind: kind, Name: c.Name, Description: c.Description,
			Color: c.Color, Components: c.Components, ReadOnly: c.ReadOnly,
		}, objects: map[string]adapters.Object{}}
	}
	return a, nil
}

// Close implements adapters.Adapter.
func (a *Adapter) Close() error { return nil }

// Collections implements adapters.Reader.
func (a *Adapter) Collections(ctx context.Context) ([]adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]adapters.Collection, 0, len(a.colls))
	for _, c := range a.colls {
		out = append(out, c.meta)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *Adapter) coll(id string) (*collection, error) {
	c, ok := a.colls[id]
	if !ok {
		return nil, fmt.Errorf("memory: collection %q: %w", id, adapters.ErrNotFound)
	}
	return c, nil
}

// Objects implements adapters.Reader. It ignores the time range: returning
// a superset is allowed, and the gateway filters.
func (a *Adapter) Objects(ctx context.Context, coll string, _ adapters.Query) ([]adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	c, err := a.coll(coll)
	if err != nil {
		return nil, err
	}
	out := make([]adapters.Object, 0, len(c.objects))
	for _, o := range c.objects {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Object implements adapters.Reader.
func (a *Adapter) Object(ctx context.Context, coll, id string) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	c, err := a.coll(coll)
	if err != nil {
		return adapters.Object{}, err
	}
	o, ok := c.objects[id]
	if !ok {
		return adapters.Object{}, fmt.Errorf("memory: object %q in %q: %w", id, coll, adapters.ErrNotFound)
	}
	return o, nil
}

// Put implements adapters.Writer. The stored object is a deep copy (decoded
// from its canonical bytes), so callers may reuse obj.
func (a *Adapter) Put(ctx context.Context, coll string, obj adapters.Object, cond adapters.Cond) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	if obj.ID == "" {
		return adapters.Object{}, fmt.Errorf("memory: put without ID: %w", adapters.ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.coll(coll)
	if err != nil {
		return adapters.Object{}, err
	}
	if c.meta.ReadOnly {
		return adapters.Object{}, fmt.Errorf("memory: collection %q: %w", coll, adapters.ErrReadOnly)
	}
	cur, exists := c.objects[obj.ID]
	if err := check(cond, cur, exists); err != nil {
		return adapters.Object{}, fmt.Errorf("memory: put %q: %w", obj.ID, err)
	}
	stored, err := canonical(c.meta.Kind, obj)
	if err != nil {
		return adapters.Object{}, fmt.Errorf("memory: put %q: %w", obj.ID, err)
	}
	a.version++
	stored.Version = strconv.FormatUint(a.version, 10)
	stored.Updated = obj.Updated
	c.objects[obj.ID] = stored
	a.record(c, obj.ID, false)
	return stored, nil
}

// Delete implements adapters.Writer.
func (a *Adapter) Delete(ctx context.Context, coll, id string, cond adapters.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.coll(coll)
	if err != nil {
		return err
	}
	if c.meta.ReadOnly {
		return fmt.Errorf("memory: collection %q: %w", coll, adapters.ErrReadOnly)
	}
	cur, exists := c.objects[id]
	if !exists {
		return fmt.Errorf("memory: delete %q in %q: %w", id, coll, adapters.ErrNotFound)
	}
	if err := check(cond, cur, exists); err != nil {
		return fmt.Errorf("memory: delete %q: %w", id, err)
	}
	delete(c.objects, id)
	a.record(c, id, true)
	return nil
}

func check(cond adapters.Cond, cur adapters.Object, exists bool) error {
	if cond.IfAbsent && exists {
		return fmt.Errorf("object exists: %w", adapters.ErrPrecondition)
	}
	if cond.IfVersion != "" && (!exists || cur.Version != cond.IfVersion) {
		return fmt.Errorf("version is not %q: %w", cond.IfVersion, adapters.ErrPrecondition)
	}
	return nil
}

// canonical encodes obj and decodes it again, so the stored copy shares
// nothing with the caller and Raw matches Data exactly.
func canonical(kind adapters.Kind, obj adapters.Object) (adapters.Object, error) {
	out := adapters.Object{ID: obj.ID}
	if kind == adapters.KindAddressBook {
		if obj.Card == nil {
			return out, fmt.Errorf("no vCard in a put to an address book: %w", adapters.ErrInvalid)
		}
		var buf bytes.Buffer
		if err := vcard.NewEncoder(&buf).Encode(obj.Card); err != nil {
			return out, fmt.Errorf("%w: %v", adapters.ErrInvalid, err)
		}
		card, err := vcard.NewDecoder(bytes.NewReader(buf.Bytes())).Decode()
		if err != nil {
			return out, fmt.Errorf("%w: %v", adapters.ErrInvalid, err)
		}
		out.Card, out.Raw = card, buf.Bytes()
		return out, nil
	}
	if obj.Data == nil {
		return out, fmt.Errorf("no iCalendar data in a put to a calendar: %w", adapters.ErrInvalid)
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(obj.Data); err != nil {
		return out, fmt.Errorf("%w: %v", adapters.ErrInvalid, err)
	}
	cal, err := ical.NewDecoder(bytes.NewReader(buf.Bytes())).Decode()
	if err != nil {
		return out, fmt.Errorf("%w: %v", adapters.ErrInvalid, err)
	}
	out.Data, out.Raw = cal, buf.Bytes()
	return out, nil
}

func (a *Adapter) record(c *collection, id string, deleted bool) {
	c.seq++
	c.log = append(c.log, change{seq: c.seq, id: id, deleted: deleted})
	if over := len(c.log) - a.maxLog; over > 0 {
		c.trimmed = c.log[over-1].seq
		c.log = append(c.log[:0:0], c.log[over:]...)
	}
}

func (a *Adapter) token(c *collection) string {
	return a.epoch + "-" + strconv.FormatUint(c.seq, 10)
}

// Changes implements adapters.ChangeLister.
func (a *Adapter) Changes(ctx context.Context, coll, token string) (adapters.Changes, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Changes{}, err
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	c, err := a.coll(coll)
	if err != nil {
		return adapters.Changes{}, err
	}
	out := adapters.Changes{Token: a.token(c)}
	if token == "" {
		for _, o := range c.objects {
			out.Updated = append(out.Updated, o)
		}
		sort.Slice(out.Updated, func(i, j int) bool { return out.Updated[i].ID < out.Updated[j].ID })
		return out, nil
	}
	epoch, seqStr, ok := strings.Cut(token, "-")
	since, perr := strconv.ParseUint(seqStr, 10, 64)
	if !ok || perr != nil || epoch != a.epoch || since > c.seq || since < c.trimmed {
		return adapters.Changes{}, fmt.Errorf("memory: collection %q token %q: %w", coll, token, adapters.ErrInvalidToken)
	}
	// The latest entry per ID wins; the log is ascending.
	last := map[string]bool{}
	var order []string
	for _, ch := range c.log {
		if ch.seq <= since {
			continue
		}
		if _, seen := last[ch.id]; !seen {
			order = append(order, ch.id)
		}
		last[ch.id] = ch.deleted
	}
	sort.Strings(order)
	for _, id := range order {
		if o, ok := c.objects[id]; ok && !last[id] {
			out.Updated = append(out.Updated, o)
		} else {
			out.Deleted = append(out.Deleted, id)
		}
	}
	return out, nil
}

// CreateCollection implements adapters.CollectionWriter.
func (a *Adapter) CreateCollection(ctx context.Context, meta adapters.Collection) (adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Collection{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.colls[meta.ID]; ok {
		return adapters.Collection{}, fmt.Errorf("memory: collection %q exists: %w", meta.ID, adapters.ErrPrecondition)
	}
	meta.ReadOnly = false
	a.colls[meta.ID] = &collection{meta: meta, objects: map[string]adapters.Object{}}
	return meta, nil
}

// UpdateCollection implements adapters.CollectionWriter.
func (a *Adapter) UpdateCollection(ctx context.Context, coll string, p adapters.CollectionPatch) (adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Collection{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.coll(coll)
	if err != nil {
		return adapters.Collection{}, err
	}
	if c.meta.ReadOnly {
		return adapters.Collection{}, fmt.Errorf("memory: collection %q: %w", coll, adapters.ErrReadOnly)
	}
	if p.Name != nil {
		c.meta.Name = *p.Name
	}
	if p.Description != nil {
		c.meta.Description = *p.Description
	}
	if p.Color != nil {
		c.meta.Color = *p.Color
	}
	return c.meta, nil
}

// DeleteCollection implements adapters.CollectionWriter.
func (a *Adapter) DeleteCollection(ctx context.Context, coll string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.coll(coll)
	if err != nil {
		return err
	}
	if c.meta.ReadOnly {
		return fmt.Errorf("memory: collection %q: %w", coll, adapters.ErrReadOnly)
	}
	delete(a.colls, coll)
	return nil
}

var (
	_ adapters.Reader           = (*Adapter)(nil)
	_ adapters.Writer           = (*Adapter)(nil)
	_ adapters.CollectionWriter = (*Adapter)(nil)
	_ adapters.ChangeLister     = (*Adapter)(nil)
)

// Token implements adapters.ChangeLister.
func (a *Adapter) Token(ctx context.Context, coll string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	c, err := a.coll(coll)
	if err != nil {
		return "", err
	}
	return a.token(c), nil
}
