// Package auth checks HTTP Basic credentials against the users of the
// configuration. It implements gateway.Authenticator.
//
// Stored secrets are bcrypt hashes, argon2id PHC strings, or plain passwords
// (read from a file or the environment). Because DAV clients send Basic
// credentials on every request and bcrypt costs ~50 ms, a successful
// user+password pair is remembered for a few minutes as a keyed SHA-256
// digest; failures are never remembered.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrBadHash is wrapped by errors about malformed stored hashes.
var ErrBadHash = errors.New("malformed password hash")

// DefaultCacheTTL is how long a verified password is remembered.
const DefaultCacheTTL = 5 * time.Minute

// BcryptCost is the cost HashPassword uses (~50 ms per check).
const BcryptCost = 10

type kind int

const (
	kindPlain kind = iota
	kindBcrypt
	kindArgon2id
)

// Secret is one user's stored credential. The zero Secret matches nothing.
type Secret struct {
	kind  kind
	valid bool
	// bcrypt: the hash; plain: SHA-256 of the password, so comparison
	// time does not depend on its length.
	hash []byte
	// argon2id parameters.
	salt          []byte
	time, mem     uint32
	threads       uint8
	argonKeyBytes uint32
}

// IsHash reports whether s looks like a hash this package understands
// (bcrypt "$2a$/$2b$/$2y$" or "$argon2id$"), as opposed to a plain password.
func IsHash(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") ||
		strings.HasPrefix(s, "$2y$") || strings.HasPrefix(s, "$argon2")
}

// ParseHash parses a bcrypt hash or an argon2id PHC string
// ($argon2id$v=19$m=65536,t=3,p=4$salt$hash, unpadded base64). It returns
// an error wrapping ErrBadHash otherwise.
func ParseHash(s string) (Secret, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return Secret{}, fmt.Errorf("%w: bcrypt: %v", ErrBadHash, err)
		}
		return Secret{kind: kindBcrypt, valid: true, hash: []byte(s)}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	case strings.HasPrefix(s, "$argon2"):
		return Secret{}, fmt.Errorf("%w: only argon2id is supported, not %q", ErrBadHash, strings.SplitN(s[1:], "$", 2)[0])
	}
	return Secret{}, fmt.Errorf("%w: want a bcrypt ($2b$...) or argon2id ($argon2id$...) hash; generate one with `davgate hash-password`", ErrBadHash)
}

// ParseSecret accepts a hash (see ParseHash) or, if s does not look like
// one, a plain password. Empty s is an error.
func ParseSecret(s string) (Secret, error) {
	if s == "" {
		return Secret{}, errors.New("empty password")
	}
	if IsHash(s) {
		return ParseHash(s)
	}
	return Plain(s), nil
}

// Plain returns a Secret matching exactly pw.
func Plain(pw string) Secret {
	h := sha256.Sum256([]byte(pw))
	return Secret{kind: kindPlain, valid: true, hash: h[:]}
}

// Limits that stop a typo in a hash from exhausting memory or CPU.
const (
	maxArgonMemKiB = 1 << 20 // 1 GiB
	maxArgonTime   = 64
)

func parseArgon2id(s string) (Secret, error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return Secret{}, fmt.Errorf("%w: argon2id: want $argon2id$v=19$m=M,t=T,p=P$salt$hash", ErrBadHash)
	}
	if parts[2] != "v=19" {
		return Secret{}, fmt.Errorf("%w: argon2id: unsupported version %q (want v=19)", ErrBadHash, parts[2])
	}
	sec := Secret{kind: kindArgon2id, valid: true}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return Secret{}, fmt.Errorf("%w: argon2id: bad parameter %q", ErrBadHash, kv)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Secret{}, fmt.Errorf("%w: argon2id: bad parameter %q", ErrBadHash, kv)
		}
		switch k {
		case "m":
			sec.mem = uint32(n)
		case "t":
			sec.time = uint32(n)
		case "p":
			if n > 255 {
				return Secret{}, fmt.Errorf("%w: argon2id: p=%d exceeds 255", ErrBadHash, n)
			}
			sec.threads = uint8(n)
		default:
			return Secret{}, fmt.Errorf("%w: argon2id: unknown parameter %q", ErrBadHash, k)
		}
	}
	if sec.mem == 0 || sec.time == 0 || sec.threads == 0 {
		return Secret{}, fmt.Errorf("%w: argon2id: m, t and p must all be set and positive", ErrBadHash)
	}
	if sec.mem > maxArgonMemKiB || sec.time > maxArgonTime {
		return Secret{}, fmt.Errorf("%w: argon2id: m=%d,t=%d exceed the limits m<=%d,t<=%d", ErrBadHash, sec.mem, sec.time, maxArgonMemKiB, maxArgonTime)
	}
	var err error
	if sec.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(sec.salt) < 8 {
		return Secret{}, fmt.Errorf("%w: argon2id: salt must be unpadded base64 of at least 8 bytes", ErrBadHash)
	}
	if sec.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(sec.hash) < 16 {
		return Secret{}, fmt.Errorf("%w: argon2id: hash must be unpadded base64 of at least 16 bytes", ErrBadHash)
	}
	sec.argonKeyBytes = uint32(len(sec.hash))
	return sec, nil
}

