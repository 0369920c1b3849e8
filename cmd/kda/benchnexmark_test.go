package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchNexmarkQ0(t *testing.T) {
	r := runCLI(t, nil, "", "bench", "nexmark", "--query", "q0", "--events", "10000")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Nexmark: 10000 events", "EVENTS/S PER CORE", "q0", "9200", "155 K"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestBenchNexmarkRunsEveryQuery runs every query on a few events.
func TestBenchNexmarkRunsEveryQuery(t *testing.T) {
	r := runCLI(t, nil, "", "bench", "nexmark", "--query", "all", "--events", "20000", "--rate", "1000", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep nexmarkReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 9 {
		t.Fatalf("%d results, want q0…q8", len(rep.Results))
	}
	for _, res := range rep.Results {
		if res.Events != 20000 || res.ErrorRows != 0 || res.EventsPerSecond <= 0 {
			t.Errorf("%s: %+v", res.Query, res)
		}
	}
	// 20,000 events are 18,400 bids; q0 passes them all, q1 too.
	for _, res := range rep.Results[:2] {
		if res.OutputRows != 18400 {
			t.Errorf("%s: %d rows, want 18,400 bids", res.Query, res.OutputRows)
		}
	}
	// 20 s of event time: q5 reports a maximum per 2-second hop.
	if q5 := rep.Results[5]; q5.OutputRows < 10 || q5.OutputRows > 15 {
		t.Errorf("q5: %d rows over 20 s of 10 s windows every 2 s", q5.OutputRows)
	}
}

func TestBenchNexmarkUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--query", "q42"}, "no Nexmark query"},
		{[]string{"--events", "0"}, "--events"},
		{[]string{"--rate", "0"}, "--rate"},
	} {
		r := runCLI(t, nil, "", append([]string{"bench", "nexmark"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, r.code, r.stderr)
		}
	}
	r := runCLI(t, nil, "", "bench", "nexmark", "--list")
	if r.code != 0 || !strings.Contains(r.stdout, "-- q7: highest bid") || !strings.Contains(r.stdout, "CREATE PUMP Q0") {
		t.Errorf("--list: exit %d\n%s", r.code, r.stdout)
	}
}
