package delivery_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/nats"
	"github.com/kdaproject/kda/connectors/servicetest"
)

// TestANATSOutageInTheMiddleOfADeliveryLosesNothing runs the whole path
// to the machine's NATS JetStream behind a proxy that is cut while
// records keep arriving. The sink creates a stream of its own; the
// stream's messages, in stream sequence order, are the arrivals.
//
// Every message carries the record ID as Nats-Msg-Id, so JetStream drops
// a record of a redelivered batch that it already stored (within its
// two-minute duplicate window, far longer than the test): the stream
// holds every record exactly once, and those of one partition key in put
// order.
func TestANATSOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	const natsAddr = "127.0.0.1:4222"
	servicetest.Require(t, "NATS", natsAddr)
	b := make([]byte, 6)
	rand.Read(b)
	id := hex.EncodeToString(b)
	stream, prefix := "KDA_OUTAGE_"+strings.ToUpper(id), "kdaoutage_"+id
	nc, err := natsgo.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", stream, err)
		}
		nc.Close()
	})
	proxy := testproxy.Start(t, natsAddr)
	o := startOutage(t, nats.Connector(), map[string]any{
		"url": "nats://" + proxy.Addr, "subject": prefix + ".{K}", "stream": stream, "timeout": "2s",
	})
	o.run(proxy.Cut, proxy.Restore)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var arrivals []int
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		arrivals = append(arrivals, outageID(m.Data))
	}
	o.checkArrivals(arrivals, true)
}
