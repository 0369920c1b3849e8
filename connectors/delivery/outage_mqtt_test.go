package delivery_test

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/mqtt"
	"github.com/kdaproject/kda/connectors/servicetest"
)

// TestAnMQTTOutageInTheMiddleOfADeliveryLosesNothing runs the whole path
// to the machine's Mosquitto behind a proxy that is cut while records
// keep arriving. The sink publishes at QoS 1 on <prefix>/k<n>; a
// subscriber with a connection of its own (not through the proxy) takes
// every message at QoS 1, in the order the broker forwards them.
//
// Delivery is at least once: a batch whose PUBACKs the cut lost is
// published again from its first record, and MQTT 3.1.1 has no header
// to carry the record ID, so the broker cannot drop the repeats. Records
// of one partition key first arrive in put order, since the sink
// publishes a batch in order on one connection.
func TestAnMQTTOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	const brokerAddr = "127.0.0.1:1883"
	servicetest.Require(t, "Mosquitto", brokerAddr)
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "kdaoutage/" + hex.EncodeToString(b)
	var (
		mu       sync.Mutex
		arrivals []int
	)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("kdaoutage-sub-" + hex.EncodeToString(b)))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect: %v", tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(100) })
	tok := sub.Subscribe(prefix+"/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		arrivals = append(arrivals, outageID(m.Payload()))
		mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	proxy := testproxy.Start(t, brokerAddr)
	o := startOutage(t, mqtt.Connector(), map[string]any{
		"broker": "tcp://" + proxy.Addr, "topic": prefix + "/{K}", "qos": 1, "timeout": "2s",
	})
	o.run(proxy.Cut, proxy.Restore)

	// Every record was acknowledged by the broker; wait until the
	// subscriber has them all, then a little longer for stragglers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		distinct := map[int]bool{}
		for _, id := range arrivals {
			distinct[id] = true
		}
		mu.Unlock()
		if len(distinct) >= outageTotal || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	got := append([]int(nil), arrivals...)
	mu.Unlock()
	o.checkArrivals(got, false)
}
