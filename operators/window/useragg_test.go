package window

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// fakeSum is a user aggregate in Go with the JavaScript driver's rules
// (udf/aggregate.go): SUM of a DOUBLE that throws on 13, and whose Run can
// be told to lose every state.
type fakeSum struct {
	retract bool
	loseAt  int // Run call (1-based) that loses the states; 0 never
	runs    int
}

func (f *fakeSum) Name() string         { return "FSUM" }
func (f *fakeSum) Params() []types.Type { return []types.Type{types.TDouble} }
func (f *fakeSum) Result() types.Type   { return types.TDouble }
func (f *fakeSum) CanRetract() bool     { return f.retract }
func (f *fakeSum) Open() (UserStates, error) {
	return &fakeStates{f: f, s: map[int32]float64{}, n: map[int32]int64{}}, nil
}

type fakeStates struct {
	f *fakeSum
	s map[int32]float64
	n map[int32]int64
}

func (fs *fakeStates) Run(b *UserBatch) error {
	fs.f.runs++
	b.Nums, b.Strs, b.OK = b.Nums[:0], b.Strs[:0], b.OK[:0]
	if fs.f.runs == fs.f.loseAt {
		for _, op := range b.Ops {
			if op == UserResult {
				b.Nums, b.OK = append(b.Nums, 0), append(b.OK, false)
			}
		}
		fs.s, fs.n = map[int32]float64{}, map[int32]int64{}
		return errors.New("interrupted")
	}
	failed := map[[2]int64]bool{}
	c := 0
	for j, op := range b.Ops {
		g := b.Groups[j]
		switch op {
		case UserAccumulate:
			x := b.Args[0].Nums[c]
			c++
			if x == 13 {
				b.Errors = append(b.Errors, UserError{Op: j, Message: "Error: unlucky", Stack: "at accumulate (FSUM:1:1(3))\n"})
				failed[[2]int64{int64(g), b.Tags[j]}] = true
				continue
			}
			fs.s[g] += x
			fs.n[g]++
		case UserRetract:
			x := b.Args[0].Nums[c]
			c++
			if fs.n[g] == 0 || failed[[2]int64{int64(g), b.Tags[j]}] {
				continue
			}
			fs.s[g] -= x
			if fs.n[g]--; fs.n[g] == 0 {
				fs.s[g] = 0
			}
		case UserResult:
			b.Nums, b.OK = append(b.Nums, fs.s[g]), append(b.OK, fs.n[g] > 0)
		case UserClear:
			delete(fs.s, g)
			delete(fs.n, g)
		}
	}
	return nil
}

func (fs *fakeStates) Save() ([]UserState, error) {
	var out []UserState
	for g, n := range fs.n {
		if n > 0 {
			out = append(out, UserState{Group: g, Count: n, Data: fmt.Sprint(fs.s[g])})
		}
	}
	return out, nil
}

func (fs *fakeStates) Load(states []UserState) error {
	fs.s, fs.n = map[int32]float64{}, map[int32]int64{}
	for _, s := range states {
		var x float64
		fmt.Sscan(s.Data, &x)
		fs.s[s.Group], fs.n[s.Group] = x, s.Count
	}
	return nil
}

// not13 is F with 13 made NULL: what SUM must see to match fakeSum.
type not13 struct{ col }

func (n not13) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	a := rec.Column(n.i).(*array.Float64)
	b := array.NewFloat64Builder(ec.Mem)
	defer b.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) || a.Value(i) == 13 {
			b.AppendNull()
		} else {
			b.Append(a.Value(i))
		}
	}
	return b.NewArray(), nil
}

func thirteens(rows []row) int {
	n := 0
	for _, r := range rows {
		if r.f != nil && *r.f == 13 {
			n++
		}
	}
	return n
}

