package kinesisapi

import (
	"log/slog"
	"time"
)

// Options configures the HTTP face. The zero value is usable: it accepts any
// signature and logs nothing.
type Options struct {
	// AccessKey and SecretKey, when both are set, turn on SigV4 verification:
	// every request must be signed with this key pair. When either is empty,
	// requests are accepted whatever their signature.
	AccessKey string
	SecretKey string

	// Region, when set, is the only region accepted in a signature's
	// credential scope. Empty accepts any region.
	Region string

	// SigningName is the service a signature must be scoped to (default
	// "kinesis"; the Firehose API checks "firehose" with VerifySignature).
	SigningName string

	// Logger receives one line per failed request (Debug for client errors,
	// Error for internal failures). Default: discard.
	Logger *slog.Logger

	// Now returns the current time, for signature skew checks and page-token
	// expiry; tests inject a fake clock. Default time.Now.
	Now func() time.Time

	// MaxRequestBytes is the largest request body accepted; larger ones get
	// HTTP 413. Default 16 MiB, enough for a full PutRecords of 5 MiB after
	// base64 expansion.
	MaxRequestBytes int64

	// SubscriptionDuration is how long a SubscribeToShard stream lasts before
	// the client must subscribe again. Default 5 minutes, as on AWS.
	SubscriptionDuration time.Duration

	// SubscriptionHeartbeat is the longest a SubscribeToShard stream stays
	// silent: an event with no records is sent after it. Default 5 seconds.
	SubscriptionHeartbeat time.Duration
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.SubscriptionDuration <= 0 {
		o.SubscriptionDuration = 5 * time.Minute
	}
	if o.SubscriptionHeartbeat <= 0 {
		o.SubscriptionHeartbeat = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 16 << 20
	}
}

// verifySignatures reports whether SigV4 verification is on.
func (o *Options) verifySignatures() bool { return o.AccessKey != "" && o.SecretKey != "" }
