package main

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/spf13/cobra"
)

func newStreamCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "stream",
		Aliases: []string{"streams"},
		Short:   "Create, inspect, reshard and delete streams",
	}
	cmd.AddCommand(
		newStreamCreateCmd(a),
		newStreamListCmd(a),
		newStreamDescribeCmd(a),
		newStreamDeleteCmd(a),
		newStreamSplitCmd(a),
		newStreamMergeCmd(a),
		newStreamScaleCmd(a),
		newStreamRetentionCmd(a),
		newStreamModeCmd(a),
	)
	return cmd
}

// waitTimeout bounds every --wait.
const waitTimeout = 2 * time.Minute

func addWaitFlag(cmd *cobra.Command, wait *bool) {
	cmd.Flags().BoolVar(wait, "wait", false, "wait until the stream is ACTIVE again (or gone, for delete)")
}

func parseMode(s string) (types.StreamMode, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "provisioned":
		return types.StreamModeProvisioned, nil
	case "on-demand", "ondemand":
		return types.StreamModeOnDemand, nil
	}
	return "", usagef("mode must be provisioned or on-demand, not %q", s)
}

// shardArg accepts a full shard id or just its number ("3" → shardId-000000000003).
func shardArg(s string) string {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return fmt.Sprintf("shardId-%012d", n)
	}
	return s
}

