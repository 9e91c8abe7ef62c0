// Package vdir is an adapter over a vdir: the folder layout vdirsyncer and
// khal read and write (https://vdirsyncer.pimutils.org/en/stable/vdir.html).
// The configured path holds one subfolder per collection and one file per
// object, <id>.ics or <id>.vcf, plus optional "displayname" and "color"
// files in each collection folder (vdirsyncer's metasync). davgate also
// keeps a "description" file there, which other tools ignore.
//
// Collection IDs and object IDs are folder and file names, escaped
// reversibly (see names.go). Object versions are a hash of the file's
// bytes, so they survive copies and restarts and change exactly when the
// content does. Sync tokens are a hash of the folder listing (name, size,
// mtime, inode); every write is a rename of a fresh file, so it always
// changes the inode and therefore the token.
//
// Writes are atomic: the object is written to a hidden temporary file in
// the same folder, fsynced and renamed over the target (or hard-linked when
// the write must not replace an existing file), so readers never see a
// half-written file. Conditions are checked under a per-instance lock;
// processes other than this one that write the same folder at the same
// time are not excluded, except that IfAbsent is enforced by the
// filesystem (link fails on an existing name).
package vdir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
)

func init() {
	adapters.Register(adapters.Info{Type: "vdir", New: New})
}

// Options configure a vdir instance.
type Options struct {
	// Path is the vdir root: one subfolder per collection. Provision
	// creates it if missing.
	Path string `yaml:"path"`
	// Kind is "calendar" or "addressbook" when every collection holds
	// the same kind (vdirsyncer's storages are typed), or empty to detect
	// the kind per collection: a folder holding .vcf files (or created as
	// an address book by davgate, which leaves a ".davgate-kind" marker)
	// is an address book, any other folder a calendar.
	Kind string `yaml:"kind"`
	// FileExt overrides the object file extension (".ics" for calendars,
	// ".vcf" for address books). It needs Kind, since with autodetection
	// the extension is what tells the kinds apart.
	FileExt string `yaml:"fileext"`
}

// Adapter is one vdir root.
type Adapter struct {
	opts Options
	log  *slog.Logger

	// mu serialises writes, so that a condition check and the rename
	// that follows it are atomic for this process.
	mu sync.Mutex

	snapMu sync.Mutex
	snaps  map[string][]snapshot // per collection ID, newest last

	// failAfterTemp, when set (tests), makes writeAtomic fail after the
	// temporary file is written and before it replaces the target.
	failAfterTemp func() error
}

const (
	kindMarker  = ".davgate-kind"
	tempPattern = ".davgate-*.tmp"
	maxSnaps    = 32
)

// New decodes options (the registry's constructor). It does no I/O.
func New(o adapters.Options, env adapters.Env) (adapters.Adapter, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return nil, err
	}
	return NewWith(opts, env)
}

// NewWith builds an instance from decoded options; it validates them but
// does no I/O.
func NewWith(opts Options, env adapters.Env) (*Adapter, error) {
	env = env.WithDefaults()
	if opts.FileExt != "" && !strings.HasPrefix(opts.FileExt, ".") {
		opts.FileExt = "." + opts.FileExt
	}
	a := &Adapter{opts: opts, log: env.Logger.With("adapter", "vdir"), snaps: map[string][]snapshot{}}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// Validate implements adapters.Validator.
func (a *Adapter) Validate() error {
	switch a.opts.Kind {
	case "", "calendar", "addressbook":
	default:
		return fmt.Errorf("vdir: kind %q is not calendar, addressbook or empty (autodetect)", a.opts.Kind)
	}
	if a.opts.Path == "" {
		return errors.New("vdir: path is required")
	}
	if a.opts.FileExt != "" && a.opts.Kind == "" {
		return errors.New("vdir: fileext needs kind (with autodetection the extension tells the kinds apart)")
	}
	if strings.ContainsAny(a.opts.FileExt, "/\x00") || a.opts.FileExt == "." {
		return fmt.Errorf("vdir: fileext %q is not a file extension", a.opts.FileExt)
	}
	return nil
}

// Provision implements adapters.Provisioner: it creates the root folder.
func (a *Adapter) Provision(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(a.opts.Path, 0o700); err != nil {
		return fsError("create root", a.opts.Path, err)
	}
	return nil
}

// Close implements adapters.Adapter.
func (a *Adapter) Close() error { return nil }

// fsError is the single classification of filesystem errors.
func fsError(op, path string, err error) error {
	var sentinel error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		sentinel = adapters.ErrNotFound
	case errors.Is(err, fs.ErrExist):
		sentinel = adapters.ErrPrecondition
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		sentinel = adapters.ErrReadOnly
	case errors.Is(err, syscall.ENAMETOOLONG):
		sentinel = adapters.ErrUnsupported
	default: // ENOSPC, EIO, ...: the storage is unwell, retrying may help
		sentinel = adapters.ErrUnavailable
	}
	return fmt.Errorf("vdir: %s %s: %w: %v", op, path, sentinel, err)
}

