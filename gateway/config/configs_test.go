package config

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/davgate/davgate/adapters"
)

// TestConfigs loads and validates every shipped example (Caddy's
// caddyfile_adapt), so docs cannot drift from the schema.
func TestConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d files in configs/, want demo.yaml and example.yaml at least", len(files))
	}
	t.Setenv("DAVGATE_BOB_PASSWORD", "bob-secret") // example.yaml's password_env
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDemoBuilds starts the demo config's runtime offline, from the
// repository root as `make run` does, and checks the documented login.
func TestDemoBuilds(t *testing.T) {
	cfg, err := Load("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	rt, err := Build(context.Background(), cfg, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if !rt.Options.Auth.Authenticate(context.Background(), "demo", "demo") {
		t.Error("demo/demo refused")
	}
	if u, s, i := cfg.Counts(); u != 1 || s != 3 || i != 3 {
		t.Errorf("Counts() = %d, %d, %d; want 1 user, 3 sources, 3 instances", u, s, i)
	}
}
