package window

// User-defined aggregates (CREATE AGGREGATE FUNCTION ... LANGUAGE
// JAVASCRIPT; docs/javascript.md "Aggregate functions").
//
// The operators of this package never call a user aggregate per row. Each
// user aggregate of an operator instance owns a UserStates (its states,
// one per group id, live in the implementation: for JavaScript, in one
// pinned runtime) and a UserBatch into which the operator queues what the
// built-in aggregates would do at once: accumulate row i into group g,
// retract a row that left a sliding window, compute a group's result,
// clear a group. Results are staged as NULL placeholders whose slots are
// remembered. Before an operator sends its output (the end of Process or
// Advance) it runs the queue in one call and fills the slots.
//
// Rules, by window kind:
//
//   - Tumbling and stagger: accumulate per row, result and clear when the
//     window closes. A row whose arguments are all non-NULL is
//     accumulated; a window with no accumulated row gives NULL (result is
//     not called), like SUM.
//   - Sliding with retract: the row is accumulated into its partition's
//     state; rows that leave the window are retracted; result per row. A
//     partition whose count drops to 0 starts again from init().
//   - Sliding without retract: for every row, the window's rows are
//     accumulated afresh into a scratch state (init, accumulate each,
//     result): O(rows in the window) JavaScript calls per row. Use
//     retract, or a ROWS window, for long windows.
//   - An exception in accumulate or retract goes to error_stream (the row
//     is skipped by this aggregate, not by the others, and not retracted
//     later); in result, the aggregate is NULL and the error goes to
//     error_stream. Without retract, an accumulate that throws is reported
//     once per output row whose window holds the row.
//   - A call that is interrupted (timeout, memory guard) loses every state
//     of the instance: one error_stream row says so; the windows then open
//     give NULL (tumbling, stagger), while sliding partitions are rebuilt
//     from the rows still in their windows.
//   - Checkpoints save the states (UserStates.Save; JSON for JavaScript).

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// UserAggregate is an aggregate function defined by the application rather
// than built in (see sql/plan/aggfunc.go for JavaScript ones).
type UserAggregate interface {
	// Name is the function's name, for errors.
	Name() string
	// Params are the declared parameter types: arguments arrive with
	// these types (the planner casts them).
	Params() []types.Type
	// Result is the declared result type.
	Result() types.Type
	// CanRetract says whether UserOpRetract is supported; sliding windows
	// recompute each window from its rows when it is not.
	CanRetract() bool
	// Open returns the states of one operator instance, used from that
	// instance's goroutine only.
	Open() (UserStates, error)
}

// UserStates holds one state per group id.
type UserStates interface {
	// Run applies b's operations in order and fills its results and
	// Errors. An error means every state was lost (the implementation
	// starts again from empty states); b's results are then all NULL.
	Run(b *UserBatch) error
	// Save returns every non-empty group's state.
	Save() ([]UserState, error)
	// Load replaces every state.
	Load([]UserState) error
}

// UserOp is one queued operation.
type UserOp int32

// The operations; the values are fixed (implementations rely on them).
const (
	UserAccumulate UserOp = iota
	UserRetract
	UserResult
	UserClear
)

// UserScratch is a group id kept apart from the numbered ones: sliding
// windows without retract build each row's state there.
const UserScratch = -1

// UserColumn is the values of one parameter, one per accumulate or retract
// operation, in order: Nums for numbers, booleans (0/1) and datetimes
// (epoch milliseconds), Strs for strings.
type UserColumn struct {
	Nums []float64
	Strs []string
}

// UserBatch is a queue of operations and, after Run, their results.
type UserBatch struct {
	Ops    []UserOp
	Groups []int32
	// Tags are per op: for a retract, the tag of the accumulate of the same
	// row (a retract whose accumulate threw in the same batch is skipped).
	Tags []int64
	Args []UserColumn

	// One per UserResult op, in order; OK false is NULL.
	Nums []float64
	Strs []string
	OK   []bool
	// Errors are the operations that threw.
	Errors []UserError
}

// UserError is an exception of one operation.
type UserError struct {
	Op      int
	Message string
	Stack   string
}

// UserState is one group's saved state: the number of rows folded in and
// the state's serialised form.
type UserState struct {
	Group int32
	Count int64
	Data  string
}

func (b *UserBatch) reset() {
	b.Ops, b.Groups, b.Tags = b.Ops[:0], b.Groups[:0], b.Tags[:0]
	for i := range b.Args {
		b.Args[i].Nums, b.Args[i].Strs = b.Args[i].Nums[:0], b.Args[i].Strs[:0]
	}
	b.Errors = b.Errors[:0]
}

func (b *UserBatch) add(op UserOp, g int32, tag int64) {
	b.Ops = append(b.Ops, op)
	b.Groups = append(b.Groups, g)
	b.Tags = append(b.Tags, tag)
}

