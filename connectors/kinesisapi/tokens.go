package kinesisapi

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// tokenTTL is how long a continuation token stays valid, as on AWS.
const tokenTTL = 300 * time.Second

// Token kinds: a token of one listing is refused by another.
const (
	tokenStreams   = "streams"
	tokenShards    = "shards"
	tokenConsumers = "consumers"
)

// pageToken is the content of a NextToken. It is opaque to clients; it is
// not signed because forging one only changes which page of a listing the
// forger is shown.
type pageToken struct {
	Kind   string `json:"k"`
	Stream string `json:"s,omitempty"`
	// After is the last item (stream name, shard id, consumer name) of the
	// previous page.
	After  string       `json:"a,omitempty"`
	Filter *tokenFilter `json:"f,omitempty"`
	Issued int64        `json:"t"` // Unix milliseconds
}

// tokenFilter is a ListShards ShardFilter carried across pages.
type tokenFilter struct {
	Type      string `json:"y"`
	ShardID   string `json:"i,omitempty"`
	Timestamp int64  `json:"m,omitempty"` // Unix milliseconds
}

func (h *handler) encodeToken(t pageToken) string {
	t.Issued = h.opts.Now().UnixMilli()
	b, _ := json.Marshal(t) // strings and ints only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken parses a NextToken of the given kind: InvalidArgumentException
// when it is not one of ours, ExpiredNextTokenException when it is too old.
func (h *handler) decodeToken(s, kind string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Kind != kind {
		return pageToken{}, invalidArgument("Invalid NextToken: it was not issued by this operation.")
	}
	age := h.opts.Now().Sub(time.UnixMilli(t.Issued))
	if age > tokenTTL {
		return pageToken{}, newAPIError(codeExpiredNextToken,
			"The NextToken has expired: it was issued %s ago and is valid for %s. Start the listing again.",
			age.Round(time.Second), tokenTTL)
	}
	return t, nil
}
