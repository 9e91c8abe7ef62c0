package cache

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/davgate/davgate/adapters"
)

// DefaultMaxBytes bounds a Store whose size is not configured.
const DefaultMaxBytes = 64 << 20

// Store holds cached objects for any number of wrapped adapters under one
// size bound, evicting the least recently used objects first.
type Store struct {
	max    int64
	nextID atomic.Uint64
	// removals counts objects leaving the store, so that a collection's
	// assembled listing knows whether it still holds.
	removals atomic.Uint64

	// mu guards lru and bytes together: golang-lru bounds entries by
	// count, so the byte bound is kept here, and an Add plus the
	// evictions it causes must be one step for the total to stay exact.
	// simplelru is golang-lru's unlocked core; lru.Cache would lock twice.
	mu    sync.Mutex
	lru   *simplelru.LRU[objKey, entry]
	bytes int64
}

type objKey struct {
	inst     uint64 // which wrapped adapter
	coll, id string
}

type entry struct {
	obj  adapters.Object
	size int64
}

// NewStore returns a store bounded to maxBytes of encoded objects
// (DefaultMaxBytes if maxBytes <= 0).
func NewStore(maxBytes int64) *Store {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	s := &Store{max: maxBytes}
	// The evict callback runs synchronously inside Add/Remove calls made
	// with s.mu held, so it may update s.bytes without locking.
	l, err := simplelru.NewLRU[objKey, entry](math.MaxInt, func(_ objKey, e entry) {
		s.bytes -= e.size
		s.removals.Add(1)
	})
	if err != nil {
		panic(err) // only for a non-positive size
	}
	s.lru = l
	return s
}

// size is what an object counts against the bound: its encoded bytes
// plus its ID (the parsed form is proportional to it).
func size(o adapters.Object) int64 { return int64(len(o.Raw) + len(o.ID)) }

func (s *Store) get(k objKey) (adapters.Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lru.Get(k)
	return e.obj, ok
}

func (s *Store) add(k objKey, o adapters.Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Add replaces an existing value without calling the evict callback.
	if old, ok := s.lru.Peek(k); ok {
		s.bytes -= old.size
	}
	n := size(o)
	s.lru.Add(k, entry{obj: o, size: n})
	s.bytes += n
	for s.bytes > s.max {
		if _, _, ok := s.lru.RemoveOldest(); !ok {
			break
		}
	}
}

func (s *Store) remove(k objKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lru.Remove(k)
}

// removeWhere drops every entry matching keep==false; it walks all keys, so
// it is only for rare events (collection deleted, adapter closed).
func (s *Store) removeWhere(drop func(objKey) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.lru.Keys() {
		if drop(k) {
			s.lru.Remove(k)
		}
	}
}

// Usage returns the bytes and number of objects held.
func (s *Store) Usage() (bytes int64, entries int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.lru.Len()
}