func newStreamCreateCmd(a *app) *cobra.Command {
	var (
		shards int
		mode   string
		wait   bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a stream",
		Example: `  kda stream create clicks --shards 4 --wait
  kda stream create events --mode on-demand`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			m, err := parseMode(mode)
			if err != nil {
				return err
			}
			in := &kinesis.CreateStreamInput{
				StreamName:        aws.String(name),
				StreamModeDetails: &types.StreamModeDetails{StreamMode: m},
			}
			if m == types.StreamModeProvisioned || cmd.Flags().Changed("shards") {
				if shards < 1 {
					return usagef("--shards must be at least 1")
				}
				in.ShardCount = aws.Int32(int32(shards))
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			if _, err := c.CreateStream(ctx, in); err != nil {
				return a.apiErr("create stream "+name, err)
			}
			status := "CREATING"
			if wait {
				if status, err = a.waitActive(ctx, c, name); err != nil {
					return err
				}
			}
			if a.jsonOutput() {
				out := map[string]any{"stream": name, "mode": string(m), "status": status}
				if in.ShardCount != nil {
					out["shards"] = shards
				}
				return printJSON(a.stdout, out)
			}
			if m == types.StreamModeOnDemand && !cmd.Flags().Changed("shards") {
				fmt.Fprintf(a.stdout, "Created on-demand stream %s (%s)\n", name, status)
			} else {
				fmt.Fprintf(a.stdout, "Created stream %s with %d shard(s) (%s)\n", name, shards, status)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&shards, "shards", 1, "number of shards (provisioned; optional for on-demand)")
	cmd.Flags().StringVar(&mode, "mode", "provisioned", "capacity mode: provisioned or on-demand")
	addWaitFlag(cmd, &wait)
	return cmd
}

// waitActive polls until the stream is ACTIVE and returns its status.
func (a *app) waitActive(ctx context.Context, c *kinesis.Client, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return "", a.apiErr("wait for stream "+name, err)
		}
		if s := out.StreamDescriptionSummary.StreamStatus; s == types.StreamStatusActive {
			return string(s), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for stream %s to become ACTIVE: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitGone polls until the stream no longer exists.
func (a *app) waitGone(ctx context.Context, c *kinesis.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	for {
		_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if apiCode(err) == "ResourceNotFoundException" {
			return nil
		}
		if err != nil {
			return a.apiErr("wait for deletion of stream "+name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for stream %s to be deleted: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// streamInfo is the JSON shape of a stream in list and describe output.
type streamInfo struct {
	Name           string      `json:"name"`
	ARN            string      `json:"arn,omitempty"`
	Status         string      `json:"status"`
	Mode           string      `json:"mode,omitempty"`
	RetentionHours int32       `json:"retentionHours,omitempty"`
	OpenShards     *int32      `json:"openShards,omitempty"`
	Consumers      *int32      `json:"consumers,omitempty"`
	CreatedAt      *time.Time  `json:"createdAt,omitempty"`
	Shards         []shardInfo `json:"shards,omitempty"`
}

// shardInfo is the JSON shape of a shard in describe output.
type shardInfo struct {
	ID                     string `json:"shardId"`
	State                  string `json:"state"`
	Parent                 string `json:"parentShardId,omitempty"`
	AdjacentParent         string `json:"adjacentParentShardId,omitempty"`
	StartingHashKey        string `json:"startingHashKey"`
	EndingHashKey          string `json:"endingHashKey"`
	StartingSequenceNumber string `json:"startingSequenceNumber"`
	EndingSequenceNumber   string `json:"endingSequenceNumber,omitempty"`
}

func toShardInfo(s types.Shard) shardInfo {
	si := shardInfo{
		ID:             aws.ToString(s.ShardId),
		State:          "open",
		Parent:         aws.ToString(s.ParentShardId),
		AdjacentParent: aws.ToString(s.AdjacentParentShardId),
	}
	if r := s.HashKeyRange; r != nil {
		si.StartingHashKey, si.EndingHashKey = aws.ToString(r.StartingHashKey), aws.ToString(r.EndingHashKey)
	}
	if r := s.SequenceNumberRange; r != nil {
		si.StartingSequenceNumber = aws.ToString(r.StartingSequenceNumber)
		si.EndingSequenceNumber = aws.ToString(r.EndingSequenceNumber)
		if si.EndingSequenceNumber != "" {
			si.State = "closed"
		}
	}
	return si
}

// listShards returns every shard of a stream, following NextToken.
func (a *app) listShards(ctx context.Context, c *kinesis.Client, name string) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, a.apiErr("list shards of stream "+name, err)
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

func newStreamListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List streams",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			infos := []streamInfo{}
			in := &kinesis.ListStreamsInput{}
			for {
				out, err := c.ListStreams(ctx, in)
				if err != nil {
					return a.apiErr("list streams", err)
				}
				byName := map[string]types.StreamSummary{}
				for _, s := range out.StreamSummaries {
					byName[aws.ToString(s.StreamName)] = s
				}
				for _, n := range out.StreamNames {
					info := streamInfo{Name: n}
					if s, ok := byName[n]; ok {
						info.ARN = aws.ToString(s.StreamARN)
						info.Status = string(s.StreamStatus)
						if s.StreamModeDetails != nil {
							info.Mode = string(s.StreamModeDetails.StreamMode)
						}
						info.CreatedAt = s.StreamCreationTimestamp
					}
					infos = append(infos, info)
				}
				if !aws.ToBool(out.HasMoreStreams) || len(out.StreamNames) == 0 {
					break
				}
				in = &kinesis.ListStreamsInput{NextToken: out.NextToken}
				if aws.ToString(out.NextToken) == "" {
					in = &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String(out.StreamNames[len(out.StreamNames)-1])}
				}
			}
			// Open shard counts cost one call per stream; worth it for a
			// person's table, skipped for very long lists.
			if len(infos) <= 100 {
				for i := range infos {
					out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(infos[i].Name)})
					if err != nil {
						continue // deleted meanwhile
					}
					s := out.StreamDescriptionSummary
					infos[i].OpenShards = s.OpenShardCount
					infos[i].Status = string(s.StreamStatus)
					infos[i].RetentionHours = aws.ToInt32(s.RetentionPeriodHours)
					if infos[i].Mode == "" && s.StreamModeDetails != nil {
						infos[i].Mode = string(s.StreamModeDetails.StreamMode)
					}
					if infos[i].ARN == "" {
						infos[i].ARN = aws.ToString(s.StreamARN)
					}
					if infos[i].CreatedAt == nil {
						infos[i].CreatedAt = s.StreamCreationTimestamp
					}
				}
			}
			if a.jsonOutput() {
				return printJSON(a.stdout, infos)
			}
			if len(infos) == 0 {
				fmt.Fprintln(a.stdout, "No streams. Create one with: kda stream create NAME --shards 1")
				return nil
			}
			t := newTable(a.stdout, "NAME", "STATUS", "MODE", "OPEN SHARDS", "RETENTION", "CREATED")
			for _, s := range infos {
				open := "-"
				if s.OpenShards != nil {
					open = strconv.Itoa(int(*s.OpenShards))
				}
				ret := "-"
				if s.RetentionHours > 0 {
					ret = fmt.Sprintf("%dh", s.RetentionHours)
				}
				created := "-"
				if s.CreatedAt != nil {
					created = fmtTime(*s.CreatedAt)
				}
				t.row(s.Name, orDash(s.Status), orDash(s.Mode), open, ret, created)
			}
			return t.flush()
		},
	}
}

func newStreamDescribeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a stream and its shards: hash ranges, parents, sequence ranges, open/closed",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
			if err != nil {
				return a.apiErr("describe stream "+name, err)
			}
			s := out.StreamDescriptionSummary
			info := streamInfo{
				Name:           aws.ToString(s.StreamName),
				ARN:            aws.ToString(s.StreamARN),
				Status:         string(s.StreamStatus),
				RetentionHours: aws.ToInt32(s.RetentionPeriodHours),
				OpenShards:     s.OpenShardCount,
				Consumers:      s.ConsumerCount,
				CreatedAt:      s.StreamCreationTimestamp,
				Shards:         []shardInfo{},
			}
			if s.StreamModeDetails != nil {
				info.Mode = string(s.StreamModeDetails.StreamMode)
			}
			shards, err := a.listShards(ctx, c, name)
			if err != nil {
				return err
			}
			for _, sh := range shards {
				info.Shards = append(info.Shards, toShardInfo(sh))
			}
			if a.jsonOutput() {
				return printJSON(a.stdout, info)
			}
			created := "-"
			if info.CreatedAt != nil {
				created = fmtTime(*info.CreatedAt)
			}
			open := 0
			for _, sh := range info.Shards {
				if sh.State == "open" {
					open++
				}
			}
			fmt.Fprintf(a.stdout, "Stream:     %s\nARN:        %s\nStatus:     %s\nMode:       %s\nRetention:  %dh\nCreated:    %s\nShards:     %d open, %d closed\n",
				info.Name, info.ARN, info.Status, orDash(info.Mode), info.RetentionHours, created, open, len(info.Shards)-open)
			if info.Consumers != nil {
				fmt.Fprintf(a.stdout, "Consumers:  %d\n", *info.Consumers)
			}
			fmt.Fprintln(a.stdout)
			t := newTable(a.stdout, "SHARD", "STATE", "PARENT", "ADJACENT PARENT", "HASH KEY RANGE", "SEQUENCE RANGE")
			for _, sh := range info.Shards {
				end := sh.EndingSequenceNumber
				if end == "" {
					end = "…"
				}
				t.row(sh.ID, sh.State, orDash(sh.Parent), orDash(sh.AdjacentParent),
					sh.StartingHashKey+" – "+sh.EndingHashKey,
					sh.StartingSequenceNumber+" – "+end)
			}
			return t.flush()
		},
	}
}