func parseKind(s string) adapters.Kind {
	if s == "addressbook" {
		return adapters.KindAddressBook
	}
	return adapters.KindCalendar
}

func (a *Adapter) ext(k adapters.Kind) string {
	if a.opts.FileExt != "" {
		return a.opts.FileExt
	}
	if k == adapters.KindAddressBook {
		return ".vcf"
	}
	return ".ics"
}

// collDir returns the folder of collection coll, or an error matching
// ErrNotFound.
func (a *Adapter) collDir(coll string) (string, error) {
	name, hashed := escape(coll)
	if name == "" || hashed {
		return "", fmt.Errorf("vdir: collection %q: %w", coll, adapters.ErrNotFound)
	}
	dir := filepath.Join(a.opts.Path, name)
	fi, err := os.Stat(dir)
	if err != nil && !hashed && name != coll && literalOK(coll) {
		dir = filepath.Join(a.opts.Path, coll)
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return "", fsError("collection", coll, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("vdir: collection %q is not a folder: %w", coll, adapters.ErrNotFound)
	}
	return dir, nil
}

// kindOf detects a collection's kind (see Options.Kind).
func (a *Adapter) kindOf(dir string) adapters.Kind {
	if a.opts.Kind != "" {
		return parseKind(a.opts.Kind)
	}
	if b, err := os.ReadFile(filepath.Join(dir, kindMarker)); err == nil {
		return parseKind(strings.TrimSpace(string(b)))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return adapters.KindCalendar
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".vcf") && !strings.HasPrefix(e.Name(), ".") {
			return adapters.KindAddressBook
		}
	}
	return adapters.KindCalendar
}

func readMeta(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (a *Adapter) meta(id, dir string) adapters.Collection {
	c := adapters.Collection{
		ID:          id,
		Kind:        a.kindOf(dir),
		Name:        readMeta(dir, "displayname"),
		Color:       readMeta(dir, "color"),
		Description: readMeta(dir, "description"),
	}
	if c.Kind == adapters.KindCalendar {
		// A folder holds any component; declaring them lets clients
		// store tasks and journals too.
		c.Components = []string{"VEVENT", "VTODO", "VJOURNAL"}
	}
	return c
}

// Collections implements adapters.Reader. A missing root holds no
// collections.
func (a *Adapter) Collections(ctx context.Context) ([]adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(a.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fsError("list", a.opts.Path, err)
	}
	var out []adapters.Collection
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, a.meta(idFromName(e.Name()), filepath.Join(a.opts.Path, e.Name())))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// entry is one object file in a listing.
type entry struct {
	id   string
	file string // base name with extension
	stamp
}

// stamp identifies one version of a file without reading it.
type stamp struct {
	size  int64
	mtime int64
	ino   uint64
}

func stampOf(fi fs.FileInfo) stamp {
	s := stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// list returns the object files of dir, sorted by file name.
func (a *Adapter) list(ctx context.Context, dir string, kind adapters.Kind) ([]entry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fsError("list", dir, err)
	}
	ext := a.ext(kind)
	var out []entry
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ext) || len(n) == len(ext) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, fsError("stat", n, err)
		}
		out = append(out, entry{id: a.idOf(dir, strings.TrimSuffix(n, ext)), file: n, stamp: stampOf(fi)})
	}
	return out, nil
}

