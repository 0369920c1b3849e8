package kinesisapi

import (
	"slices"
	"strings"

	"github.com/kdaproject/kda/engine/store"
)

// Enhanced fan-out consumer registry operations. A registered consumer can
// SubscribeToShard (subscribe.go) and keeps server-side checkpoints.

const defaultListConsumersLimit = 100

type registerConsumerInput struct {
	StreamARN    *string           `json:"StreamARN"`
	ConsumerName *string           `json:"ConsumerName"`
	Tags         map[string]string `json:"Tags"`
}

func (in *registerConsumerInput) validate(v *violations) {
	v.notNull("streamARN", in.StreamARN == nil)
	v.notNull("consumerName", in.ConsumerName == nil)
	v.strLen("consumerName", in.ConsumerName, 1, 128)
}

type registerConsumerOutput struct {
	Consumer consumerOut `json:"Consumer"`
}

func (h *handler) registerConsumer(in *registerConsumerInput) (any, error) {
	if len(in.Tags) > 0 {
		return nil, unsupported("tagging consumers")
	}
	c, err := h.st.RegisterConsumer(*in.StreamARN, *in.ConsumerName)
	if err != nil {
		return nil, err
	}
	return registerConsumerOutput{Consumer: consumerToOut(c, false)}, nil
}

// consumerRef names a consumer by ARN, or by stream ARN and name.
type consumerRef struct {
	StreamARN    *string `json:"StreamARN"`
	ConsumerName *string `json:"ConsumerName"`
	ConsumerARN  *string `json:"ConsumerARN"`
}

func (in *consumerRef) validate(v *violations) {
	v.strLen("consumerName", in.ConsumerName, 1, 128)
	v.strLen("consumerARN", in.ConsumerARN, 1, 2048)
	v.strLen("streamARN", in.StreamARN, 1, 2048)
}

func (in *consumerRef) check() error {
	if in.ConsumerARN == nil && (in.StreamARN == nil || in.ConsumerName == nil) {
		return invalidArgument("Provide either ConsumerARN, or both StreamARN and ConsumerName.")
	}
	return nil
}

type deregisterConsumerInput struct{ consumerRef }

func (h *handler) deregisterConsumer(in *deregisterConsumerInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	return nil, h.st.DeregisterConsumer(deref(in.StreamARN), deref(in.ConsumerName), deref(in.ConsumerARN))
}

type describeConsumerInput struct{ consumerRef }

type describeConsumerOutput struct {
	ConsumerDescription consumerOut `json:"ConsumerDescription"`
}

func (h *handler) describeConsumer(in *describeConsumerInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	c, err := h.st.DescribeConsumer(deref(in.StreamARN), deref(in.ConsumerName), deref(in.ConsumerARN))
	if err != nil {
		return nil, err
	}
	return describeConsumerOutput{ConsumerDescription: consumerToOut(c, true)}, nil
}

type listConsumersInput struct {
	StreamARN               *string   `json:"StreamARN"`
	NextToken               *string   `json:"NextToken"`
	MaxResults              *int      `json:"MaxResults"`
	StreamCreationTimestamp *wireTime `json:"StreamCreationTimestamp"`
}

func (in *listConsumersInput) validate(v *violations) {
	v.notNull("streamARN", in.StreamARN == nil)
	v.strLen("nextToken", in.NextToken, 1, 1048576)
	v.intRange("maxResults", in.MaxResults, 1, maxListLimit)
}

type listConsumersOutput struct {
	Consumers []consumerOut `json:"Consumers"`
	NextToken string        `json:"NextToken,omitempty"`
}

func (h *handler) listConsumers(in *listConsumersInput) (any, error) {
	after := ""
	if in.NextToken != nil {
		t, err := h.decodeToken(*in.NextToken, tokenConsumers)
		if err != nil {
			return nil, err
		}
		if t.Stream != *in.StreamARN {
			return nil, invalidArgument("Invalid NextToken: it was issued for another stream.")
		}
		after = t.After
	}
	cs, err := h.st.ListConsumers(*in.StreamARN)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b store.Consumer) int { return strings.Compare(a.ConsumerName, b.ConsumerName) })
	if after != "" {
		i := 0
		for i < len(cs) && cs[i].ConsumerName <= after {
			i++
		}
		cs = cs[i:]
	}
	limit := defaultListConsumersLimit
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	out := listConsumersOutput{}
	if len(cs) > limit {
		cs = cs[:limit]
		out.NextToken = h.encodeToken(pageToken{Kind: tokenConsumers, Stream: *in.StreamARN, After: cs[len(cs)-1].ConsumerName})
	}
	out.Consumers = make([]consumerOut, len(cs))
	for i, c := range cs {
		out.Consumers[i] = consumerToOut(c, false)
	}
	return out, nil
}
