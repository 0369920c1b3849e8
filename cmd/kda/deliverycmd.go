package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kdaproject/kda/connectors/delivery"
)

const deliveriesPath = "/v1/deliveries"

// `kda delivery …` manages the delivery streams of a kda server (kda's
// Firehose) through its REST routes.
func newDeliveryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delivery",
		Short: "Create, list, describe and delete delivery streams (kda's Firehose)",
		Long: `A delivery stream takes records (from the Firehose API, "kda put --delivery",
an application output with "delivery: NAME", or the Go API), keeps them
durably in a spill stream, and delivers them in order to one destination:
objects under Firehose-style keys in the local directory store
(<data>/s3/<bucket>/<key>) or S3-compatible storage, with buffering,
compression and Parquet conversion; or a record sink: PostgreSQL, Redis,
webhooks, NATS, MQTT. A destination that is down loses nothing: delivery
resumes in order when it is back.

The definition file is Firehose's CreateDeliveryStream JSON (or the same in
YAML), e.g.

  DeliveryStreamName: trades-lake
  ExtendedS3DestinationConfiguration:
    BucketARN: arn:aws:s3:::lake
    Prefix: "trades/!{timestamp:yyyy/MM/dd}/"
    ErrorOutputPrefix: "errors/!{firehose:error-output-type}/"
    BufferingHints: {SizeInMBs: 64, IntervalInSeconds: 60}
    CompressionFormat: GZIP

See docs/delivery.md for every destination.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "create FILE",
			Short:   "Create a delivery stream from a definition file (JSON or YAML); - reads standard input",
			Example: "  kda delivery create trades-lake.yaml --endpoint http://127.0.0.1:4567",
			Args:    exactArgs("FILE"),
			RunE: func(cmd *cobra.Command, args []string) error {
				body, err := readInput(a.stdin, args[0], "delivery stream definition")
				if err != nil {
					return err
				}
				var d delivery.Description
				if err := a.appCall(cmd.Context(), "create delivery stream", http.MethodPost, deliveriesPath, body, &d); err != nil {
					return err
				}
				return a.printDelivery(d)
			},
		},
		newDeliveryUpdateCmd(a),
		&cobra.Command{
			Use:   "list",
			Short: "List delivery streams",
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out []delivery.Description
				if err := a.appCall(cmd.Context(), "list delivery streams", http.MethodGet, deliveriesPath, nil, &out); err != nil {
					return err
				}
				if a.jsonOutput() {
					return printJSON(a.stdout, out)
				}
				t := newTable(a.stdout, "NAME", "STATUS", "DESTINATION", "DELIVERED", "WAITING", "FAILED", "DELIVERY AGE")
				for _, d := range out {
					t.row(d.DeliveryStreamName, d.DeliveryStreamStatus, destinationText(d.Definition), fmt.Sprint(d.Metrics.Delivered),
						fmt.Sprint(d.Metrics.Spilled), fmt.Sprint(d.Metrics.Failed), d.Metrics.DeliveryAge.Round(1e6).String())
				}
				return t.flush()
			},
		},
		&cobra.Command{
			Use:   "describe NAME",
			Short: "Show a delivery stream's destination (secrets shown as ****), status and metrics",
			Args:  exactArgs("NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var d delivery.Description
				if err := a.appCall(cmd.Context(), "describe delivery stream "+args[0], http.MethodGet, deliveriesPath+"/"+url.PathEscape(args[0]), nil, &d); err != nil {
					return err
				}
				return a.printDelivery(d)
			},
		},
		&cobra.Command{
			Use:   "delete NAME",
			Short: "Delete a delivery stream (records not delivered yet are discarded, as in Firehose)",
			Args:  exactArgs("NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := a.appCall(cmd.Context(), "delete delivery stream "+args[0], http.MethodDelete, deliveriesPath+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				if !a.jsonOutput() {
					fmt.Fprintf(a.stdout, "Deleted delivery stream %s.\n", args[0])
				}
				return nil
			},
		},
	)
	return cmd
}

func newDeliveryUpdateCmd(a *app) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "update FILE",
		Short: "Give a delivery stream a new destination from a definition file; what it has not delivered yet goes to the new one",
		Long: `Replace the destination of the delivery stream the definition file names
(JSON or YAML, as for create; - reads standard input). Records the stream
holds but has not delivered yet are delivered to the new destination, in
order; the version goes up by one. With --version the update fails if the
stream is no longer at that version (someone else changed it).

The Firehose API's UpdateDestination, which merges fields into the current
destination, is served too.`,
		Example: "  kda delivery update trades-lake.yaml --version 1",
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readInput(a.stdin, args[0], "delivery stream definition")
			if err != nil {
				return err
			}
			var named struct {
				DeliveryStreamName string `json:"DeliveryStreamName"`
			}
			if err := yaml.Unmarshal(body, &named); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if named.DeliveryStreamName == "" {
				return usagef("%s: the definition has no DeliveryStreamName", args[0])
			}
			path := deliveriesPath + "/" + url.PathEscape(named.DeliveryStreamName)
			if version != "" {
				path += "?version=" + url.QueryEscape(version)
			}
			var d delivery.Description
			if err := a.appCall(cmd.Context(), "update delivery stream "+named.DeliveryStreamName, http.MethodPut, path, body, &d); err != nil {
				return err
			}
			return a.printDelivery(d)
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "fail unless the stream is at this version (its Version in describe)")
	return cmd
}

// destinationText names a delivery stream's destination in one line.
func destinationText(def delivery.Definition) string {
	switch {
	case def.ExtendedS3DestinationConfiguration != nil:
		c := def.ExtendedS3DestinationConfiguration
		return strings.TrimPrefix(c.BucketARN, "arn:aws:s3:::") + "/" + c.Prefix
	case def.SinkDestination != nil:
		return def.SinkDestination.Type
	}
	return "-"
}

func (a *app) printDelivery(d delivery.Description) error {
	if a.jsonOutput() {
		return printJSON(a.stdout, d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Name:         %s\n", d.DeliveryStreamName)
	fmt.Fprintf(&b, "ARN:          %s\n", d.DeliveryStreamARN)
	fmt.Fprintf(&b, "Status:       %s\n", d.DeliveryStreamStatus)
	fmt.Fprintf(&b, "Version:      %s\n", d.VersionID)
	if d.FailureDescription != "" {
		fmt.Fprintf(&b, "Failure:      %s\n", d.FailureDescription)
	}
	fmt.Fprintf(&b, "Destination:  %s\n", destinationText(d.Definition))
	fmt.Fprintf(&b, "Spill stream: %s\n", d.SpillStream)
	if d.ErrorStream != "" {
		fmt.Fprintf(&b, "Error stream: %s\n", d.ErrorStream)
	}
	m := d.Metrics
	fmt.Fprintf(&b, "Records:      %d delivered, %d waiting, %d retried, %d failed, %d dropped; oldest waiting %s\n",
		m.Delivered, m.Spilled, m.Retried, m.Failed, m.Dropped, m.DeliveryAge.Round(1e6))
	if m.LastError != "" {
		fmt.Fprintf(&b, "Last error:   %s (%s)\n", m.LastError, fmtTime(m.LastErrorTime))
	}
	def, err := json.MarshalIndent(d.Definition, "  ", "  ")
	if err == nil {
		fmt.Fprintf(&b, "Definition:\n  %s\n", def)
	}
	_, err = io.WriteString(a.stdout, b.String())
	return err
}
