package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Secrets in configurations. A sink's Config (and an application's input
// source config, or a reference table's DSN) may carry secrets: a webhook's
// signing secret, Authorization header and URL, passwords of PostgreSQL,
// Redis, RabbitMQ, NATS or MQTT, S3 keys. Everything that shows a
// configuration back to a user (REST, the Firehose API, the CLI through
// REST) shows Redacted copies, with Mask in place of each secret; the
// stored definition keeps the values. An update that sends the mask back,
// or leaves a secret field out, keeps the stored secret (KeepSecrets).
//
// A secret is:
//
//	a field whose name holds password, passwd, secret, token, apikey,
//	accesskey, privatekey, passphrase or credential (any case, '-' and '_'
//	ignored): S3's accessKey is masked with its secretKey;
//	a value in a "headers" object whose header name holds auth, token,
//	secret, key, cookie, password, signature or session;
//	in any string:
//	  the password of a URL (scheme://user:password@host, redis://:pw@host);
//	  password=… in a key=value DSN;
//	  a secret query parameter of a URL (secretQueryParam: ?token=…,
//	  ?key=…, ?sig=…, ?access_token=…, ?password=…, …);
//	  the path segments of a webhook URL that follow its marker segment
//	  (webhookPathSecrets: hooks.slack.com/services/T…/B…/…,
//	  discord.com/api/webhooks/…/…, …/hooks/…, …/webhook/…).
//
// Secrets in strings are found by secretFinders, each a list of spans;
// RestoreString puts a stored string's secrets back, span by span in
// order, where an update gives the mask.

// Mask is what is shown in place of a secret.
const Mask = "****"

var (
	secretFieldWords  = []string{"password", "passwd", "secret", "token", "apikey", "accesskey", "privatekey", "passphrase", "credential"}
	secretHeaderWords = []string{"auth", "token", "secret", "key", "cookie", "password", "signature", "session"}

	// Each of these finds a secret in a string as its group 2 (group 1
	// is what precedes it).
	//
	// urlPasswordRE: the password of a URL's userinfo.
	urlPasswordRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@,]*:)([^\s@/,]*)@`)
	// dsnPasswordRE: password=… in a key=value DSN (quoted or not).
	dsnPasswordRE = regexp.MustCompile(`(?i)((?:^|\s)(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.|'')*'|[^\s']+)`)
	// queryParamRE: a query parameter of a URL, name = group 1 and value
	// = group 2 (secretQueryParam says which are secrets).
	queryParamRE = regexp.MustCompile(`[?&]([^=&#\s"'<>]+)=([^&\s#"'<>]*)`)
	// urlPathRE: a URL with a path: group 1 its host (with any userinfo
	// and port), group 2 its path.
	urlPathRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://([^\s/?#"'<>,]+)(/[^\s?#"'<>,]*)`)

	// secretQueryWords: a query parameter whose name (lower case, '-' and
	// '_' ignored) holds one of these is a secret; secretQueryNames: one
	// whose name is one of these.
	secretQueryWords = []string{"password", "passwd", "secret", "token", "apikey", "accesskey", "privatekey", "signature", "credential"}
	secretQueryNames = []string{"key", "sig", "auth", "pwd", "code"}

	// webhookMarkers are path segments (any case) after which a webhook
	// URL's path is its secret; slackMarker is one only on a "hooks." host
	// (hooks.slack.com/services/T…/B…/secret).
	webhookMarkers = []string{"hooks", "webhooks", "webhook", "webhookb2", "incomingwebhook"}
	slackMarker    = "services"

	secretFinders = []secretFinder{regexGroup2(urlPasswordRE), regexGroup2(dsnPasswordRE), queryParamSecrets, webhookPathSecrets}
)

// A secretFinder returns the spans [start, end) of the secrets in s, in
// the order they occur.
type secretFinder func(s string) [][2]int

// regexGroup2 finds the secrets of re, each its group 2.
func regexGroup2(re *regexp.Regexp) secretFinder {
	return func(s string) [][2]int {
		var spans [][2]int
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			spans = append(spans, [2]int{m[4], m[5]})
		}
		return spans
	}
}

// queryParamSecrets finds the values of secret query parameters.
func queryParamSecrets(s string) [][2]int {
	var spans [][2]int
	for _, m := range queryParamRE.FindAllStringSubmatchIndex(s, -1) {
		if secretQueryParam(s[m[2]:m[3]]) && m[5] > m[4] {
			spans = append(spans, [2]int{m[4], m[5]})
		}
	}
	return spans
}

