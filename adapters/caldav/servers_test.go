package caldav

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// server is a real DAV server started for a test on a free loopback port.
type server struct {
	url  string // what the adapter is configured with
	cmd  *exec.Cmd
	user string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// start runs bin with args and waits until port accepts connections. The
// process is killed by PID in t.Cleanup.
func start(t *testing.T, bin string, port int, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s); CI installs it", bin, bin)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), bin+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil && len(b) > 0 {
				t.Logf("%s log (tail):\n%s", bin, tail(b, 3000))
			}
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %v", bin, addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// startRadicale runs Radicale with a temporary storage folder and no
// authentication (any user name is accepted and becomes the principal).
func startRadicale(t *testing.T) *server {
	t.Helper()
	port := freePort(t)
	dir := t.TempDir()
	cmd := start(t, "radicale", port, "--config", "",
		"--server-hosts", fmt.Sprintf("127.0.0.1:%d", port),
		"--storage-filesystem-folder", filepath.Join(dir, "collections"),
		"--auth-type", "none")
	return &server{url: fmt.Sprintf("http://127.0.0.1:%d/", port), cmd: cmd, user: "alice"}
}

// startXandikos runs Xandikos with a temporary folder; --defaults creates
// the principal /user/ with a calendar and an address book.
func startXandikos(t *testing.T) *server {
	t.Helper()
	port := freePort(t)
	cmd := start(t, "xandikos", port, "-d", t.TempDir(), "-l", "127.0.0.1", "-p", strconv.Itoa(port), "--defaults")
	return &server{url: fmt.Sprintf("http://127.0.0.1:%d/", port), cmd: cmd}
}