func newStreamDeleteCmd(a *app) *cobra.Command {
	var (
		force bool
		wait  bool
	)
	cmd := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a stream and all its data",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{
				StreamName:              aws.String(name),
				EnforceConsumerDeletion: aws.Bool(force),
			})
			if err != nil {
				err = a.apiErr("delete stream "+name, err)
				if apiCode(err) == "ResourceInUseException" && !force {
					err = fmt.Errorf("%w (if it has registered consumers, add --force to delete them too)", err)
				}
				return err
			}
			if wait {
				if err := a.waitGone(ctx, c, name); err != nil {
					return err
				}
			}
			return a.report(map[string]any{"stream": name, "deleted": true}, "Deleted stream %s\n", name)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "also deregister the stream's consumers")
	addWaitFlag(cmd, &wait)
	return cmd
}

// report prints a one-line human message, or v as JSON.
func (a *app) report(v any, format string, args ...any) error {
	if a.jsonOutput() {
		return printJSON(a.stdout, v)
	}
	_, err := fmt.Fprintf(a.stdout, format, args...)
	return err
}

// midpointHashKey is the hash key that splits [start, end] into two halves;
// it satisfies start < key <= end as SplitShard requires.
func midpointHashKey(start, end string) (string, error) {
	s, ok1 := new(big.Int).SetString(start, 10)
	e, ok2 := new(big.Int).SetString(end, 10)
	if !ok1 || !ok2 {
		return "", fmt.Errorf("bad hash key range %s–%s", start, end)
	}
	if e.Cmp(s) <= 0 {
		return "", fmt.Errorf("hash key range %s–%s holds a single key and cannot be split", start, end)
	}
	// start + (end-start+1)/2
	m := new(big.Int).Sub(e, s)
	m.Add(m, big.NewInt(1)).Rsh(m, 1).Add(m, s)
	return m.String(), nil
}