// idOf maps a base name back to its ID.
func (a *Adapter) idOf(dir, base string) string {
	if strings.HasPrefix(base, "=") {
		if b, err := os.ReadFile(filepath.Join(dir, sidecarName(base))); err == nil && len(b) > 0 {
			return string(b)
		}
		return base
	}
	return idFromName(base)
}

// locate returns the file that holds id in dir (or would), and whether it
// exists. A file named with the literal ID (written by another tool) is
// used when there is no file under the escaped name.
func (a *Adapter) locate(dir, id string, kind adapters.Kind) (file string, hashed, exists bool, err error) {
	name, hashed := escape(id)
	if name == "" {
		return "", false, false, fmt.Errorf("vdir: empty object ID: %w", adapters.ErrNotFound)
	}
	ext := a.ext(kind)
	file = name + ext
	if _, err := os.Lstat(filepath.Join(dir, file)); err == nil {
		return file, hashed, true, nil
	}
	if !hashed && name != id && literalOK(id) {
		if _, err := os.Lstat(filepath.Join(dir, id+ext)); err == nil {
			return id + ext, false, true, nil
		}
	}
	return file, hashed, false, nil
}

func version(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// decode parses one object's bytes. go-ical panics on some malformed
// input, so the parser runs under recover.
func decode(kind adapters.Kind, id string, b []byte) (obj adapters.Object, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("vdir: object %q: %w: parser panic: %v", id, adapters.ErrInvalid, r)
		}
	}()
	obj = adapters.Object{ID: id, Raw: b, Version: version(b)}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if kind == adapters.KindAddressBook {
		obj.Card, err = vcard.NewDecoder(bytes.NewReader(b)).Decode()
	} else {
		obj.Data, err = ical.NewDecoder(bytes.NewReader(b)).Decode()
	}
	if err != nil {
		return adapters.Object{}, fmt.Errorf("vdir: object %q: %w: %v", id, adapters.ErrInvalid, err)
	}
	return obj, nil
}

func (a *Adapter) read(dir string, e entry, kind adapters.Kind) (adapters.Object, error) {
	p := filepath.Join(dir, e.file)
	b, err := os.ReadFile(p)
	if err != nil {
		return adapters.Object{}, fsError("read", e.file, err)
	}
	obj, err := decode(kind, e.id, b)
	if err != nil {
		return obj, err
	}
	obj.Updated = time.Unix(0, e.mtime)
	return obj, nil
}

