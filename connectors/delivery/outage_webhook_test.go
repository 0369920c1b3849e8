package delivery_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/webhook"
)

// TestAWebhookOutageInTheMiddleOfADeliveryLosesNothing runs the whole
// path to an HTTP receiver behind a proxy that is cut while records keep
// arriving. The receiver notes every request body in the order its
// handler ran, whether or not the answer made it back.
//
// Delivery is at least once: a request whose answer the cut lost counts
// as failed, and the delivery stream sends its batch again from the
// first record, so records of that batch may arrive twice (receivers
// deduplicate by the Kda-Record-Id header). Records are sent one request
// at a time, so the first arrivals of one partition key are in put order.
func TestAWebhookOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	var (
		mu       sync.Mutex
		arrivals []int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		arrivals = append(arrivals, outageID(body))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	proxy := testproxy.Start(t, strings.TrimPrefix(srv.URL, "http://"))
	o := startOutage(t, webhook.Connector(), map[string]any{
		"url": "http://" + proxy.Addr + "/hook", "timeout": "2s",
		"maxRetries": 0, // the delivery stream retries, with the test's short backoff
	})
	o.run(proxy.Cut, proxy.Restore)

	mu.Lock()
	got := append([]int(nil), arrivals...)
	mu.Unlock()
	o.checkArrivals(got, false)
}