func newStreamSplitCmd(a *app) *cobra.Command {
	var (
		at   string
		wait bool
	)
	cmd := &cobra.Command{
		Use:   "split NAME SHARD",
		Short: "Split a shard in two (at the midpoint of its hash range unless --at)",
		Long: `Split an open shard into two children. The parent closes; its records stay
readable, and readers that follow lineage (like "kda tail") read them before
the children's. SHARD is a shard id or just its number.`,
		Example: `  kda stream split clicks shardId-000000000000
  kda stream split clicks 0 --at 85070591730234615865843651857942052864`,
		Args: exactArgs("NAME", "SHARD"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name, shard := cmd.Context(), args[0], shardArg(args[1])
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			key := at
			if key == "" {
				shards, err := a.listShards(ctx, c, name)
				if err != nil {
					return err
				}
				for _, s := range shards {
					if aws.ToString(s.ShardId) == shard && s.HashKeyRange != nil {
						if key, err = midpointHashKey(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey)); err != nil {
							return fmt.Errorf("split %s: %w", shard, err)
						}
					}
				}
				if key == "" {
					return fmt.Errorf("split %s: stream %s has no shard %s (see: kda stream describe %s)", shard, name, shard, name)
				}
			}
			_, err = c.SplitShard(ctx, &kinesis.SplitShardInput{
				StreamName:         aws.String(name),
				ShardToSplit:       aws.String(shard),
				NewStartingHashKey: aws.String(key),
			})
			if err != nil {
				return a.apiErr(fmt.Sprintf("split shard %s of stream %s", shard, name), err)
			}
			if wait {
				if _, err := a.waitActive(ctx, c, name); err != nil {
					return err
				}
			}
			return a.report(map[string]any{"stream": name, "shard": shard, "newStartingHashKey": key},
				"Split %s of stream %s at hash key %s\n", shard, name, key)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "hash key (decimal) where the second child starts; default the midpoint")
	addWaitFlag(cmd, &wait)
	return cmd
}

func newStreamMergeCmd(a *app) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "merge NAME SHARD ADJACENT",
		Short: "Merge two shards with adjacent hash ranges into one",
		Args:  exactArgs("NAME", "SHARD", "ADJACENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			s1, s2 := shardArg(args[1]), shardArg(args[2])
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{
				StreamName:           aws.String(name),
				ShardToMerge:         aws.String(s1),
				AdjacentShardToMerge: aws.String(s2),
			})
			if err != nil {
				return a.apiErr(fmt.Sprintf("merge shards %s and %s of stream %s", s1, s2, name), err)
			}
			if wait {
				if _, err := a.waitActive(ctx, c, name); err != nil {
					return err
				}
			}
			return a.report(map[string]any{"stream": name, "shard": s1, "adjacentShard": s2},
				"Merged %s and %s of stream %s\n", s1, s2, name)
		},
	}
	addWaitFlag(cmd, &wait)
	return cmd
}