// userOps is the queue of one user aggregate of one operator instance and
// what the operator needs to route its results and errors.
type userOps struct {
	f      UserAggregate
	name   string
	st     UserStates
	params []types.Type
	b      UserBatch
	rows   []int32          // per op: the batch row it concerns, or -1
	slots  []userSlot       // per UserResult op
	look   func(*UserBatch) // when set, sees the batch after Run
}

// userSlot is where a result goes: out.x[idx].
type userSlot struct {
	out *vec
	idx int
	at  int64 // ROWTIME of the output row
}

func newUserOps(f UserAggregate) (*userOps, error) {
	st, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", f.Name(), err)
	}
	u := &userOps{f: f, name: f.Name(), st: st, params: f.Params()}
	u.b.Args = make([]UserColumn, len(u.params))
	return u, nil
}

// argsOK says whether row i of every argument column is non-NULL.
func argsOK(args []vec, i int) bool {
	for k := range args {
		if !args[k].ok[i] {
			return false
		}
	}
	return true
}

// queue adds one operation; for accumulate and retract, the values of row
// i of args.
func (u *userOps) queue(op UserOp, g int32, tag int64, row int32, args []vec, i int) {
	u.b.add(op, g, tag)
	u.rows = append(u.rows, row)
	if op != UserAccumulate && op != UserRetract {
		return
	}
	for k := range args {
		c := &u.b.Args[k]
		v := &args[k]
		switch v.p {
		case pStr:
			c.Strs = append(c.Strs, strings.Clone(v.s[i]))
		case pFloat:
			c.Nums = append(c.Nums, v.f[i])
		case pDec:
			c.Nums = append(c.Nums, v.d[i].ToFloat64(int32(u.params[k].Scale)))
		default:
			c.Nums = append(c.Nums, float64(v.i[i]))
		}
	}
}

// result queues a result for group g into a NULL placeholder appended to
// out.
func (u *userOps) result(out *vec, g int32, at int64, row int32) {
	out.appendNull()
	u.slots = append(u.slots, userSlot{out: out, idx: out.len() - 1, at: at})
	u.queue(UserResult, g, 0, row, nil, 0)
}

// run runs the queue, fills the result slots and turns errors into
// error_stream rows. rec is the batch rows refer to (nil in Advance), now
// the stream time. It reports whether the states were lost.
func (u *userOps) run(ctx *operators.Context, rec arrow.Record, rt []int64, now int64) bool {
	defer func() {
		u.b.reset()
		u.rows = u.rows[:0]
		u.slots = u.slots[:0]
	}()
	if len(u.b.Ops) == 0 {
		return false
	}
	err := u.st.Run(&u.b)
	if u.look != nil {
		u.look(&u.b)
	}
	rt0 := u.f.Result()
	for k, s := range u.slots {
		if k >= len(u.b.OK) || !u.b.OK[k] {
			continue
		}
		switch s.out.p {
		case pFloat:
			s.out.f[s.idx] = u.b.Nums[k]
		case pStr:
			v := u.b.Strs[k]
			if rt0.Length > 0 && utf8.RuneCountInString(v) > rt0.Length {
				v = string([]rune(v)[:rt0.Length])
			}
			s.out.s[s.idx] = v
		default:
			s.out.i[s.idx] = int64(u.b.Nums[k])
		}
		s.out.ok[s.idx] = true
	}
	if err != nil {
		report(ctx, operators.RowError{Time: time.UnixMilli(now).UTC(), Level: "ERROR", Name: "JAVASCRIPT",
			Message: fmt.Sprintf("aggregate %s: %v; the states of its open windows are lost", u.name, err)})
		return true
	}
	resIdx := make(map[int]int, len(u.b.Errors))
	if len(u.b.Errors) > 0 {
		r := 0
		for j, op := range u.b.Ops {
			if op == UserResult {
				resIdx[j] = r
				r++
			}
		}
	}
	seen := map[int32]bool{}
	for _, e := range u.b.Errors {
		op, row := u.b.Ops[e.Op], u.rows[e.Op]
		fn := [...]string{"accumulate", "retract", "result", "clear"}[op]
		msg := fmt.Sprintf("aggregate %s: %s threw %s", u.name, fn, e.Message)
		if rest, ok := strings.CutPrefix(e.Message, "TypeError: result() "); ok && e.Stack == "" {
			msg = fmt.Sprintf("aggregate %s: result() %s", u.name, rest) // a result of the wrong type
		}
		if e.Stack != "" {
			msg += "\n" + strings.TrimRight(e.Stack, "\n")
		}
		re := operators.RowError{Time: time.UnixMilli(now).UTC(), Level: "ERROR", Name: "JAVASCRIPT", Message: msg}
		if op == UserResult {
			s := u.slots[resIdx[e.Op]]
			re.Time, re.DataRowtime = time.UnixMilli(s.at).UTC(), time.UnixMilli(s.at).UTC()
		}
		if row >= 0 && rec != nil {
			if seen[row] && op != UserResult {
				continue // one report per row (sliding windows without retract)
			}
			seen[row] = true
			re.DataRowtime = time.UnixMilli(rt[row]).UTC()
			re.Time = re.DataRowtime
			if op != UserResult {
				re.DataRow = operators.RowJSON(rec, int(row))
			}
		}
		report(ctx, re)
	}
	return false
}

