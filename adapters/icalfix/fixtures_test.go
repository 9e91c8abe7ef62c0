package icalfix

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir finds shared/fixtures/ics by walking up from the package
// directory; the fixtures live next to the repository, never inside it.
func fixtureDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		for _, c := range []string{filepath.Join(dir, "shared", "fixtures", "ics"), filepath.Join(dir, "..", "shared", "fixtures", "ics")} {
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/fixtures/ics not found next to the repository; skipping fixture tests")
		}
		dir = parent
	}
}

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	root := fixtureDir(t)
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(path), ".ics") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no .ics fixtures found")
	}
	return files
}
