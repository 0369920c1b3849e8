package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/webhook"
)

// demoInboxPath is where `serve --demo` receives its own price alerts: the
// demo's webhook delivery stream POSTs them here, signed, as it would to
// an alerting service.
const demoInboxPath = "/demo/alerts"

// demoInboxSize bounds the alerts the inbox keeps.
const demoInboxSize = 100

// demoInbox is the receiving end of the demo's alert path. POST takes one
// alert (the webhook sink's one-record-per-request form), checks its
// HMAC signature against the delivery stream's secret and keeps it,
// dropping a redelivered record ID (webhooks are at least once); GET lists
// the alerts kept, newest first.
type demoInbox struct {
	deliveries *delivery.Manager
	logger     *slog.Logger

	mu     sync.Mutex
	alerts []receivedAlert // oldest first
}

// receivedAlert is one alert as GET /demo/alerts shows it.
type receivedAlert struct {
	ReceivedAt time.Time       `json:"receivedAt"`
	RecordID   string          `json:"recordId"`
	Alert      json.RawMessage `json:"alert"`
}

func newDemoInbox(deliveries *delivery.Manager, logger *slog.Logger) *demoInbox {
	return &demoInbox{deliveries: deliveries, logger: logger}
}

func (in *demoInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		in.mu.Lock()
		out := make([]receivedAlert, 0, len(in.alerts))
		for i := len(in.alerts) - 1; i >= 0; i-- {
			out = append(out, in.alerts[i])
		}
		in.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
	case http.MethodPost:
		in.receive(w, r)
	default:
		writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET to list the demo's alerts, POST to deliver one")
	}
}

func (in *demoInbox) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeRESTError(w, http.StatusBadRequest, "InvalidArgumentException", "read body: "+err.Error())
		return
	}
	secret, err := in.secret()
	if err != nil {
		writeRESTError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", err.Error())
		return
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get(webhook.DefaultSignatureHeader)), []byte(want)) {
		writeRESTError(w, http.StatusUnauthorized, "UnauthorizedException", "the "+webhook.DefaultSignatureHeader+" signature does not match the body")
		return
	}
	if !json.Valid(body) {
		writeRESTError(w, http.StatusBadRequest, "InvalidArgumentException", "the alert is not JSON")
		return
	}
	id := r.Header.Get(webhook.RecordIDHeader)
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, a := range in.alerts {
		if id != "" && a.RecordID == id {
			w.WriteHeader(http.StatusNoContent) // a redelivery: already kept
			return
		}
	}
	if len(in.alerts) == demoInboxSize {
		in.alerts = append(in.alerts[:0], in.alerts[1:]...)
	}
	in.alerts = append(in.alerts, receivedAlert{ReceivedAt: time.Now().UTC(), RecordID: id, Alert: body})
	var alert struct{ MESSAGE string }
	_ = json.Unmarshal(body, &alert)
	in.logger.Info("demo alert received by webhook", "message", alert.MESSAGE, "see", "GET "+demoInboxPath)
	w.WriteHeader(http.StatusNoContent)
}

// secret reads the signing secret from the demo's webhook delivery stream.
func (in *demoInbox) secret() (string, error) {
	if in.deliveries == nil {
		return "", errDemoHookMissing
	}
	d, err := in.deliveries.Describe(demoAlertHook)
	if err != nil || d.Definition.SinkDestination == nil {
		return "", errDemoHookMissing
	}
	var cfg webhook.Config
	if err := json.Unmarshal(d.Definition.SinkDestination.Config, &cfg); err != nil || strings.TrimSpace(cfg.Secret) == "" {
		return "", errDemoHookMissing
	}
	return cfg.Secret, nil
}

type demoError string

func (e demoError) Error() string { return string(e) }

const errDemoHookMissing = demoError("the demo's webhook delivery stream " + demoAlertHook + " is missing or has no secret; start the server with --demo")

// loopbackAddr is addr with an unspecified host (0.0.0.0, ::) made the
// loopback address, so that the server can call itself.
func loopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}
