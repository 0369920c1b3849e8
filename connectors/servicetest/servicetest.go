// Package servicetest decides whether a connector test can talk to its
// real service: on a developer's machine without the service the test is
// skipped with a message saying how to run it; under CI=true a missing
// service fails the test, since CI starts every service the tests need.
package servicetest

import (
	"net"
	"os"
	"testing"
	"time"
)

// Require checks that something listens at addr (host:port) and skips or
// fails the test otherwise. name is the service, e.g. "PostgreSQL".
func Require(t testing.TB, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not reachable at %s (%v): CI=true requires it; .ci/run starts it", name, addr, err)
	}
	t.Skipf("%s is not reachable at %s (%v): skipping; start it to run this test (under CI=true this fails)", name, addr, err)
}
