package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// State remembers, per target collection and source object ID, which
// source version was copied and which target ID and version it produced.
// It is a cache of facts the engine can re-derive by comparing content, so
// losing it costs time (and turns source changes into conflicts), never
// data.
type State struct {
	path string

	mu    sync.Mutex
	data  stateFile
	dirty bool
}

type stateFile struct {
	Format int `json:"format"`
	// Collections is keyed by target collection ID, then source object ID.
	Collections map[string]map[string]Entry `json:"collections"`
}

// Entry is one copied object.
type Entry struct {
	SourceVersion string `json:"sv"`
	TargetID      string `json:"tid,omitempty"` // when it differs from the source ID
	TargetVersion string `json:"tv"`
}

const stateFormat = 1

// NewState returns an empty in-memory state (Save is a no-op).
func NewState() *State {
	return &State{data: stateFile{Format: stateFormat, Collections: map[string]map[string]Entry{}}}
}

// OpenState loads the state at path; a missing file is an empty state.
// Save writes it back atomically.
func OpenState(path string) (*State, error) {
	s := NewState()
	s.path = path
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &s.data); err != nil || s.data.Format != stateFormat {
		// A corrupt or foreign state is only a cache: start over rather
		// than refuse to run, and say so.
		return s, fmt.Errorf("state %s is unreadable (%v); it will be rebuilt by comparing content", path, err)
	}
	if s.data.Collections == nil {
		s.data.Collections = map[string]map[string]Entry{}
	}
	return s, nil
}

// Path is where Save writes, or "".
func (s *State) Path() string { return s.path }

func (s *State) get(coll, id string) (Entry, bool) {
	if s == nil {
		return Entry{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data.Collections[coll][id]
	return e, ok
}

func (s *State) put(coll, id string, e Entry) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.data.Collections[coll]
	if m == nil {
		m = map[string]Entry{}
		s.data.Collections[coll] = m
	}
	if e.TargetID == id {
		e.TargetID = ""
	}
	if m[id] != e {
		m[id] = e
		s.dirty = true
	}
}

func (s *State) remove(coll, id string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data.Collections[coll][id]; ok {
		delete(s.data.Collections[coll], id)
		s.dirty = true
	}
}

// entries returns a copy of coll's entries.
func (s *State) entries(coll string) map[string]Entry {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Entry, len(s.data.Collections[coll]))
	for k, v := range s.data.Collections[coll] {
		out[k] = v
	}
	return out
}

// Save writes the state atomically (temp file, fsync, rename) if it
// changed. A state without a path is not saved.
func (s *State) Save() error {
	if s == nil || s.path == "" {
		return nil
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	b, err := json.Marshal(s.data)
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return WriteFileAtomic(s.path, b, 0o600)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, fsynced and renamed over path, so readers see the old or the
// new content, never a torn file.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
