package delivery_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/rabbitmq"
	"github.com/kdaproject/kda/connectors/servicetest"
)

// TestARabbitMQOutageInTheMiddleOfADeliveryLosesNothing runs the whole
// path to the machine's RabbitMQ behind a proxy that is cut while records
// keep arriving. The sink publishes to a topic exchange with routing key
// K; one queue, declared on a connection of its own, is bound with "#"
// and holds the arrivals in order.
//
// Delivery is at least once: a batch whose confirmations the cut lost is
// published again from its first record, and RabbitMQ does not
// deduplicate (consumers do, by MessageId, the record ID). Records of one
// partition key first arrive in put order, since the sink publishes a
// batch in order on one channel.
func TestARabbitMQOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	const rabbitAddr = "127.0.0.1:5672"
	servicetest.Require(t, "RabbitMQ", rabbitAddr)
	b := make([]byte, 6)
	rand.Read(b)
	exchange := "kda.outage." + hex.EncodeToString(b)
	conn, err := amqp.Dial("amqp://guest:guest@" + rabbitAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ch.ExchangeDelete(exchange, false, false); err != nil {
			t.Errorf("delete exchange %s: %v", exchange, err)
		}
	})
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "#", exchange, false, nil); err != nil {
		t.Fatal(err)
	}

	proxy := testproxy.Start(t, rabbitAddr)
	o := startOutage(t, rabbitmq.Connector(), map[string]any{
		"url": "amqp://guest:guest@" + proxy.Addr + "/", "exchange": exchange, "routingKey": "{K}", "timeout": "2s",
	})
	o.run(proxy.Cut, proxy.Restore)

	// RabbitMQ confirmed every record once it was in the queue: the queue
	// holds everything that arrived.
	var arrivals []int
	for {
		d, ok, err := ch.Get(q.Name, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		arrivals = append(arrivals, outageID(d.Body))
	}
	o.checkArrivals(arrivals, false)
}
