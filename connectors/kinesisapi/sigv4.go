package kinesisapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4 verification of the Authorization header, written
// from the SigV4 specification
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
//
//	canonical request = method \n canonical URI \n canonical query \n
//	                    canonical headers \n signed headers \n payload hash
//	string to sign    = AWS4-HMAC-SHA256 \n X-Amz-Date \n scope \n hex(sha256(canonical request))
//	signing key       = HMAC chain "AWS4"+secret → date → region → service → "aws4_request"
//	signature         = hex(HMAC(signing key, string to sign))
//
// Presigned (query-string) requests are not accepted: no Kinesis client
// sends them.

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Service    = "kinesis"
	sigV4Terminator = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	maxClockSkew    = 15 * time.Minute
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// sigV4Header is a parsed Authorization header.
type sigV4Header struct {
	accessKey     string
	date          string // YYYYMMDD of the credential scope
	region        string
	service       string
	terminator    string
	signedHeaders []string
	signature     string
}

func authError(code, msg string) error { return &apiError{Code: code, Message: msg} }

// parseAuthorization splits an Authorization header into its parts,
// answering IncompleteSignatureException for what is missing.
func parseAuthorization(header string) (sigV4Header, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if alg != sigV4Algorithm {
		return sigV4Header{}, authError(codeIncompleteSignature,
			"Unsupported AWS 'algorithm': '"+alg+"'. kda verifies "+sigV4Algorithm+" signatures only.")
	}
	// Parameters are separated by commas, spaces or both; their values
	// contain neither.
	params := map[string]string{}
	for _, part := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' }) {
		if k, v, ok := strings.Cut(part, "="); ok {
			params[k] = v
		}
	}
	var missing []string
	for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[p] == "" {
			missing = append(missing, "Authorization header requires '"+p+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return sigV4Header{}, authError(codeIncompleteSignature, strings.Join(missing, " ")+" Authorization="+header)
	}
	cred := strings.Split(params["Credential"], "/")
	if len(cred) != 5 || cred[0] == "" {
		return sigV4Header{}, authError(codeIncompleteSignature,
			"Authorization header's 'Credential' must be <access key>/<date>/<region>/<service>/aws4_request, got '"+params["Credential"]+"'.")
	}
	return sigV4Header{
		accessKey:     cred[0],
		date:          cred[1],
		region:        cred[2],
		service:       cred[3],
		terminator:    cred[4],
		signedHeaders: strings.Split(params["SignedHeaders"], ";"),
		signature:     params["Signature"],
	}, nil
}

// verifySigV4 checks a request's signature against the configured key pair.
func (h *handler) verifySigV4(r *http.Request, body []byte) error {
	return VerifySignature(r, body, h.opts)
}

// VerifySignature checks that r, whose body has already been read into body,
// carries a valid SigV4 signature for the "kinesis" service (or
// opts.SigningName) made with
// opts.AccessKey and opts.SecretKey (opts.Region, when set, is the only region
// accepted; opts.Now is the clock, default time.Now). kda serve uses it for
// its REST routes too, so every face checks signatures the same way. The
// error's text is AWS's; ErrorCode gives its AWS error code.
func VerifySignature(r *http.Request, body []byte, opts Options) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	service := opts.SigningName
	if service == "" {
		service = sigV4Service
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		if r.URL.Query().Get("X-Amz-Algorithm") != "" {
			return authError(codeIncompleteSignature, "kda does not accept presigned (query-string) requests; sign the Authorization header.")
		}
		return authError(codeMissingAuthToken, "Missing Authentication Token")
	}
	a, err := parseAuthorization(header)
	if err != nil {
		return err
	}
	if a.accessKey != opts.AccessKey {
		return authError(codeUnrecognizedClient, "The security token included in the request is invalid.")
	}

	// The signing time.
	dateText := r.Header.Get("X-Amz-Date")
	var signedAt time.Time
	switch {
	case dateText != "":
		signedAt, err = time.Parse(amzDateLayout, dateText)
		if err != nil {
			return authError(codeIncompleteSignature,
				"Date must be in ISO-8601 'basic format'. Got '"+dateText+"'. See http://en.wikipedia.org/wiki/ISO_8601")
		}
	case r.Header.Get("Date") != "":
		signedAt, err = http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			return authError(codeIncompleteSignature, "Date header is not a valid HTTP date: '"+r.Header.Get("Date")+"'.")
		}
		dateText = signedAt.UTC().Format(amzDateLayout)
	default:
		return authError(codeIncompleteSignature,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+header)
	}
	now := opts.Now().UTC()
	if signedAt.Before(now.Add(-maxClockSkew)) {
		return authError(codeInvalidSignature, "Signature expired: "+dateText+" is now earlier than "+
			now.Add(-maxClockSkew).Format(amzDateLayout)+" ("+now.Format(amzDateLayout)+" - 15 min.)")
	}
	if signedAt.After(now.Add(maxClockSkew)) {
		return authError(codeInvalidSignature, "Signature not yet current: "+dateText+" is still later than "+
			now.Add(maxClockSkew).Format(amzDateLayout)+" ("+now.Format(amzDateLayout)+" + 15 min.)")
	}

	// The credential scope.
	switch {
	case a.date != dateText[:8]:
		return authError(codeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
			a.date+"' != '"+dateText[:8]+"', from '"+dateText+"'.")
	case a.service != service:
		return authError(codeInvalidSignature, "Credential should be scoped to correct service: '"+service+"'. ")
	case a.terminator != sigV4Terminator:
		return authError(codeInvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+a.terminator+"'. ")
	case opts.Region != "" && a.region != opts.Region:
		return authError(codeInvalidSignature, "Credential should be scoped to a valid region, not '"+a.region+"'. ")
	case a.region == "":
		return authError(codeInvalidSignature, "Credential should be scoped to a valid region, not ''. ")
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return authError(codeInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}

	// The payload hash: the declared one must match the body unless the
	// client chose not to sign the payload.
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if declared := r.Header.Get("X-Amz-Content-Sha256"); declared != "" {
		if declared != unsignedPayload && !strings.EqualFold(declared, payloadHash) {
			return authError(codeInvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		payloadHash = strings.ToLower(declared)
		if declared == unsignedPayload {
			payloadHash = unsignedPayload
		}
	}

	canonical := canonicalRequest(r, a.signedHeaders, payloadHash)
	scope := a.date + "/" + a.region + "/" + a.service + "/" + sigV4Terminator
	crHash := sha256.Sum256([]byte(canonical))
	stringToSign := sigV4Algorithm + "\n" + dateText + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := signingKey(opts.SecretKey, a.date, a.region, a.service)
	want := hex.EncodeToString(hmacSHA256(key, []byte(stringToSign)))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(a.signature))) {
		return authError(codeInvalidSignature, "The request signature we calculated does not match the signature you provided. "+
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

// canonicalRequest builds the SigV4 canonical request of r.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(sigV4Escape(path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalHeaderValue is a header's values, each trimmed with inner runs of
// spaces collapsed, joined by commas. Go's server moves Host and
// Content-Length out of the header map; they are read back from the request.
func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = collapseSpaces(v)
	}
	return strings.Join(values, ",")
}

func collapseSpaces(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// canonicalQuery encodes every name and value, then sorts the pairs by
// encoded name and value, as SigV4 requires.
func canonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		ek := sigV4Escape(k, true)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, sigV4Escape(v, true)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// sigV4Escape percent-encodes every byte except the RFC 3986 unreserved
// characters (and '/', unless encodeSlash).
func sigV4Escape(s string, encodeSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte(sigV4Terminator))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
