package store

import (
	"maps"
	"regexp"
)

// MaxTagsPerStream is how many tags one stream may carry.
const MaxTagsPerStream = 50

var tagKeyRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
var tagValueRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)

func copyTags(t map[string]string) map[string]string {
	if len(t) == 0 {
		return nil
	}
	return maps.Clone(t)
}

func validateTags(tags map[string]string, existing int) error {
	if existing+len(tags) > MaxTagsPerStream {
		return errf(CodeInvalidArgument, "Failed to add tags: a stream may have at most %d tags.", MaxTagsPerStream)
	}
	for k, v := range tags {
		if !tagKeyRE.MatchString(k) {
			return errf(CodeInvalidArgument, "Tag key %q must be 1 to 128 letters, digits, spaces or _.:/=+-@.", k)
		}
		if !tagValueRE.MatchString(v) {
			return errf(CodeInvalidArgument, "Tag value %q of key %q must be at most 256 letters, digits, spaces or _.:/=+-@.", v, k)
		}
	}
	return nil
}

// AddTags adds or overwrites tags on a stream.
func (s *Store) AddTags(streamName string, tags map[string]string) error {
	return s.updateStream(streamName, func(st *stream) error {
		added := 0
		for k := range tags {
			if _, ok := st.meta.Tags[k]; !ok {
				added++
			}
		}
		if len(tags) == 0 {
			return errf(CodeValidation, "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		if err := validateTags(tags, len(st.meta.Tags)+added-len(tags)); err != nil {
			return err
		}
		if st.meta.Tags == nil {
			st.meta.Tags = map[string]string{}
		}
		maps.Copy(st.meta.Tags, tags)
		return s.saveMeta(st)
	})
}

// RemoveTags removes tags by key; unknown keys are ignored.
func (s *Store) RemoveTags(streamName string, keys []string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	st, err := s.lookup(streamName)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errf(CodeValidation, "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, k := range keys {
		delete(st.meta.Tags, k)
	}
	return s.saveMeta(st)
}

// ListTags returns a copy of a stream's tags.
func (s *Store) ListTags(streamName string) (map[string]string, error) {
	st, err := s.lookup(streamName)
	if err != nil {
		return nil, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := maps.Clone(st.meta.Tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}