// The user aggregate must give what the built-in SUM gives over the same
// windows, with and without a snapshot and restore midway, and report one
// error row per row that threw.
func TestUserAggregatesMatchTheBuiltInSumInEveryWindowKind(t *testing.T) {
	kinds := []struct {
		name    string
		retract bool
		build   func(aggs []Aggregate) operators.Stateful
		sliding bool
	}{
		{"tumbling", false, func(aggs []Aggregate) operators.Stateful {
			op, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: floorTo{i: 0, width: time.Minute}, Width: time.Minute, Keys: keyExprs(false), Aggs: aggs})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}, false},
		{"stagger", false, func(aggs []Aggregate) operators.Stateful {
			op, err := NewStagger(StaggerSpec{Input: testSchema, PartitionBy: keyExprs(false), Range: 30 * time.Second, Aggs: aggs})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}, false},
		{"sliding with retract", true, func(aggs []Aggregate) operators.Stateful {
			op, err := NewSliding(SlidingSpec{Input: testSchema, PartitionBy: keyExprs(false), Range: 20 * time.Second, Aggs: aggs})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}, true},
		{"sliding without retract", false, func(aggs []Aggregate) operators.Stateful {
			op, err := NewSliding(SlidingSpec{Input: testSchema, PartitionBy: keyExprs(false), IsRows: true, Rows: 4, Aggs: aggs})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}, true},
	}
	for _, k := range kinds {
		for seed := int64(1); seed <= 4; seed++ {
			evs := genStream(rand.New(rand.NewSource(seed)), 400, false)
			f := &fakeSum{retract: k.retract}
			aggs := []Aggregate{{Func: "SUM", Arg: not13{cF}}, {Func: "FSUM", User: f, Args: []expr.Expr{cF}}}
			for _, snapAt := range []int{-1, len(evs) / 2} {
				s := drive(t, func() operators.Stateful { return k.build(aggs) }, evs, snapAt)
				name := fmt.Sprintf("%s seed %d snapshot at %d", k.name, seed, snapAt)
				if len(s.rows) == 0 {
					t.Fatalf("%s: no output", name)
				}
				for i, r := range s.rows {
					if !sameValue(r[len(r)-1], r[len(r)-2]) {
						t.Fatalf("%s: row %d: user aggregate %v, SUM %v (%v)", name, i, r[len(r)-1], r[len(r)-2], r)
					}
				}
				n := thirteens(allRows(evs))
				if k.name == "sliding without retract" {
					if n > 0 && len(s.errs) < n {
						t.Fatalf("%s: %d error rows for %d rows of 13", name, len(s.errs), n)
					}
				} else if len(s.errs) != n {
					t.Fatalf("%s: %d error rows for %d rows of 13", name, len(s.errs), n)
				}
				for _, e := range s.errs {
					if e.Name != "JAVASCRIPT" || !strings.HasPrefix(e.Message, "aggregate FSUM: accumulate threw Error: unlucky\nat accumulate") || e.DataRow == "" || e.Pump != "P" {
						t.Fatalf("%s: error row %+v", name, e)
					}
				}
			}
		}
	}
}

func TestUserAggregateStatesLostToAnInterruptionGiveNullOrAreRebuilt(t *testing.T) {
	rows := []row{
		{t: ms("11:00:01"), k: ip(1), f: fp(1)},
		{t: ms("11:00:02"), k: ip(1), f: fp(2)},
	}
	later := []row{
		{t: ms("11:00:03"), k: ip(1), f: fp(4)},
		{t: ms("11:00:04"), k: ip(2), f: fp(8)},
		{t: ms("11:01:05"), k: ip(1), f: fp(16)},
	}
	// Tumbling: the first batch's call is lost; key 1's minute gives NULL,
	// key 2 started after the loss and is whole.
	f := &fakeSum{loseAt: 1}
	op, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: floorTo{i: 0, width: time.Minute}, Width: time.Minute,
		Keys: []expr.Expr{cK}, Aggs: []Aggregate{{Func: "FSUM", User: f, Args: []expr.Expr{cF}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	op.SetEmit(s.emit)
	for _, rs := range [][]row{rows, later} {
		rec := batch(rs)
		if err := op.Process(s.ctx(), rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	exactRows(t, "tumbling", s.rows, [][]any{
		{ms("11:01:00"), ms("11:00:00"), int64(1), nil},
		{ms("11:01:00"), ms("11:00:00"), int64(2), 8.0},
	})
	if len(s.errs) != 1 || !strings.Contains(s.errs[0].Message, "aggregate FSUM: interrupted; the states of its open windows are lost") {
		t.Fatalf("errors %+v", s.errs)
	}

	// Sliding with retract: the partition is rebuilt from its window.
	f = &fakeSum{loseAt: 1, retract: true}
	sl, err := NewSliding(SlidingSpec{Input: testSchema, PartitionBy: []expr.Expr{cK}, Range: time.Minute,
		Aggs: []Aggregate{{Func: "FSUM", User: f, Args: []expr.Expr{cF}}}})
	if err != nil {
		t.Fatal(err)
	}
	s = &sink{}
	sl.SetEmit(s.emit)
	for _, rs := range [][]row{rows, later} {
		rec := batch(rs)
		if err := sl.Process(s.ctx(), rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	var got []any
	for _, r := range s.rows {
		got = append(got, r[len(r)-1])
	}
	if fmt.Sprint(got) != "[<nil> <nil> 7 8 16]" {
		t.Fatalf("sliding sums %v", got)
	}
}

func TestUserAggregateCallsAreChecked(t *testing.T) {
	f := &fakeSum{}
	for _, c := range []struct {
		agg  Aggregate
		want string
	}{
		{Aggregate{Func: "FSUM", User: f}, "FSUM takes 1 arguments, got 0"},
		{Aggregate{Func: "FSUM", User: f, Args: []expr.Expr{cF}, Distinct: true}, "DISTINCT"},
	} {
		_, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: floorTo{i: 0, width: time.Minute}, Width: time.Minute, Aggs: []Aggregate{c.agg}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("got %v, want %q", err, c.want)
		}
	}
	_, err := NewEventTime(EventTimeSpec{Input: testSchema, Kind: SessionWindows, Time: col{6, types.TTimestamp}, Gap: time.Minute,
		Aggs: []Aggregate{{Func: "FSUM", User: f, Args: []expr.Expr{cF}}}})
	if err == nil || !strings.Contains(err.Error(), "not supported in SESSION windows") {
		t.Fatalf("session: %v", err)
	}
}
