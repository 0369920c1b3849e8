package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeBinaryShutsDownCleanly builds the real binary, serves, writes
// records over HTTP, stops the server with SIGTERM and checks it exits 0
// and that the records are there after a restart.
func TestServeBinaryShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "kda")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()

	url, stop := startServe(t, bin, data)
	tg := target{args: []string{"--endpoint", url}}
	tg.ok(t, "", "stream", "create", "durable", "--shards", "2", "--wait")
	tg.ok(t, "", "put", "durable", "--key", "k", "one", "two", "three")
	if code, stderr := stop(); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM; stderr:\n%s", code, stderr)
	} else if !strings.Contains(stderr, "stopped; data synced") {
		t.Errorf("no clean-stop line in stderr:\n%s", stderr)
	}

	url, stop = startServe(t, bin, data)
	tg = target{args: []string{"--endpoint", url}}
	if got := strings.Join(dataOf(tailJSON(t, tg, "durable")), ","); got != "one,two,three" {
		t.Errorf("after restart the stream holds %q, want one,two,three", got)
	}
	if code, stderr := stop(); code != 0 {
		t.Fatalf("second serve exited %d; stderr:\n%s", code, stderr)
	}

	// The same data, embedded, with the server gone.
	if got := strings.Join(dataOf(tailJSON(t, target{args: []string{"--data", data}}, "durable")), ","); got != "one,two,three" {
		t.Errorf("embedded read holds %q", got)
	}
}

var listenLine = regexp.MustCompile(`url=(http://\S+)`)

// startServe starts `kda serve` on a free port and returns its URL and a
// function that sends SIGTERM and returns the exit code and stderr.
func startServe(t *testing.T, bin, data string) (string, func() (int, string)) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data, "--no-limits")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var log strings.Builder
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	stopped := false
	stop := func() (int, string) {
		stopped = true
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		errc := make(chan error, 1)
		go func() { <-logDone; errc <- cmd.Wait() }()
		select {
		case err := <-errc:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode(), log.String()
			}
			if err != nil {
				t.Fatalf("wait: %v", err)
			}
			return 0, log.String()
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("serve did not stop within 30s of SIGTERM")
			return -1, ""
		}
	}
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case line := <-lines:
			if m := listenLine.FindStringSubmatch(line); m != nil {
				return m[1], stop
			}
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			t.Fatalf("serve printed no listening line in 30s")
		}
	}
}
