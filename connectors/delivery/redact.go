package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Secrets in configurations. A sink's Config (and an application's input
// source config, or a reference table's DSN) may carry secrets: a webhook's
// signing secret and Authorization header, passwords of PostgreSQL, Redis,
// RabbitMQ, NATS or MQTT, S3 secret keys. Everything that shows a
// configuration back to a user (REST, the Firehose API, the CLI through
// REST) shows Redacted copies, with Mask in place of each secret; the
// stored definition keeps the values. An update that sends the mask back,
// or leaves a secret field out, keeps the stored secret (KeepSecrets).
//
// A secret is:
//
//	a field whose name holds password, passwd, secret, token, apikey,
//	privatekey, passphrase or credential (any case, '-' and '_' ignored);
//	a value in a "headers" object whose header name holds auth, token,
//	secret, key, cookie, password, signature or session;
//	the password of a URL (scheme://user:password@host, redis://:pw@host);
//	password=… in a key=value DSN, and password, token, secret or key
//	query parameters of a URL.

// Mask is what is shown in place of a secret.
const Mask = "****"

var (
	secretFieldWords  = []string{"password", "passwd", "secret", "token", "apikey", "privatekey", "passphrase", "credential"}
	secretHeaderWords = []string{"auth", "token", "secret", "key", "cookie", "password", "signature", "session"}

	// Each of these finds a secret in a string: group 1 is what precedes
	// it, group 2 the secret, group 3 what follows it.
	//
	// urlPasswordRE: the password of a URL's userinfo.
	urlPasswordRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@,]*:)([^\s@/,]*)(@)`)
	// dsnPasswordRE: password=… in a key=value DSN (quoted or not).
	dsnPasswordRE = regexp.MustCompile(`(?i)((?:^|\s)(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.|'')*'|[^\s']+)()`)
	// queryPasswordRE: secret query parameters of a URL.
	queryPasswordRE = regexp.MustCompile(`(?i)([?&](?:ssl)?(?:password|passwd|token|secret|api[_-]?key|access[_-]?token|auth)=)([^&\s#]*)()`)
	stringSecretREs = []*regexp.Regexp{urlPasswordRE, dsnPasswordRE, queryPasswordRE}
)

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

// RedactString masks the passwords of URLs and DSNs in s (and nothing
// else): postgres://app:pw@db/x becomes postgres://app:****@db/x.
func RedactString(s string) string {
	for _, re := range stringSecretREs {
		s = re.ReplaceAllString(s, "${1}"+Mask+"${3}")
	}
	return s
}

// RestoreString gives the masked passwords of upd (as RedactString masks
// them) the values they have in old, in order: describe's
// postgres://app:****@db/x sent back keeps the stored password. It fails
// when upd has a mask old has no value for.
func RestoreString(old, upd string) (string, error) {
	if !strings.Contains(upd, Mask) {
		return upd, nil
	}
	var err error
	for _, re := range stringSecretREs {
		values := re.FindAllStringSubmatch(old, -1)
		i := 0
		upd = re.ReplaceAllStringFunc(upd, func(m string) string {
			sub := re.FindStringSubmatch(m)
			k := i
			i++
			if sub[2] != Mask {
				return m
			}
			if k >= len(values) {
				err = fmt.Errorf("%q holds the mask %s that describe shows in place of a password, and there is no stored password to keep; give the password", RedactString(upd), Mask)
				return m
			}
			return sub[1] + values[k][2] + sub[3]
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
		b, _ := json.Marshal(RedactString(string(config)))
		return b
	}
	out, err := json.Marshal(redactValue(v, false))
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
	return json.Marshal(restored)
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
