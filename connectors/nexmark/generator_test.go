package nexmark

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := New(Config{Seed: 7}), New(Config{Seed: 7})
	var ba, bb Batch
	a.Fill(&ba, 0, 5000)
	b.Fill(&bb, 0, 5000)
	for i := range ba.Data {
		if !bytes.Equal(ba.Data[i], bb.Data[i]) {
			t.Fatalf("event %d differs between two generators with seed 7:\n%s\n%s", i, ba.Data[i], bb.Data[i])
		}
	}
	// Any event can be made on its own.
	var one Batch
	a.Fill(&one, 1234, 1)
	if !bytes.Equal(one.Data[0], ba.Data[1234]) {
		t.Errorf("event 1234 alone differs from event 1234 in a run:\n%s\n%s", one.Data[0], ba.Data[1234])
	}
	// Another seed, other events (same kinds and times).
	c := New(Config{Seed: 8})
	var bc Batch
	c.Fill(&bc, 0, 5000)
	same := 0
	for i := range bc.Data {
		if bytes.Equal(bc.Data[i], ba.Data[i]) {
			same++
		}
		if bc.Kinds[i] != ba.Kinds[i] || !bc.Times[i].Equal(ba.Times[i]) {
			t.Fatalf("event %d: kind or time depends on the seed", i)
		}
	}
	if same > 0 {
		t.Errorf("%d of 5000 events are the same with seeds 7 and 8", same)
	}
}

func TestEventMixAndHotness(t *testing.T) {
	g := New(Config{})
	const n = 500_000
	var kinds [3]int
	var hotAuction, hotBidder, hotSeller, bids, auctions int
	lastAuctionID, lastPersonID := int64(-1), int64(-1)
	prev := time.Time{}
	for i := range int64(n) {
		e := g.Event(i)
		kinds[e.Kind]++
		if e.Time.Before(prev) {
			t.Fatalf("event %d goes back in time", i)
		}
		prev = e.Time
		switch e.Kind {
		case KindPerson:
			if e.Person.ID != lastPersonID+1 && lastPersonID >= 0 {
				t.Fatalf("person ids jump from %d to %d", lastPersonID, e.Person.ID)
			}
			lastPersonID = e.Person.ID
		case KindAuction:
			auctions++
			if e.Auction.ID != lastAuctionID+1 && lastAuctionID >= 0 {
				t.Fatalf("auction ids jump from %d to %d", lastAuctionID, e.Auction.ID)
			}
			lastAuctionID = e.Auction.ID
			if e.Auction.Seller > lastPersonID+idLead || e.Auction.Category < FirstCategoryID || e.Auction.Category >= FirstCategoryID+NumCategories {
				t.Fatalf("auction %+v: seller not yet created or category out of range", e.Auction)
			}
			if !e.Auction.Expires.After(e.Auction.DateTime) || e.Auction.Reserve < e.Auction.InitialBid {
				t.Fatalf("auction %+v expires before it opens or has a reserve below its initial bid", e.Auction)
			}
			if e.Auction.Seller == (lastPersonID-FirstPersonID)/hotBlock*hotBlock+FirstPersonID {
				hotSeller++
			}
		case KindBid:
			bids++
			b := e.Bid
			if b.Auction == (lastAuctionID-FirstAuctionID)/hotBlock*hotBlock+FirstAuctionID {
				hotAuction++
			}
			if b.Bidder == (lastPersonID-FirstPersonID)/hotBlock*hotBlock+1+FirstPersonID {
				hotBidder++
			}
			if b.Price < 100 || b.Price > 100_000_000 || b.Auction > lastAuctionID+idLead {
				t.Fatalf("bid %+v out of range", b)
			}
		}
	}
	if kinds[KindPerson]*50 != n || kinds[KindAuction]*50 != 3*n || kinds[KindBid]*50 != 46*n {
		t.Errorf("event mix person:auction:bid = %v, want 1:3:46 of %d", kinds, n)
	}
	// The hot shares are 1 - 1/ratio, plus the few cold picks that land on
	// the hot one.
	near := func(what string, got, of int, want float64) {
		if f := float64(got) / float64(of); f < want-0.02 || f > want+0.03 {
			t.Errorf("%s: %.3f of the events, want about %.2f", what, f, want)
		}
	}
	near("bids on the hot auction", hotAuction, bids, 0.5)
	near("bids by the hot bidder", hotBidder, bids, 0.75)
	near("auctions by the hot seller", hotSeller, auctions, 0.75)
	if d := g.TimeOf(10_000).Sub(g.TimeOf(0)); d != time.Second {
		t.Errorf("10,000 events at the default rate span %v, want 1s", d)
	}
}

func TestRecordsAreJSONOfTheEvent(t *testing.T) {
	g := New(Config{EventsPerSecond: 1000})
	var b Batch
	g.Fill(&b, 0, TotalProportion)
	sizes := map[Kind][]int{}
	for i, data := range b.Data {
		var rec struct {
			EventType int                        `json:"event_type"`
			Person    map[string]any             `json:"person"`
			Auction   map[string]any             `json:"auction"`
			Bid       map[string]json.RawMessage `json:"bid"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("record %d is not JSON: %v\n%s", i, err, data)
		}
		if Kind(rec.EventType) != b.Kinds[i] {
			t.Errorf("record %d: event_type %d, kind %v", i, rec.EventType, b.Kinds[i])
		}
		sizes[b.Kinds[i]] = append(sizes[b.Kinds[i]], len(data))
		if b.Kinds[i] == KindBid {
			want := `"` + string(AppendTimestamp(nil, b.Times[i])) + `"`
			if string(rec.Bid["dateTime"]) != want {
				t.Errorf("bid %d dateTime %s, want %s", i, rec.Bid["dateTime"], want)
			}
		}
	}
	if got := string(AppendTimestamp(nil, g.TimeOf(1234))); got != "2026-01-01 00:00:01.234" {
		t.Errorf("event 1234 at 1000/s is at %s", got)
	}
	if len(sizes[KindPerson]) != 1 || len(sizes[KindAuction]) != 3 || len(sizes[KindBid]) != 46 {
		t.Errorf("kinds of the first 50 events: %v", sizes)
	}
}

func BenchmarkFill(b *testing.B) {
	g := New(Config{})
	var batch Batch
	n := int64(0)
	for b.Loop() {
		g.Fill(&batch, n, 4096)
		n += 4096
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

func TestStringsAreEscaped(t *testing.T) {
	got := string(appendField(nil, "k", "a\"b\\c\n"))
	if got != `,"k":"a\"b\\c\u000a"` {
		t.Errorf("appendField = %s", got)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte("{"+got[1:]+"}"), &v); err != nil || v["k"] != "a\"b\\c\n" {
		t.Errorf("%s reads back as %q (%v)", got, v["k"], err)
	}
}