func report(ctx *operators.Context, e operators.RowError) {
	if ctx == nil || ctx.Errors == nil {
		return
	}
	e.Pump = ctx.Pump
	ctx.Errors.RowError(e)
}

// evalUserArgs evaluates a user aggregate's arguments for rec.
func evalUserArgs(ec *expr.EvalContext, rec arrow.Record, name string, exprs []expr.Expr, args []vec) error {
	for k, x := range exprs {
		arr, err := x.Eval(ec, rec)
		if err != nil {
			return fmt.Errorf("evaluate %s argument %s: %w", name, x, err)
		}
		err = args[k].load(arr)
		arr.Release()
		if err != nil {
			return fmt.Errorf("%s argument %s: %w", name, x, err)
		}
	}
	return nil
}

// saveUser writes the states of u.
func saveUser(w *wbuf, u *userOps) error {
	states, err := u.st.Save()
	if err != nil {
		return fmt.Errorf("aggregate %s: %w", u.name, err)
	}
	w.int(len(states))
	for _, s := range states {
		w.i64(int64(s.Group))
		w.i64(s.Count)
		w.str(s.Data)
	}
	return nil
}

func loadUser(r *rbuf) []UserState {
	out := make([]UserState, r.count())
	for k := range out {
		out[k] = UserState{Group: int32(r.i64()), Count: r.i64(), Data: strings.Clone(r.str())}
	}
	return out
}

// userPlan checks a user aggregate's call.
func userPlan(a Aggregate) (aggPlan, error) {
	ps := a.User.Params()
	if len(a.Args) != len(ps) {
		return aggPlan{}, fmt.Errorf("%s takes %d arguments, got %d", a.User.Name(), len(ps), len(a.Args))
	}
	if a.Distinct {
		return aggPlan{}, fmt.Errorf("%s(DISTINCT ...) is not supported for user aggregates", a.User.Name())
	}
	p := aggPlan{kind: kUser, user: a.User, uargs: a.Args, out: a.User.Result().Nullable(), argType: types.TNull, argPhys: pInt}
	for k, x := range a.Args {
		if _, err := physOf(x.Type()); err != nil {
			return aggPlan{}, fmt.Errorf("%s argument %d: %w", a.User.Name(), k+1, err)
		}
	}
	var err error
	if p.outPhys, err = physOf(p.out); err != nil {
		return aggPlan{}, err
	}
	if p.outPhys == pDec {
		return aggPlan{}, fmt.Errorf("%s: a user aggregate cannot return %s", a.User.Name(), p.out)
	}
	return p, nil
}

// groupUser is a user aggregate in a tumbling or stagger operator.
type groupUser struct {
	*userOps
	args []vec
	lost []bool // per group id: its state was lost with an interrupted call
	live []bool // per group id: some row was accumulated since the last clear
}

func newGroupUser(p aggPlan) (*groupUser, error) {
	u, err := newUserOps(p.user)
	if err != nil {
		return nil, err
	}
	return &groupUser{userOps: u, args: make([]vec, len(p.uargs))}, nil
}

func (u *groupUser) grow(n int) {
	for len(u.lost) < n {
		u.lost = append(u.lost, false)
		u.live = append(u.live, false)
	}
}

func (u *groupUser) clear(g int32) {
	u.queue(UserClear, g, 0, -1, nil, 0)
	u.lost[g], u.live[g] = false, false
}

func (u *groupUser) update(gids []int32, lo, hi int) {
	for i := lo; i < hi; i++ {
		g := gids[i]
		if g < 0 || u.lost[g] || !argsOK(u.args, i) {
			continue
		}
		u.queue(UserAccumulate, g, int64(i), int32(i), u.args, i)
		u.live[g] = true
	}
}

// finish runs the queue; when the states were lost, every group that held
// one is marked lost.
func (u *groupUser) finish(ctx *operators.Context, rec arrow.Record, rt []int64, now int64) {
	if u.run(ctx, rec, rt, now) {
		copy(u.lost, u.live)
	}
}

func (u *groupUser) save(w *wbuf) error {
	var lost []int64
	for g, l := range u.lost {
		if l {
			lost = append(lost, int64(g))
		}
	}
	w.i64s(lost)
	return saveUser(w, u.userOps)
}

func (u *groupUser) load(r *rbuf, groups int) error {
	u.lost, u.live = make([]bool, groups), make([]bool, groups)
	for _, g := range r.i64s() {
		if g < 0 || int(g) >= groups {
			r.fail("lost group id")
			return nil
		}
		u.lost[g] = true
	}
	states := loadUser(r)
	if r.err != nil {
		return nil
	}
	for _, st := range states {
		if st.Group < 0 || int(st.Group) >= groups {
			r.fail("user aggregate group id")
			return nil
		}
		u.live[st.Group] = true
	}
	return u.st.Load(states)
}