func newStreamScaleCmd(a *app) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "scale NAME N",
		Short: "Change the number of open shards (uniform scaling)",
		Args:  exactArgs("NAME", "N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 {
				return usagef("N must be a positive number of shards, not %q", args[1])
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			out, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{
				StreamName:       aws.String(name),
				TargetShardCount: aws.Int32(int32(n)),
				ScalingType:      types.ScalingTypeUniformScaling,
			})
			if err != nil {
				return a.apiErr(fmt.Sprintf("scale stream %s to %d shards", name, n), err)
			}
			if wait {
				if _, err := a.waitActive(ctx, c, name); err != nil {
					return err
				}
			}
			cur, tgt := aws.ToInt32(out.CurrentShardCount), aws.ToInt32(out.TargetShardCount)
			return a.report(map[string]any{"stream": name, "currentShardCount": cur, "targetShardCount": tgt},
				"Scaling stream %s from %d to %d shards\n", name, cur, tgt)
		},
	}
	addWaitFlag(cmd, &wait)
	return cmd
}

func newStreamRetentionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "retention NAME HOURS",
		Short: "Set how long records are kept (24–8760 hours)",
		Args:  exactArgs("NAME", "HOURS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			hours, err := strconv.Atoi(strings.TrimSuffix(args[1], "h"))
			if err != nil || hours < 1 {
				return usagef("HOURS must be a number of hours, not %q", args[1])
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
			if err != nil {
				return a.apiErr("describe stream "+name, err)
			}
			cur := int(aws.ToInt32(out.StreamDescriptionSummary.RetentionPeriodHours))
			what := fmt.Sprintf("set retention of stream %s to %dh", name, hours)
			switch {
			case hours > cur:
				_, err = c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
					StreamName: aws.String(name), RetentionPeriodHours: aws.Int32(int32(hours)),
				})
			case hours < cur:
				_, err = c.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{
					StreamName: aws.String(name), RetentionPeriodHours: aws.Int32(int32(hours)),
				})
			}
			if err != nil {
				return a.apiErr(what, err)
			}
			return a.report(map[string]any{"stream": name, "previousRetentionHours": cur, "retentionHours": hours},
				"Retention of stream %s: %dh → %dh\n", name, cur, hours)
		},
	}
}

func newStreamModeCmd(a *app) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "mode NAME provisioned|on-demand",
		Short: "Switch a stream between provisioned and on-demand capacity",
		Args:  exactArgs("NAME", "MODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			m, err := parseMode(args[1])
			if err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
			if err != nil {
				return a.apiErr("describe stream "+name, err)
			}
			_, err = c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{
				StreamARN:         out.StreamDescriptionSummary.StreamARN,
				StreamModeDetails: &types.StreamModeDetails{StreamMode: m},
			})
			if err != nil {
				return a.apiErr(fmt.Sprintf("switch stream %s to %s", name, m), err)
			}
			if wait {
				if _, err := a.waitActive(ctx, c, name); err != nil {
					return err
				}
			}
			return a.report(map[string]any{"stream": name, "mode": string(m)}, "Stream %s is now %s\n", name, m)
		},
	}
	addWaitFlag(cmd, &wait)
	return cmd
}

// sortShardsByID orders shards by id, which is their creation order.
func sortShardsByID(shards []types.Shard) {
	sort.Slice(shards, func(i, j int) bool { return aws.ToString(shards[i].ShardId) < aws.ToString(shards[j].ShardId) })
}
