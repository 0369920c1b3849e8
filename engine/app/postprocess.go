package app

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/kdaproject/kda/udf"
)

// A post-processor is the JavaScript stand-in for Kinesis Data Analytics'
// Lambda output. A live application buffers the rows of an output with a
// post-processor and delivers them to its handler (up to batchSize per
// invocation, each row rendered as the output's JSON or CSV):
//
//   - when a heartbeat's Advance made rows (a window fired), right after
//     it — so a windowed query's handler is invoked once per window
//     trigger;
//   - else once the oldest waiting row is a second old (continuous
//     queries deliver about once a second);
//   - and always before a checkpoint, so no row waits across one.
//
// Rows the handler answers DeliveryFailed, and every row of an invocation
// that failed (an exception, a timeout, a response that does not answer
// every recordId exactly once), are delivered again with exponential
// backoff (100ms, 200ms, ...) and lambdaDeliveryRecordMetadata.retryHint
// one higher, up to maxRetries times; then they go to error_stream with
// the reason (DELIVERY_FAILED). Rows of error_stream's own post-processor
// that fail are logged, not sent to error_stream again.
//
// A kda extension: when the output also names a stream or file, the data
// of every Ok answer that has data is written there, one record or line
// per answer, in the checkpoint that follows — so a post-processor can
// transform rows and forward them. An Ok answer without data is delivered
// and forwards nothing.
//
// Delivery to the handler is at least once, as Lambda's is: after a crash
// the rows since the last checkpoint are computed and delivered again. What
// a handler forwards is exactly once, like every output, because it is
// committed with the checkpoint.

// postprocessor runs one output's post-processor.
type postprocessor struct {
	*invoker
}

func newPostprocessor(def Definition, i int, log *slog.Logger) (*postprocessor, error) {
	v, err := newInvoker(def.Outputs[i].Postprocessor, "outputs["+strconv.Itoa(i)+"].postprocessor", postprocessorScriptName, log)
	if err != nil {
		return nil, err
	}
	v.appARN = defaultAppARN(def.Name)
	return &postprocessor{invoker: v}, nil
}

// delivery is the outcome of one row.
type delivery struct {
	ok      bool
	data    []byte // the Ok answer's data, when it had any
	hasData bool
	reason  string // why the row was not delivered
}

// deliver hands rows to the handler, retrying failures, and returns each
// row's outcome.
func (p *postprocessor) deliver(rows [][]byte) []delivery {
	out := make([]delivery, len(rows))
	hints := make([]int, len(rows))
	errs := make([]error, len(rows)) // why the row's last attempt failed
	pending := make([]int, len(rows))
	for i := range pending {
		pending[i] = i
	}
	attempts := 1 + *p.cfg.MaxRetries
	for attempt := 0; attempt < attempts && len(pending) > 0; attempt++ {
		if attempt > 0 {
			p.wait(attempt)
		}
		var again []int
		for start := 0; start < len(pending); start += p.cfg.BatchSize {
			chunk := pending[start:min(start+p.cfg.BatchSize, len(pending))]
			results, err := p.invoke(chunk, rows, hints)
			for j, idx := range chunk {
				switch {
				case err != nil:
					errs[idx] = err
				case results[j].Result == udf.ResultOk:
					out[idx] = delivery{ok: true, data: results[j].Data, hasData: results[j].HasData}
					continue
				case results[j].Problem != "":
					errs[idx] = errors.New("the post-processor's answer cannot be used: " + results[j].Problem)
				default:
					errs[idx] = errors.New("the post-processor answered DeliveryFailed")
				}
				hints[idx]++
				again = append(again, idx)
			}
		}
		pending = again
	}
	for _, idx := range pending {
		out[idx].reason = describeScriptError(errs[idx], "(after "+strconv.Itoa(attempts)+" attempts)")
	}
	return out
}

// invoke runs one invocation for the rows numbered chunk.
func (p *postprocessor) invoke(chunk []int, rows [][]byte, hints []int) ([]udf.RecordResult, error) {
	ev := &udf.PostprocessEvent{ApplicationARN: p.appARN, Records: make([]udf.DeliveryRecord, len(chunk))}
	for j, idx := range chunk {
		ev.Records[j] = udf.DeliveryRecord{RecordID: strconv.Itoa(idx), RetryHint: hints[idx], Data: rows[idx]}
	}
	var results []udf.RecordResult
	err := p.do(func(rt *udf.Runtime, ic udf.InvokeContext) error {
		fn, _, err := rt.Function(p.cfg.Handler)
		if err != nil {
			return err
		}
		ev.InvocationID = ic.RequestID
		results, err = rt.InvokePostprocessor(fn, ev, ic)
		return err
	})
	return results, err
}
