package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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

// newMetricsRegistry builds the server's own registry (never the global
// default one): per-stream metrics plus the Go runtime and process metrics.
func newMetricsRegistry(stats func() []store.StreamStats) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newStreamCollector(stats),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
