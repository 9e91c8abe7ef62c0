package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// bcrypt cost 10 of "demo", precomputed so tests stay fast.
const demoBcrypt = "$2a$10$xgN0t7P4kcObTHLWSH8jr.e7MGTORrflyxy5MTSAp/k4CaDA2doj6"

func mustParse(t *testing.T, s string) Secret {
	t.Helper()
	sec, err := ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret(%q): %v", s, err)
	}
	return sec
}

func TestVerify(t *testing.T) {
	argon, err := hashArgon2id("s3cret", 64, 1, 1) // cheap parameters keep -race fast
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stored string
		pw     string
		want   bool
	}{
		{"bcrypt ok", demoBcrypt, "demo", true},
		{"bcrypt wrong", demoBcrypt, "demo ", false},
		{"bcrypt empty", demoBcrypt, "", false},
		{"argon2id ok", argon, "s3cret", true},
		{"argon2id wrong", argon, "s3creT", false},
		{"plain ok", "hunter2", "hunter2", true},
		{"plain prefix", "hunter2", "hunter", false},
		{"plain longer", "hunter2", "hunter22", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.stored).Verify(tt.pw); got != tt.want {
				t.Errorf("Verify(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

func TestZeroSecretMatchesNothing(t *testing.T) {
	if (Secret{}).Verify("") {
		t.Fatal("zero Secret matched the empty password")
	}
}

func TestDummyIsValidBcrypt(t *testing.T) {
	if _, err := ParseHash(string(dummy.hash)); err != nil {
		t.Fatalf("dummy hash: %v", err)
	}
}

func TestParseHashErrors(t *testing.T) {
	tests := []struct {
		name, in, wantSub string
	}{
		{"plain", "hunter2", "davgate hash-password"},
		{"truncated bcrypt", "$2a$10$abc", "bcrypt"},
		{"argon2i", "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "only argon2id"},
		{"argon2id version", "$argon2id$v=16$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "version"},
		{"argon2id missing p", "$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "m, t and p"},
		{"argon2id huge m", "$argon2id$v=19$m=99999999,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "limits"},
		{"argon2id bad salt", "$argon2id$v=19$m=65536,t=3,p=4$!!$aGFzaGhhc2hoYXNoaGFzaA", "salt"},
		{"argon2id short", "$argon2id$v=19$m=65536", "want $argon2id$"},
		{"argon2id unknown param", "$argon2id$v=19$m=65536,t=3,p=4,x=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "unknown parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHash(tt.in)
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("ParseHash(%q) = %v, want ErrBadHash", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not mention %q", err, tt.wantSub)
			}
		})
	}
}

func TestHashArgon2idDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB argon2id")
	}
	h, err := HashArgon2id("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("HashArgon2id = %q", h)
	}
	if !mustParse(t, h).Verify("pw") {
		t.Error("hash does not verify its own password")
	}
}

func TestParseSecretEmpty(t *testing.T) {
	if _, err := ParseSecret(""); err == nil {
		t.Fatal("ParseSecret(\"\") succeeded")
	}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$10$") {
		t.Errorf("HashPassword = %q, want bcrypt cost 10", h)
	}
	if !mustParse(t, h).Verify("correct horse") {
		t.Error("hash does not verify its own password")
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword(\"\") succeeded")
	}
}

// fakeClock lets tests expire cache entries.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	a := New(map[string]Secret{
		"demo":  mustParse(t, demoBcrypt),
		"plain": Plain("pw"),
	}, Options{CacheTTL: time.Minute, Now: clk.Now})

	tests := []struct {
		user, pw string
		want     bool
	}{
		{"demo", "demo", true},
		{"demo", "demo", true}, // cached
		{"demo", "wrong", false},
		{"demo", "demo", true}, // a failure does not evict the good entry
		{"plain", "pw", true},
		{"plain", "demo", false},
		{"nobody", "demo", false},
		{"", "", false},
		{"DEMO", "demo", false}, // user names are case-sensitive
	}
	for _, tt := range tests {
		if got := a.Authenticate(ctx, tt.user, tt.pw); got != tt.want {
			t.Errorf("Authenticate(%q, %q) = %v, want %v", tt.user, tt.pw, got, tt.want)
		}
	}
}

func TestCacheExpiresAndSkipsFailures(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	a := New(map[string]Secret{"u": Plain("pw")}, Options{CacheTTL: time.Minute, Now: clk.Now})

	if a.Authenticate(ctx, "u", "bad") {
		t.Fatal("bad password accepted")
	}
	if len(a.cache) != 0 {
		t.Fatalf("failure was cached: %d entries", len(a.cache))
	}
	if !a.Authenticate(ctx, "u", "pw") {
		t.Fatal("good password refused")
	}
	// Change the stored secret: a cache hit still succeeds, an expired
	// entry must go back to the (now different) secret.
	a.users["u"] = Plain("new")
	if !a.Authenticate(ctx, "u", "pw") {
		t.Fatal("cached password refused within TTL")
	}
	clk.Add(2 * time.Minute)
	if a.Authenticate(ctx, "u", "pw") {
		t.Fatal("expired cache entry still accepted")
	}
	if !a.Authenticate(ctx, "u", "new") {
		t.Fatal("new password refused")
	}
}

func TestCacheDisabled(t *testing.T) {
	a := New(map[string]Secret{"u": Plain("pw")}, Options{CacheTTL: -1})
	if !a.Authenticate(context.Background(), "u", "pw") {
		t.Fatal("good password refused")
	}
	if len(a.cache) != 0 {
		t.Fatal("cache used although disabled")
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	a := New(map[string]Secret{"u": Plain("pw")}, Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "pw"
			if i%2 == 1 {
				pw = "no"
			}
			for range 100 {
				if got := a.Authenticate(context.Background(), "u", pw); got != (pw == "pw") {
					t.Errorf("Authenticate(u, %q) = %v", pw, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestUnknownUserCostsAsMuchAsKnown(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	a := New(map[string]Secret{"demo": mustParse(t, demoBcrypt)}, Options{CacheTTL: -1})
	ctx := context.Background()
	// The minimum of a few runs filters out scheduling noise on a
	// shared machine.
	fastest := func(user string) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			a.Authenticate(ctx, user, "wrong")
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := fastest("demo"), fastest("ghost")
	// Both run one bcrypt cost-10 compare; allow generous noise on a
	// shared machine but catch a missing dummy compare (~0 vs ~50 ms).
	if unknown < known/4 {
		t.Errorf("unknown user took %v, known user %v: user names are enumerable", unknown, known)
	}
}

func BenchmarkAuthenticateCached(b *testing.B) {
	a := New(map[string]Secret{"demo": parseMust(demoBcrypt)}, Options{})
	ctx := context.Background()
	if !a.Authenticate(ctx, "demo", "demo") {
		b.Fatal("refused")
	}
	b.ReportAllocs()
	for b.Loop() {
		if !a.Authenticate(ctx, "demo", "demo") {
			b.Fatal("refused")
		}
	}
}

func BenchmarkAuthenticateUncached(b *testing.B) {
	a := New(map[string]Secret{"demo": parseMust(demoBcrypt)}, Options{CacheTTL: -1})
	ctx := context.Background()
	for b.Loop() {
		if !a.Authenticate(ctx, "demo", "demo") {
			b.Fatal("refused")
		}
	}
}

func parseMust(s string) Secret {
	sec, err := ParseSecret(s)
	if err != nil {
		panic(err)
	}
	return sec
}
