package restapi

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kdaproject/kda/connectors/delivery"
	kdaapp "github.com/kdaproject/kda/engine/app"
)

// An application's definition may carry secrets in three places: its
// input source's config (e.g. an MQTT password), the sink config of a
// delivery stream declared inline in an output, and a postgres reference
// table's DSN. The routes show them masked, with the masking rules of
// package delivery (delivery.RedactConfig, delivery.RedactString), and an
// update keeps what it sends back masked (keepAppSecrets).

// redactedApp returns d with its definition's secrets masked (and URL
// passwords masked in its error messages); d's definition is not changed.
func redactedApp(d kdaapp.Description) kdaapp.Description {
	d.Definition = redactedAppDefinition(d.Definition)
	d.Error = delivery.RedactString(d.Error)
	if d.Source != nil {
		s := *d.Source
		s.LastError = delivery.RedactString(s.LastError)
		d.Source = &s
	}
	if len(d.ReferenceTables) > 0 {
		d.ReferenceTables = slices.Clone(d.ReferenceTables)
		for i := range d.ReferenceTables {
			d.ReferenceTables[i].LastError = delivery.RedactString(d.ReferenceTables[i].LastError)
		}
	}
	return d
}

func redactedAppDefinition(def kdaapp.Definition) kdaapp.Definition {
	if src := def.Input.Source; src != nil {
		c := *src
		c.Config = delivery.RedactConfig(src.Config)
		def.Input.Source = &c
	}
	if len(def.Outputs) > 0 {
		def.Outputs = slices.Clone(def.Outputs)
		for i, o := range def.Outputs {
			if o.DeliveryStream != nil {
				r := o.DeliveryStream.Redacted()
				def.Outputs[i].DeliveryStream = &r
			}
		}
	}
	if len(def.ReferenceTables) > 0 {
		def.ReferenceTables = slices.Clone(def.ReferenceTables)
		for i, t := range def.ReferenceTables {
			if p := t.Source.Postgres; p != nil {
				c := *p
				c.DSN = delivery.RedactString(p.DSN)
				def.ReferenceTables[i].Source.Postgres = &c
			}
		}
	}
	return def
}

// keepAppSecrets returns def, an update of the application old, with the
// secrets def gives masked (or leaves out) taken from old: the input
// source's config (same kind), each inline delivery stream's sink config
// (the output of the same name), each postgres table's DSN (the table of
// the same name; a DSN left out keeps the old one).
func keepAppSecrets(old, def kdaapp.Definition) (kdaapp.Definition, error) {
	if o, n := old.Input.Source, def.Input.Source; o != nil && n != nil && o.Kind == n.Kind {
		cfg, err := delivery.RestoreConfig(o.Config, n.Config)
		if err != nil {
			return def, fmt.Errorf("input.source.config.%w", err)
		}
		c := *n
		c.Config = cfg
		def.Input.Source = &c
	}
	if len(def.Outputs) > 0 {
		def.Outputs = slices.Clone(def.Outputs)
		for i, o := range def.Outputs {
			if o.DeliveryStream == nil {
				continue
			}
			for _, prev := range old.Outputs {
				if prev.Name != o.Name || prev.DeliveryStream == nil {
					continue
				}
				ds, err := delivery.KeepSecrets(*prev.DeliveryStream, *o.DeliveryStream)
				if de := (*delivery.Error)(nil); errors.As(err, &de) {
					return def, fmt.Errorf("outputs[%d].deliveryStream.%s", i, de.Message)
				} else if err != nil {
					return def, fmt.Errorf("outputs[%d].deliveryStream: %w", i, err)
				}
				def.Outputs[i].DeliveryStream = &ds
			}
		}
	}
	if len(def.ReferenceTables) > 0 {
		def.ReferenceTables = slices.Clone(def.ReferenceTables)
		for i, t := range def.ReferenceTables {
			p := t.Source.Postgres
			if p == nil {
				continue
			}
			for _, prev := range old.ReferenceTables {
				if prev.Name != t.Name || prev.Source.Postgres == nil {
					continue
				}
				c := *p
				if c.DSN == "" {
					c.DSN = prev.Source.Postgres.DSN
				}
				dsn, err := delivery.RestoreString(prev.Source.Postgres.DSN, c.DSN)
				if err != nil {
					return def, fmt.Errorf("referenceTables[%d].source.postgres.dsn: %w", i, err)
				}
				c.DSN = dsn
				def.ReferenceTables[i].Source.Postgres = &c
			}
		}
	}
	return def, nil
}
