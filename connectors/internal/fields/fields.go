// Package fields reads the top-level fields of JSON records for record
// sinks: a sink that maps a record to a table row, a sorted-set member or
// a message subject finds the record's fields here, and renders names
// like "leaderboard:{SECTOR}" with Template. Application outputs are JSON
// objects whose keys are the SQL column names (upper case unless quoted),
// so a lookup tries the exact name first and then ignores case.
package fields

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Object decodes a record that must be one JSON object. Numbers stay
// json.Number, so that integers keep every digit.
func Object(data []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, fmt.Errorf("record is not a JSON object: %w", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("record is not a JSON object: null")
	}
	return obj, nil
}

// Lookup finds a field by its exact name, else ignoring case.
func Lookup(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// String renders a field's value as text: strings as they are, numbers
// as written, booleans as true/false, objects and arrays as JSON, null as
// the empty string.
func String(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Template is text with {FIELD} references; {{ and }} are literal braces.
type Template struct {
	parts []part
}

type part struct {
	text  string
	field bool
}

// ParseTemplate parses s, naming the position of a bad brace.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template %q: '{' at offset %d is not closed", s, i)
			}
			name := strings.TrimSpace(s[i+1 : i+end])
			if name == "" {
				return nil, fmt.Errorf("template %q: empty field name at offset %d", s, i)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{text: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, part{text: name, field: true})
			i += end
		case c == '}':
			return nil, fmt.Errorf("template %q: '}' at offset %d has no '{' (write }} for a brace)", s, i)
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{text: lit.String()})
	}
	return t, nil
}

// Fields lists the field names the template uses.
func (t *Template) Fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.field {
			out = append(out, p.text)
		}
	}
	return out
}

// Render fills the template from obj; a missing field is an error.
func (t *Template) Render(obj map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if !p.field {
			b.WriteString(p.text)
			continue
		}
		v, ok := Lookup(obj, p.text)
		if !ok {
			return "", fmt.Errorf("field %s is not in the record", p.text)
		}
		b.WriteString(String(v))
	}
	return b.String(), nil
}

// Fill maps every field the template uses to v: rendering with it shows
// the template's fixed parts (connectors use it to check a template's
// shape before any record arrives).
func (t *Template) Fill(v string) map[string]any {
	m := map[string]any{}
	for _, f := range t.Fields() {
		m[f] = v
	}
	return m
}
