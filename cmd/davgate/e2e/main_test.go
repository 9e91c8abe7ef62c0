package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	// repoRoot is the module root (three levels above this package).
	repoRoot string
	// binDir is TestMain's temporary directory for the davgate binary.
	binDir    string
	buildOnce sync.Once
	// davgateBin is the binary built by the first test that needs it.
	davgateBin string
	// buildErr is why building davgate failed; tests that need it fail with it.
	buildErr error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", "..", ".."))
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot find the module root:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "davgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// buildDavgate builds ./cmd/davgate once per test binary run (the first
// test that needs it pays) and returns its path.
func buildDavgate(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		bin := filepath.Join(binDir, "davgate")
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/davgate")...)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/davgate: %v\n%s", err, out)
			return
		}
		davgateBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return davgateBin
}

// targetName is the server the clients talk to: "davgate" (default) or
// "radicale".
func targetName() string {
	if v := os.Getenv("DAVGATE_E2E_TARGET"); v != "" {
		return v
	}
	return "davgate"
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a goroutine-safe log sink for child processes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDaemon starts cmd in its own process group, logs its output on test
// failure and stops the group at cleanup (SIGTERM, then SIGKILL after 5s).
func startDaemon(t *testing.T, name string, cmd *exec.Cmd) *syncBuffer {
	t.Helper()
	logs := &syncBuffer{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		if strings.Contains(logs.String(), "WARNING: DATA RACE") {
			t.Errorf("%s (pid %d) reported a data race", name, pid)
		}
		if t.Failed() {
			t.Logf("%s (pid %d) output:\n%s", name, pid, logs.String())
		}
	})
	return logs
}

// waitHTTP polls url until it answers with want, or fails the test.
func waitHTTP(t *testing.T, url string, want int, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d within 20s (last: %s); server output:\n%s", url, want, last, logs.String())
}

// runTool runs a client command with a timeout and returns its combined
// output; a non-zero exit fails the test and shows the output.
func runTool(t *testing.T, stdin string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runToolErr(t, stdin, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runToolErr(t *testing.T, stdin string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// requireTool skips the test when path is not an executable file.
func requireTool(t *testing.T, path, install string) {
	t.Helper()
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		missing(t, "%s not found; install it with: %s", path, install)
	}
}

// missing skips the test because a client is not installed, except under
// CI=true, where .ci/run installs every client and a skip would hide that
// the test never ran.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but "+format, args...)
	}
	t.Skipf(format, args...)
}
