package firehose

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/delivery/deliverytest"
)

func TestDescribeDeliveryStreamMasksSecretsAndUpdateDestinationKeepsThem(t *testing.T) {
	_, m := deliverytest.NewManager(t)
	srv := httptest.NewServer(New(m, Options{}))
	t.Cleanup(srv.Close)
	call := func(op, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", TargetPrefix+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", op, resp.StatusCode, b)
		}
		return string(b)
	}
	call("CreateDeliveryStream", `{"DeliveryStreamName":"hook","SinkDestination":{"Type":"fake","Config":{"url":"amqp://u:urlpass@h/","secret":"hmac-secret","headers":{"Authorization":"Bearer tok"}}}}`)
	described := call("DescribeDeliveryStream", `{"DeliveryStreamName":"hook"}`)
	for _, s := range []string{"urlpass", "hmac-secret", "Bearer tok"} {
		if strings.Contains(described, s) {
			t.Errorf("DescribeDeliveryStream shows %q: %s", s, described)
		}
	}
	if !strings.Contains(described, `amqp://u:`+delivery.Mask+`@h/`) || !strings.Contains(described, `"secret":"`+delivery.Mask+`"`) {
		t.Errorf("DescribeDeliveryStream shows no masks: %s", described)
	}

	// The masked configuration sent back by UpdateDestination keeps the
	// secrets.
	call("UpdateDestination", `{"DeliveryStreamName":"hook","CurrentDeliveryStreamVersionId":"1","DestinationId":"`+delivery.DestinationID+`",
		"SinkDestinationUpdate":{"Config":{"url":"amqp://u:****@h/","secret":"****","headers":{"Authorization":"****"},"timeout":"2s"}}}`)
	d, err := m.Describe("hook")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"headers":{"Authorization":"Bearer tok"},"secret":"hmac-secret","timeout":"2s","url":"amqp://u:urlpass@h/"}`
	if got := string(d.Definition.SinkDestination.Config); got != want {
		t.Errorf("stored config %s, want %s", got, want)
	}
}