// secretQueryParam reports whether a URL query parameter of this name
// holds a secret: token, access_token, key, api-key, sig, signature,
// X-Amz-Signature, X-Amz-Credential, password, client_secret, code, ….
func secretQueryParam(name string) bool {
	n := normalizedName(name)
	return containsAny(n, secretQueryWords) || slices.Contains(secretQueryNames, n)
}

// webhookPathSecrets finds the path segments of webhook URLs that follow
// the first marker segment (see webhookMarkers), each a secret of its
// own; empty segments and markers themselves are not secrets.
func webhookPathSecrets(s string) [][2]int {
	var spans [][2]int
	for _, m := range urlPathRE.FindAllStringSubmatchIndex(s, -1) {
		host := s[m[2]:m[3]]
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
		slack := strings.HasPrefix(strings.ToLower(host), "hooks.")
		secret := false
		start := m[4] + 1 // after the path's leading '/'
		for start <= m[5] {
			end := strings.IndexByte(s[start:m[5]], '/')
			if end < 0 {
				end = m[5]
			} else {
				end += start
			}
			seg := strings.ToLower(s[start:end])
			switch {
			case slices.Contains(webhookMarkers, seg) || slack && seg == slackMarker:
				secret = true
			case secret && seg != "":
				spans = append(spans, [2]int{start, end})
			}
			start = end + 1
		}
	}
	return spans
}

// replaceSpans returns s with the text of each span (in order, not
// overlapping) replaced by repl(k, text) for the span's index k.
func replaceSpans(s string, spans [][2]int, repl func(k int, text string) string) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for k, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(repl(k, s[sp[0]:sp[1]]))
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func normalizedName(name string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(name))
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// IsSecretField reports whether a configuration field of this name holds a
// secret.
func IsSecretField(name string) bool { return containsAny(normalizedName(name), secretFieldWords) }

func isSecretHeader(name string) bool { return containsAny(normalizedName(name), secretHeaderWords) }

// RedactString masks the secrets of URLs and DSNs in s (and nothing
// else): postgres://app:pw@db/x becomes postgres://app:****@db/x,
// https://h/x?token=t https://h/x?token=****, and
// https://hooks.slack.com/services/T1/B2/s3 becomes
// https://hooks.slack.com/services/****/****/****.
func RedactString(s string) string {
	for _, find := range secretFinders {
		s = replaceSpans(s, find(s), func(int, string) string { return Mask })
	}
	return s
}

// RestoreString gives the masked secrets of upd (as RedactString masks
// them) the values they have in old, in order: describe's
// postgres://app:****@db/x sent back keeps the stored password, and a
// webhook URL shown as https://hooks.slack.com/services/****/****/****
// sent back keeps the stored one. It fails when upd has a mask old has no
// value for.
func RestoreString(old, upd string) (string, error) {
	if !strings.Contains(upd, Mask) {
		return upd, nil
	}
	var err error
	for _, find := range secretFinders {
		var values []string
		for _, sp := range find(old) {
			values = append(values, old[sp[0]:sp[1]])
		}
		upd = replaceSpans(upd, find(upd), func(k int, text string) string {
			switch {
			case text != Mask:
				return text
			case k >= len(values):
				if err == nil {
					err = fmt.Errorf("%q holds the mask %s that describe shows in place of a secret, and there is no stored secret to keep; give the value", RedactString(upd), Mask)
				}
				return text
			}
			return values[k]
		})
	}
	return upd, err
}

// RedactConfig returns a JSON configuration with every secret masked. A
// configuration that is not JSON is returned masked as a whole string
// would be.
func RedactConfig(config json.RawMessage) json.RawMessage {
	if len(config) == 0 {
		return config
	}
	v, err := decodeConfig(config)
	if err != nil {
		b, _ := marshalConfig(RedactString(string(config)))
		return b
	}
	out, err := marshalConfig(redactValue(v, false))
	if err != nil {
		return json.RawMessage(`"` + Mask + `"`)
	}
	return out
}

func decodeConfig(config json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(config))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// redactValue masks v; headers says v is the object of a "headers" field.
func redactValue(v any, headers bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			switch {
			case isSecretValue(k, e, headers):
				out[k] = Mask
			default:
				out[k] = redactValue(e, strings.EqualFold(k, "headers"))
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, false)
		}
		return out
	case string:
		return RedactString(x)
	}
	return v
}

// isSecretValue says whether field k (of a headers object when headers)
// with value e is masked whole: a secret that is set (an empty string or
// null stays as it is, so describe shows that none is set).
func isSecretValue(k string, e any, headers bool) bool {
	if s, ok := e.(string); (ok && s == "") || e == nil {
		return false
	}
	if headers {
		return isSecretHeader(k)
	}
	switch e.(type) {
	case map[string]any, []any:
		return false // e.g. "credentials": {...}: look inside
	}
	return IsSecretField(k)
}

