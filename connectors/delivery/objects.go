package delivery

import (
	"context"
	"fmt"
)

// OpenObjectStore opens a new handle on the object store ExtendedS3
// destinations write to (ManagerOptions.ObjectStoreKind and
// ObjectStoreConfig), for readers beside the workers, such as an
// application's reference tables reading s3 sources. The caller closes it.
func (m *Manager) OpenObjectStore(ctx context.Context) (ObjectStore, error) {
	c, ok := m.opts.Registry.Lookup(m.opts.ObjectStoreKind)
	if !ok || c.OpenStore == nil {
		return nil, fmt.Errorf("the object store %q is not registered: the engine must register it", m.opts.ObjectStoreKind)
	}
	s, err := c.OpenStore(ctx, m.opts.ObjectStoreConfig)
	if err != nil {
		return nil, fmt.Errorf("open the object store %q: %w", m.opts.ObjectStoreKind, err)
	}
	return s, nil
}
