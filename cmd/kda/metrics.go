package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/engine/store"
)

// streamCollector exports store.Stats() as Prometheus metrics, one series
// per stream, read fresh at every scrape (the role CloudWatch plays on AWS).
type streamCollector struct {
	stats func() []store.StreamStats

	recordsIn, bytesIn, recordsOut, bytesOut *prometheus.Desc
	writeThrottles, readThrottles            *prometheus.Desc
	iteratorAge, openShards                  *prometheus.Desc
}

func newStreamCollector(stats func() []store.StreamStats) *streamCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("kda_stream_"+name, help, []string{"stream"}, nil)
	}
	return &streamCollector{
		stats:          stats,
		recordsIn:      d("incoming_records_total", "Records written to the stream (PutRecord/PutRecords) since the server started."),
		bytesIn:        d("incoming_bytes_total", "Bytes written to the stream (data plus partition keys, as Kinesis counts them) since the server started."),
		recordsOut:     d("outgoing_records_total", "Records read from the stream (GetRecords) since the server started."),
		bytesOut:       d("outgoing_bytes_total", "Bytes read from the stream (data plus partition keys) since the server started."),
		writeThrottles: d("write_throttles_total", "Writes rejected with ProvisionedThroughputExceeded."),
		readThrottles:  d("read_throttles_total", "Reads rejected with ProvisionedThroughputExceeded."),
		iteratorAge:    d("iterator_age_milliseconds", "Largest MillisBehindLatest of the last GetRecords call on each shard."),
		openShards:     d("open_shards", "Shards currently accepting records."),
	}
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.recordsIn, c.bytesIn, c.recordsOut, c.bytesOut,
		c.writeThrottles, c.readThrottles, c.iteratorAge, c.openShards,
	} {
		ch <- d
	}
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		counter := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), s.StreamName)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, s.StreamName)
		}
		counter(c.recordsIn, s.RecordsIn)
		counter(c.bytesIn, s.BytesIn)
		counter(c.recordsOut, s.RecordsOut)
		counter(c.bytesOut, s.BytesOut)
		counter(c.writeThrottles, s.WriteThrottles)
		counter(c.readThrottles, s.ReadThrottles)
		gauge(c.iteratorAge, float64(s.MaxIteratorAgeMilli))
		gauge(c.openShards, float64(s.OpenShards))
	}
}

// deliveryCollector exports every delivery stream's metrics (what Firehose
// reports to CloudWatch), one series per delivery stream.
type deliveryCollector struct {
	m *delivery.Manager

	delivered, retried, failed, dropped, waiting, age *prometheus.Desc
}

func newDeliveryCollector(m *delivery.Manager) *deliveryCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("kda_delivery_"+name, help, []string{"delivery_stream"}, nil)
	}
	return &deliveryCollector{
		m:         m,
		delivered: d("delivered_records_total", "Records the destination acknowledged since the server started."),
		retried:   d("retries_total", "Delivery attempts that failed and were retried."),
		failed:    d("failed_records_total", "Records sent to the error output."),
		dropped:   d("dropped_records_total", "Records the transformation answered Dropped."),
		waiting:   d("waiting_records", "Records put and not delivered yet (in the spill stream)."),
		age:       d("delivery_age_seconds", "Age of the oldest record not delivered yet."),
	}
}

func (c *deliveryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.delivered, c.retried, c.failed, c.dropped, c.waiting, c.age} {
		ch <- d
	}
}

func (c *deliveryCollector) Collect(ch chan<- prometheus.Metric) {
	for _, name := range c.m.List() {
		d, err := c.m.Describe(name)
		if err != nil {
			continue // deleted since List
		}
		m := d.Metrics
		counter := func(desc *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), name)
		}
		counter(c.delivered, m.Delivered)
		counter(c.retried, m.Retried)
		counter(c.failed, m.Failed)
		counter(c.dropped, m.Dropped)
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(m.Spilled), name)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, m.DeliveryAge.Seconds(), name)
	}
}

// newMetricsRegistry builds the server's own registry (never the global
// default one): per-stream metrics, per-delivery-stream metrics when the
// server runs delivery streams, and the Go runtime and process metrics.
func newMetricsRegistry(stats func() []store.StreamStats, deliveries *delivery.Manager) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newStreamCollector(stats),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if deliveries != nil {
		reg.MustRegister(newDeliveryCollector(deliveries))
	}
	return reg
}
