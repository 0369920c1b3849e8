package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kdaproject/kda/engine/store"
)

// checkpointStore keeps a consumer's per-shard positions: the sequence number
// of the last record it has processed in each shard.
//
// The Kinesis API has no such operation, so against a server kda uses its
// own REST route (see checkpointsPath) and embedded it calls the store.
type checkpointStore interface {
	Get(ctx context.Context, stream, consumer string) (map[string]string, error)
	Save(ctx context.Context, stream, consumer string, checkpoints map[string]string) error
}

// storeCheckpoints keeps checkpoints in an in-process store.
type storeCheckpoints struct{ st *store.Store }

func (s storeCheckpoints) Get(_ context.Context, stream, consumer string) (map[string]string, error) {
	cps, err := s.st.Checkpoints(stream, consumer)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints of consumer %s on stream %s: %w", consumer, stream, err)
	}
	return cps, nil
}

func (s storeCheckpoints) Save(_ context.Context, stream, consumer string, cps map[string]string) error {
	for shard, seq := range cps {
		if err := s.st.SetCheckpoint(stream, consumer, shard, seq); err != nil {
			return fmt.Errorf("save checkpoint of consumer %s on %s/%s: %w", consumer, stream, shard, err)
		}
	}
	return nil
}

// checkpointsPath is kda's REST route for consumer checkpoints:
//
//	GET /v1/streams/{stream}/consumers/{consumer}/checkpoints → {"shardId-…": "seq", …}
//	PUT (same path) with {"shardId-…": "seq", …} → merges, answers with all of them
//
// When the server has keys, requests must be SigV4-signed with them, like
// Kinesis API calls.
func checkpointsPath(stream, consumer string) string {
	return "/v1/streams/" + url.PathEscape(stream) + "/consumers/" + url.PathEscape(consumer) + "/checkpoints"
}

// restError is the JSON body of a failed REST call.
type restError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// restCheckpoints keeps checkpoints on a kda server through its REST route.
type restCheckpoints struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	client   *http.Client
	errf     func(what string, err error) error
	// token, when set ($KDA_TOKEN), is sent as a bearer token instead of
	// a SigV4 signature (a server started with --token wants it).
	token string
}

func (c *restCheckpoints) Get(ctx context.Context, stream, consumer string) (map[string]string, error) {
	what := fmt.Sprintf("read checkpoints of consumer %s on stream %s", consumer, stream)
	return c.do(ctx, what, http.MethodGet, stream, consumer, nil)
}

func (c *restCheckpoints) Save(ctx context.Context, stream, consumer string, cps map[string]string) error {
	body, err := json.Marshal(cps)
	if err != nil {
		return fmt.Errorf("encode checkpoints: %w", err)
	}
	what := fmt.Sprintf("save checkpoints of consumer %s on stream %s", consumer, stream)
	_, err = c.do(ctx, what, http.MethodPut, stream, consumer, body)
	return err
}

func (c *restCheckpoints) do(ctx context.Context, what, method, stream, consumer string, body []byte) (map[string]string, error) {
	if c.endpoint == awsEndpoint {
		return nil, fmt.Errorf("%s: consumer checkpoints need a kda server (AWS has no checkpoint API); drop --consumer, or use a kda --endpoint", what)
	}
	u := strings.TrimRight(c.endpoint, "/") + checkpointsPath(stream, consumer)
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.sign(ctx, req, body); err != nil {
		return nil, fmt.Errorf("%s: sign request: %w", what, err)
	}
	hc := c.client
	if hc == nil {
		hc = &http.Client{Timeout: defaultCallTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.errf(what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: read response: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		var re restError
		if json.Unmarshal(data, &re) == nil && re.Error.Code != "" {
			return nil, &cliError{msg: fmt.Sprintf("%s: %s: %s", what, re.Error.Code, re.Error.Message)}
		}
		if resp.StatusCode == http.StatusNotFound {
			return nil, &cliError{msg: fmt.Sprintf("%s: %s has no checkpoint route (HTTP 404): consumer checkpoints need a kda server", what, c.endpoint)}
		}
		return nil, &cliError{msg: fmt.Sprintf("%s: HTTP %d: %s", what, resp.StatusCode, strings.TrimSpace(string(data)))}
	}
	out := map[string]string{}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: decode response: %w", what, err)
	}
	return out, nil
}

// sign signs a REST request with SigV4 exactly as the SDK signs Kinesis
// calls, so a server started with keys can check it.
func (c *restCheckpoints) sign(ctx context.Context, req *http.Request, body []byte) error {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
		return nil
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hash, "kinesis", c.region, time.Now().UTC())
}

// appsPath is the REST API's application routes (package restapi).
const appsPath = "/v1/apps"