// RestoreConfig returns upd with the secrets of old kept: a secret upd
// gives as Mask (whole, or as a URL's or DSN's password) takes old's value,
// and a secret field upd leaves out of an object takes old's value too. An
// empty secret in upd removes it. It fails, naming the field, when upd
// holds a mask old has no value for.
func RestoreConfig(old, upd json.RawMessage) (json.RawMessage, error) {
	if len(upd) == 0 || !bytes.Contains(upd, []byte(Mask)) && len(old) == 0 {
		return upd, nil
	}
	nv, err := decodeConfig(upd)
	if err != nil {
		return upd, nil // the connector reports what is wrong with it
	}
	var ov any
	if len(old) > 0 {
		if ov, err = decodeConfig(old); err != nil {
			ov = nil
		}
	}
	changed := false
	restored, err := restoreValue(ov, nv, "", false, &changed)
	if err != nil {
		return nil, err
	}
	if !changed {
		return upd, nil
	}
	return marshalConfig(restored)
}

// marshalConfig encodes a configuration as it was given: a URL's '&'
// stays '&' rather than \u0026.
func marshalConfig(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func restoreValue(old, upd any, at string, headers bool, changed *bool) (any, error) {
	switch n := upd.(type) {
	case map[string]any:
		o, _ := old.(map[string]any)
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			field := strings.TrimPrefix(at+"."+k, ".")
			secret := headers && isSecretHeader(k) || !headers && IsSecretField(k)
			if s, ok := n[k].(string); ok && s == Mask && secret {
				prev, ok := o[k]
				if !ok {
					return nil, fmt.Errorf("%s: %q is the mask describe shows in place of a secret, and there is no stored secret to keep; give the value", field, Mask)
				}
				n[k], *changed = prev, true
				continue
			}
			v, err := restoreValue(o[k], n[k], field, strings.EqualFold(k, "headers"), changed)
			if err != nil {
				return nil, err
			}
			n[k] = v
		}
		if !headers {
			// A secret field left out keeps its value; "" removes it.
			for k, prev := range o {
				if _, given := n[k]; !given && IsSecretField(k) {
					n[k], *changed = prev, true
				}
			}
		}
		return n, nil
	case []any:
		o, _ := old.([]any)
		for i := range n {
			var prev any
			if i < len(o) {
				prev = o[i]
			}
			v, err := restoreValue(prev, n[i], fmt.Sprintf("%s[%d]", at, i), false, changed)
			if err != nil {
				return nil, err
			}
			n[i] = v
		}
		return n, nil
	case string:
		if !strings.Contains(n, Mask) {
			return n, nil
		}
		prev, _ := old.(string)
		s, err := RestoreString(prev, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if s != n {
			*changed = true
		}
		return s, nil
	}
	return upd, nil
}

// Redacted returns a copy of d with its sink's secrets masked; d is not
// changed.
func (d Definition) Redacted() Definition {
	if s := d.SinkDestination; s != nil {
		c := *s
		c.Config = RedactConfig(s.Config)
		d.SinkDestination = &c
	}
	return d
}

// Redacted returns a copy of d to show a user: its definition's secrets
// masked, and URL passwords masked in its error messages (a driver's error
// may quote the URL it dialled).
func (d Description) Redacted() Description {
	d.Definition = d.Definition.Redacted()
	d.FailureDescription = RedactString(d.FailureDescription)
	d.Metrics.LastError = RedactString(d.Metrics.LastError)
	return d
}

// KeepSecrets returns def with the secrets of old kept where def gives
// Mask or leaves a secret field out (see RestoreConfig). It applies when
// both have a sink of the same type; a new destination keeps nothing.
func KeepSecrets(old, def Definition) (Definition, error) {
	o, n := old.SinkDestination, def.SinkDestination
	if o == nil || n == nil || n.Type != o.Type {
		return def, nil
	}
	cfg, err := RestoreConfig(o.Config, n.Config)
	if err != nil {
		return Definition{}, invalid("SinkDestination.Config.%v", err)
	}
	c := *n
	c.Config = cfg
	def.SinkDestination = &c
	return def, nil
}

// maskedSecret names a secret of def's sink that is the mask itself ("" if
// none is): a definition copied from describe into a new delivery stream
// has no stored secret to take.
func maskedSecret(def Definition) string {
	s := def.SinkDestination
	if s == nil || !bytes.Contains(s.Config, []byte(Mask)) {
		return ""
	}
	if _, err := RestoreConfig(nil, s.Config); err != nil {
		return err.Error()
	}
	return ""
}
