// Package killtest runs the real kda binary for crash tests: it builds
// `kda`, starts `kda serve` on a free loopback port, waits until it is
// healthy, and kills it with SIGKILL — so a test can check what survives.
package killtest

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// Server is a `kda serve` child process over one data directory.
type Server struct {
	Bin, Dir, Addr string
	// Log collects the server's output across restarts.
	Log *SafeBuffer
	cmd *exec.Cmd
}

// New builds kda (skipping the test with -short) and returns a server for a
// fresh data directory; it is not started.
func New(t *testing.T) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("crash tests build and kill the real binary; skipped with -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "kda")
	build := exec.Command("go", "build", "-o", bin, "github.com/kdaproject/kda/cmd/kda")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build kda: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return &Server{Bin: bin, Dir: filepath.Join(tmp, "data"), Addr: addr, Log: &SafeBuffer{}}
}

// Start runs `kda serve --no-limits` and waits (up to 20 s) for /healthz.
func (s *Server) Start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.Bin, "serve", "--listen", s.Addr, "--data", s.Dir, "--no-limits")
	s.cmd.Stdout, s.cmd.Stderr = s.Log, s.Log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start kda serve: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.Addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("kda serve did not become healthy within 20s:\n%s", s.Log)
}

// Kill sends SIGKILL and waits for the process to go.
func (s *Server) Kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	_ = s.cmd.Wait()
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr }

// Client returns an SDK client for the server. attempts = 1 turns retries
// off: a put whose answer was lost must stay unacknowledged.
func (s *Server) Client(attempts int) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider("crash", "test", ""),
		RetryMaxAttempts: attempts,
	})
}

// SafeBuffer is a bytes.Buffer safe for the child's concurrent writes.
type SafeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
