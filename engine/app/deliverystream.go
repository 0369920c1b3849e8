package app

// Delivery streams declared inline in an application's outputs
// (outputs[].deliveryStream). The manager creates such a delivery stream
// when it checks the definition (on create and update) if none of that
// name exists; when one exists, its definition must be the same, so that
// an application never silently writes to a delivery stream configured
// otherwise. Deleting the application keeps the delivery stream: records
// may still be waiting in it (delete it with kda delivery delete).

import (
	"encoding/json"
	"errors"
	"fmt"

	firehose "github.com/kdaproject/kda/connectors/delivery"
)

func (m *Manager) ensureDeliveryStreams(def Definition) error {
	for i, o := range def.Outputs {
		if o.DeliveryStream == nil {
			continue
		}
		at := fmt.Sprintf("outputs[%d].deliveryStream", i)
		if m.opts.Deliveries == nil {
			return fmt.Errorf("%w: %s: this engine runs no delivery streams", ErrInvalid, at)
		}
		want := *o.DeliveryStream
		d, err := m.opts.Deliveries.Describe(want.DeliveryStreamName)
		var de *firehose.Error
		switch {
		case err == nil:
			if !sameDefinition(d.Definition, want) {
				return fmt.Errorf("%w: %s: delivery stream %s exists with another definition; delete it first (kda delivery delete %s) or name it with outputs[%d].delivery",
					ErrInvalid, at, want.DeliveryStreamName, want.DeliveryStreamName, i)
			}
		case errors.As(err, &de) && de.Code == firehose.CodeResourceNotFound:
			if _, err := m.opts.Deliveries.Create(want); err != nil {
				if errors.As(err, &de) && de.Code == firehose.CodeInvalidArgument {
					return fmt.Errorf("%w: %s: %s", ErrInvalid, at, de.Message)
				}
				return fmt.Errorf("%s: create delivery stream %s: %w", at, want.DeliveryStreamName, err)
			}
		default:
			return fmt.Errorf("%s: %w", at, err)
		}
	}
	return nil
}

// sameDefinition compares two delivery stream definitions as JSON.
func sameDefinition(a, b firehose.Definition) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
