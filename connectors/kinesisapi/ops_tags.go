package kinesisapi

import (
	"slices"
)

// Tag operations, both the stream-named ones and the ARN-named
// (TagResource) ones.

const maxListTagsLimit = 50

type addTagsInput struct {
	streamRef
	Tags map[string]string `json:"Tags"`
}

func (in *addTagsInput) validate(v *violations) {
	in.check(v)
	v.notNull("tags", in.Tags == nil)
}

func (h *handler) addTags(in *addTagsInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.AddTags(name, in.Tags)
}

type removeTagsInput struct {
	streamRef
	TagKeys []string `json:"TagKeys"`
}

func (in *removeTagsInput) validate(v *violations) {
	in.check(v)
	v.notNull("tagKeys", in.TagKeys == nil)
}

func (h *handler) removeTags(in *removeTagsInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.RemoveTags(name, in.TagKeys)
}

type listTagsInput struct {
	streamRef
	ExclusiveStartTagKey *string `json:"ExclusiveStartTagKey"`
	Limit                *int    `json:"Limit"`
}

func (in *listTagsInput) validate(v *violations) {
	in.check(v)
	v.strLen("exclusiveStartTagKey", in.ExclusiveStartTagKey, 1, 128)
	v.intRange("limit", in.Limit, 1, maxListTagsLimit)
}

type listTagsOutput struct {
	Tags        []tagOut `json:"Tags"`
	HasMoreTags bool     `json:"HasMoreTags"`
}

func (h *handler) listTags(in *listTagsInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	tags, err := h.st.ListTags(name)
	if err != nil {
		return nil, err
	}
	sorted := sortedTags(tags)
	if in.ExclusiveStartTagKey != nil {
		i, found := slices.BinarySearchFunc(sorted, *in.ExclusiveStartTagKey, func(t tagOut, k string) int {
			switch {
			case t.Key < k:
				return -1
			case t.Key > k:
				return 1
			}
			return 0
		})
		if found {
			i++
		}
		sorted = sorted[i:]
	}
	limit := maxListTagsLimit
	if in.Limit != nil {
		limit = *in.Limit
	}
	out := listTagsOutput{Tags: sorted}
	if len(sorted) > limit {
		out.Tags, out.HasMoreTags = sorted[:limit], true
	}
	return out, nil
}

func sortedTags(tags map[string]string) []tagOut {
	out := make([]tagOut, 0, len(tags))
	for k, v := range tags {
		out = append(out, tagOut{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b tagOut) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}

// ---- ARN-named tag operations

type tagResourceInput struct {
	ResourceARN *string           `json:"ResourceARN"`
	Tags        map[string]string `json:"Tags"`
}

func (in *tagResourceInput) validate(v *violations) {
	v.notNull("resourceARN", in.ResourceARN == nil)
	v.notNull("tags", in.Tags == nil)
}

func (h *handler) tagResource(in *tagResourceInput) (any, error) {
	name, err := h.st.StreamNameFromARN(*in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return nil, h.st.AddTags(name, in.Tags)
}

type untagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

func (in *untagResourceInput) validate(v *violations) {
	v.notNull("resourceARN", in.ResourceARN == nil)
	v.notNull("tagKeys", in.TagKeys == nil)
}

func (h *handler) untagResource(in *untagResourceInput) (any, error) {
	name, err := h.st.StreamNameFromARN(*in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return nil, h.st.RemoveTags(name, in.TagKeys)
}

type listTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
}

func (in *listTagsForResourceInput) validate(v *violations) {
	v.notNull("resourceARN", in.ResourceARN == nil)
}

type listTagsForResourceOutput struct {
	Tags []tagOut `json:"Tags"`
}

func (h *handler) listTagsForResource(in *listTagsForResourceInput) (any, error) {
	name, err := h.st.StreamNameFromARN(*in.ResourceARN)
	if err != nil {
		return nil, err
	}
	tags, err := h.st.ListTags(name)
	if err != nil {
		return nil, err
	}
	return listTagsForResourceOutput{Tags: sortedTags(tags)}, nil
}