// Verify reports whether pw matches s, in time independent of how much of
// pw matches.
func (s Secret) Verify(pw string) bool {
	if !s.valid {
		return false
	}
	switch s.kind {
	case kindBcrypt:
		return bcrypt.CompareHashAndPassword(s.hash, []byte(pw)) == nil
	case kindArgon2id:
		got := argon2.IDKey([]byte(pw), s.salt, s.time, s.mem, s.threads, s.argonKeyBytes)
		return subtle.ConstantTimeCompare(got, s.hash) == 1
	default:
		h := sha256.Sum256([]byte(pw))
		return subtle.ConstantTimeCompare(h[:], s.hash) == 1
	}
}

// HashPassword returns a bcrypt hash of pw at BcryptCost, for the config's
// password_hash.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("refusing to hash an empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// HashArgon2id returns an argon2id PHC string of pw with the RFC 9106
// second recommended parameters (m=64 MiB, t=3, p=4).
func HashArgon2id(pw string) (string, error) {
	return hashArgon2id(pw, 64*1024, 3, 4)
}

func hashArgon2id(pw string, m, t uint32, p uint8) (string, error) {
	if pw == "" {
		return "", errors.New("refusing to hash an empty password")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// dummy is checked for unknown users so that they cost as much as known
// ones and response time does not reveal which user names exist. It is a
// bcrypt hash (cost 10) of a random string nobody knows.
var dummy = Secret{kind: kindBcrypt, valid: true,
	hash: []byte("$2a$10$S/DrVslRNrgHH9NbXCIQBOmPWfQzDUOtEFz46LEQ41ujGMQgpzPBu")}

// Options tune an Authenticator.
type Options struct {
	// CacheTTL is how long a verified password stays valid without
	// re-hashing. Zero means DefaultCacheTTL; negative disables the cache.
	CacheTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticator verifies Basic credentials. It is safe for concurrent use.
type Authenticator struct {
	users map[string]Secret
	ttl   time.Duration
	now   func() time.Time
	key   [32]byte // per-process HMAC key for the verification cache

	mu    sync.Mutex
	cache map[string]cached // by user; at most one entry per known user
}

type cached struct {
	mac     [32]byte
	expires time.Time
}

// New returns an Authenticator for users (name → secret).
func New(users map[string]Secret, opts Options) *Authenticator {
	a := &Authenticator{users: make(map[string]Secret, len(users)), ttl: opts.CacheTTL, now: opts.Now, cache: map[string]cached{}}
	for u, s := range users {
		a.users[u] = s
	}
	if a.ttl == 0 {
		a.ttl = DefaultCacheTTL
	}
	if a.now == nil {
		a.now = time.Now
	}
	if _, err := rand.Read(a.key[:]); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return a
}

func (a *Authenticator) mac(user, pw string) [32]byte {
	h := hmac.New(sha256.New, a.key[:])
	// User names cannot contain ':' (config rejects it), so the
	// encoding is unambiguous.
	h.Write([]byte(user))
	h.Write([]byte{':'})
	h.Write([]byte(pw))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Authenticate implements gateway.Authenticator.
func (a *Authenticator) Authenticate(_ context.Context, user, password string) bool {
	sec, known := a.users[user]
	if !known {
		dummy.Verify(password)
		return false
	}
	var mac [32]byte
	if a.ttl > 0 {
		mac = a.mac(user, password)
		now := a.now()
		a.mu.Lock()
		c, ok := a.cache[user]
		a.mu.Unlock()
		if ok && now.Before(c.expires) && subtle.ConstantTimeCompare(c.mac[:], mac[:]) == 1 {
			return true
		}
	}
	if !sec.Verify(password) {
		return false
	}
	if a.ttl > 0 {
		a.mu.Lock()
		a.cache[user] = cached{mac: mac, expires: a.now().Add(a.ttl)}
		a.mu.Unlock()
	}
	return true
}