// Objects implements adapters.Reader. It ignores the time range (a
// superset is allowed). A file that does not parse fails the listing with
// ErrInvalid naming it: silently skipping it would lose it in an export.
func (a *Adapter) Objects(ctx context.Context, coll string, _ adapters.Query) ([]adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := a.collDir(coll)
	if err != nil {
		return nil, err
	}
	kind := a.kindOf(dir)
	ents, err := a.list(ctx, dir, kind)
	if err != nil {
		return nil, err
	}
	out := make([]adapters.Object, 0, len(ents))
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, err := a.read(dir, e, kind)
		if errors.Is(err, adapters.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Object implements adapters.Reader.
func (a *Adapter) Object(ctx context.Context, coll, id string) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	dir, err := a.collDir(coll)
	if err != nil {
		return adapters.Object{}, err
	}
	kind := a.kindOf(dir)
	file, _, exists, err := a.locate(dir, id, kind)
	if err != nil {
		return adapters.Object{}, err
	}
	if !exists {
		return adapters.Object{}, fmt.Errorf("vdir: object %q in %q: %w", id, coll, adapters.ErrNotFound)
	}
	fi, err := os.Stat(filepath.Join(dir, file))
	if err != nil {
		return adapters.Object{}, fsError("stat", file, err)
	}
	return a.read(dir, entry{id: id, file: file, stamp: stampOf(fi)}, kind)
}

// encode returns the bytes to store for obj in a collection of kind and
// the object as decoded from them.
func encode(kind adapters.Kind, obj adapters.Object) ([]byte, adapters.Object, error) {
	if kind == adapters.KindAddressBook && obj.Card == nil && len(obj.Raw) == 0 {
		return nil, adapters.Object{}, fmt.Errorf("vdir: put %q: no vCard for an address book: %w", obj.ID, adapters.ErrInvalid)
	}
	if kind == adapters.KindCalendar && obj.Data == nil && len(obj.Raw) == 0 {
		return nil, adapters.Object{}, fmt.Errorf("vdir: put %q: no iCalendar data for a calendar: %w", obj.ID, adapters.ErrInvalid)
	}
	b, err := obj.Encode()
	if err != nil {
		return nil, adapters.Object{}, fmt.Errorf("vdir: put %q: %w", obj.ID, err)
	}
	// Decoding what is written both checks Raw and gives the caller
	// exactly what a later read returns.
	stored, err := decode(kind, obj.ID, b)
	if err != nil {
		return nil, adapters.Object{}, err
	}
	return b, stored, nil
}

// Put implements adapters.Writer.
func (a *Adapter) Put(ctx context.Context, coll string, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	if obj.ID == "" {
		return adapters.Object{}, fmt.Errorf("vdir: put without ID: %w", adapters.ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	dir, err := a.collDir(coll)
	if err != nil {
		return adapters.Object{}, err
	}
	kind := a.kindOf(dir)
	data, stored, err := encode(kind, obj)
	if err != nil {
		return adapters.Object{}, err
	}
	file, hashed, exists, err := a.locate(dir, obj.ID, kind)
	if err != nil {
		return adapters.Object{}, err
	}
	if err := a.check(dir, file, exists, c); err != nil {
		return adapters.Object{}, fmt.Errorf("vdir: put %q in %q: %w", obj.ID, coll, err)
	}
	if hashed {
		// The sidecar goes first: an object file without it would
		// list under its hash, one with a stale sidecar never exists.
		base := strings.TrimSuffix(file, a.ext(kind))
		if err := a.writeAtomic(dir, sidecarName(base), []byte(obj.ID), false); err != nil {
			return adapters.Object{}, err
		}
	}
	if err := a.writeAtomic(dir, file, data, c.IfAbsent); err != nil {
		return adapters.Object{}, err
	}
	stored.Updated = time.Now()
	if fi, err := os.Stat(filepath.Join(dir, file)); err == nil {
		stored.Updated = fi.ModTime()
	}
	a.log.DebugContext(ctx, "wrote object", "collection", coll, "file", file, "bytes", len(data))
	return stored, nil
}

// check applies c to the file's current state.
func (a *Adapter) check(dir, file string, exists bool, c adapters.Cond) error {
	if c.IfAbsent && exists {
		return fmt.Errorf("object exists: %w", adapters.ErrPrecondition)
	}
	if c.IfVersion == "" {
		return nil
	}
	if !exists {
		return fmt.Errorf("object does not exist, want version %q: %w", c.IfVersion, adapters.ErrPrecondition)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return fsError("read", file, err)
	}
	if v := version(b); v != c.IfVersion {
		return fmt.Errorf("version is %q, not %q: %w", v, c.IfVersion, adapters.ErrPrecondition)
	}
	return nil
}

// writeAtomic replaces (or, with noReplace, creates) dir/name with data so
// that readers see the old or the new file, never a part: temp file in the
// same folder, fsync, rename or link, fsync of the folder.
func (a *Adapter) writeAtomic(dir, name string, data []byte, noReplace bool) (err error) {
	f, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return fsError("create temp file in", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fsError("write", name, err)
	}
	if err = f.Sync(); err != nil {
		return fsError("sync", name, err)
	}
	if err = f.Close(); err != nil {
		return fsError("close", name, err)
	}
	if a.failAfterTemp != nil {
		if err = a.failAfterTemp(); err != nil {
			return err
		}
	}
	target := filepath.Join(dir, name)
	if noReplace {
		// link fails if target exists, so IfAbsent holds even against
		// other processes.
		if err = os.Link(tmp, target); err != nil {
			return fsError("create", name, err)
		}
		_ = os.Remove(tmp)
	} else if err = os.Rename(tmp, target); err != nil {
		return fsError("rename to", name, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fsError("open", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fsError("sync", dir, err)
	}
	return nil
}

// Delete implements adapters.Writer.
func (a *Adapter) Delete(ctx context.Context, coll, id string, c adapters.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	dir, err := a.collDir(coll)
	if err != nil {
		return err
	}
	kind := a.kindOf(dir)
	file, hashed, exists, err := a.locate(dir, id, kind)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("vdir: delete %q in %q: %w", id, coll, adapters.ErrNotFound)
	}
	if err := a.check(dir, file, exists, adapters.Cond{IfVersion: c.IfVersion}); err != nil {
		return fmt.Errorf("vdir: delete %q in %q: %w", id, coll, err)
	}
	if err := os.Remove(filepath.Join(dir, file)); err != nil {
		return fsError("delete", file, err)
	}
	if hashed {
		_ = os.Remove(filepath.Join(dir, sidecarName(strings.TrimSuffix(file, a.ext(kind)))))
	}
	return syncDir(dir)
}

// CreateCollection implements adapters.CollectionWriter. It returns an
// error matching ErrPrecondition if the folder exists, ErrUnsupported if
// the kind differs from the configured one, and ErrInvalid for an ID that
// cannot be a folder name.
func (a *Adapter) CreateCollection(ctx context.Context, c adapters.Collection) (adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Collection{}, err
	}
	if a.opts.Kind != "" && parseKind(a.opts.Kind) != c.Kind {
		return adapters.Collection{}, fmt.Errorf("vdir: collection %q: this vdir holds %s collections only: %w", c.ID, a.opts.Kind, adapters.ErrUnsupported)
	}
	name, hashed := escape(c.ID)
	if name == "" || hashed {
		return adapters.Collection{}, fmt.Errorf("vdir: collection ID %q is empty or too long: %w", c.ID, adapters.ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.MkdirAll(a.opts.Path, 0o700); err != nil {
		return adapters.Collection{}, fsError("create root", a.opts.Path, err)
	}
	dir := filepath.Join(a.opts.Path, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return adapters.Collection{}, fsError("create collection", c.ID, err)
	}
	if a.opts.Kind == "" && c.Kind == adapters.KindAddressBook {
		if err := a.writeAtomic(dir, kindMarker, []byte("addressbook\n"), false); err != nil {
			return adapters.Collection{}, err
		}
	}
	p := adapters.CollectionPatch{Name: &c.Name, Description: &c.Description, Color: &c.Color}
	if err := a.patch(dir, p); err != nil {
		return adapters.Collection{}, err
	}
	return a.meta(c.ID, dir), nil
}

// patch writes the metadata files; an empty value removes the file.
func (a *Adapter) patch(dir string, p adapters.CollectionPatch) error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"displayname", p.Name}, {"color", p.Color}, {"description", p.Description}} {
		if f.v == nil {
			continue
		}
		if *f.v == "" {
			if err := os.Remove(filepath.Join(dir, f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fsError("remove", f.name, err)
			}
			continue
		}
		// vdirsyncer writes these files without a trailing newline.
		if err := a.writeAtomic(dir, f.name, []byte(*f.v), false); err != nil {
			return err
		}
	}
	return nil
}

// UpdateCollection implements adapters.CollectionWriter.
func (a *Adapter) UpdateCollection(ctx context.Context, coll string, p adapters.CollectionPatch) (adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Collection{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	dir, err := a.collDir(coll)
	if err != nil {
		return adapters.Collection{}, err
	}
	if err := a.patch(dir, p); err != nil {
		return adapters.Collection{}, err
	}
	return a.meta(coll, dir), nil
}

// DeleteCollection implements adapters.CollectionWriter.
func (a *Adapter) DeleteCollection(ctx context.Context, coll string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	dir, err := a.collDir(coll)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fsError("delete collection", coll, err)
	}
	a.snapMu.Lock()
	delete(a.snaps, coll)
	a.snapMu.Unlock()
	return nil
}

var (
	_ adapters.Reader           = (*Adapter)(nil)
	_ adapters.Writer           = (*Adapter)(nil)
	_ adapters.CollectionWriter = (*Adapter)(nil)
	_ adapters.ChangeLister     = (*Adapter)(nil)
	_ adapters.Validator        = (*Adapter)(nil)
	_ adapters.Provisioner      = (*Adapter)(nil)
)
