package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// Logical operators with SQL's three-valued logic, the IS predicates, CASE
// and the null functions COALESCE and NULLIF.

func registerOperators(r *Registry) {
	registerArith(r)
	registerCompare(r)
	registerLogic(r)
	registerCast(r)
}

func boolArg(name string, e Expr) (Expr, error) {
	switch e.Type().Kind {
	case types.Boolean:
		return e, nil
	case types.Null:
		return coerce(e, types.TBoolean), nil
	}
	return nil, typeErr("%s needs BOOLEAN operands, got %s", name, e.Type())
}

// boolParts evaluates a BOOLEAN expression into value bits and validity
// (nil validity: no NULLs), both aligned at bit 0.
func boolParts(ec *EvalContext, rec arrow.Record, e Expr) (vals, valid []byte, release func(), err error) {
	a, err := e.Eval(ec, rec)
	if err != nil {
		return nil, nil, nil, err
	}
	b, ok := a.(*array.Boolean)
	if !ok {
		a.Release()
		return nil, nil, nil, fmt.Errorf("%s evaluated to %s, not boolean", e, a.DataType())
	}
	return boolBits(b), validity(b), a.Release, nil
}

func registerLogic(r *Registry) {
	for _, name := range []string{"AND", "OR"} {
		isAnd := name == "AND"
		r.add(name, "x "+name+" y", "logical", "three-valued logic", func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 2, 2); err != nil {
				return nil, err
			}
			x, err := boolArg(name, args[0])
			if err != nil {
				return nil, err
			}
			y, err := boolArg(name, args[1])
			if err != nil {
				return nil, err
			}
			return &callNode{name: name, infix: true, args: args, t: types.TBoolean, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
				return andOr(ec, rec, isAnd, x, y)
			}}, nil
		})
	}
	r.add("NOT", "NOT x", "logical", "NOT NULL is NULL", func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		x, err := boolArg(name, args[0])
		if err != nil {
			return nil, err
		}
		return &callNode{name: name, args: args, t: types.TBoolean, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			xv, xn, rel, err := boolParts(ec, rec, x)
			if err != nil {
				return nil, err
			}
			defer rel()
			n := int(rec.NumRows())
			vals := newBitmap(ec.Mem, n)
			for i := range vals.bits {
				vals.bits[i] = ^xv[i]
			}
			return boolOut(vals, andValidity(ec.Mem, n, xn), n), nil
		}}, nil
	})
	// The IS predicates never return NULL.
	preds := map[string]func(v, ok bool) bool{
		"IS_NULL":      func(v, ok bool) bool { return !ok },
		"IS_NOT_NULL":  func(v, ok bool) bool { return ok },
		"IS_TRUE":      func(v, ok bool) bool { return ok && v },
		"IS_NOT_TRUE":  func(v, ok bool) bool { return !ok || !v },
		"IS_FALSE":     func(v, ok bool) bool { return ok && !v },
		"IS_NOT_FALSE": func(v, ok bool) bool { return !ok || v },
		"IS_UNKNOWN":   func(v, ok bool) bool { return !ok },
	}
	for name, pred := range preds {
		pred := pred
		r.add(name, name+"(x)", "logical", strings.ReplaceAll(name, "_", " ")+"; never NULL", func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 1, 1); err != nil {
				return nil, err
			}
			x := args[0]
			if name != "IS_NULL" && name != "IS_NOT_NULL" {
				var err error
				if x, err = boolArg(name, x); err != nil {
					return nil, err
				}
			}
			return &callNode{name: name, args: args, t: types.TBoolean.Nullable(), eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
				a, err := x.Eval(ec, rec)
				if err != nil {
					return nil, err
				}
				defer a.Release()
				n := int(rec.NumRows())
				valid := validity(a)
				b, _ := a.(*array.Boolean)
				vals := newBitmap(ec.Mem, n)
				for i := range n {
					ok := isValid(valid, i)
					if pred(ok && b != nil && b.Value(i), ok) {
						vals.setBit(i)
					}
				}
				return boolOut(vals, bitmap{}, n), nil
			}}, nil
		})
	}
	r.add("COALESCE", "COALESCE(x, y, ...)", "null", "the first non-NULL argument", func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 1, -1); err != nil {
			return nil, err
		}
		rt, cs, err := unify(name, args)
		if err != nil {
			return nil, err
		}
		return &callNode{name: name, args: args, t: rt, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			return coalesce(ec, rec, rt, cs)
		}}, nil
	})
	r.add("NULLIF", "NULLIF(x, y)", "null", "NULL when x = y, else x", func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		eq, err := Call("=", args[0], args[1])
		if err != nil {
			return nil, err
		}
		null, _ := Lit(nil, args[0].Type().Nullable())
		c, err := Case(nil, []When{{Cond: eq, Then: null}}, args[0])
		if err != nil {
			return nil, err
		}
		return &callNode{name: name, args: args, t: c.Type(), eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			return c.Eval(ec, rec)
		}}, nil
	})
}

// andOr combines two boolean columns with three-valued logic:
// FALSE AND NULL is FALSE, TRUE OR NULL is TRUE.
func andOr(ec *EvalContext, rec arrow.Record, isAnd bool, x, y Expr) (arrow.Array, error) {
	xv, xn, rx, err := boolParts(ec, rec, x)
	if err != nil {
		return nil, err
	}
	defer rx()
	yv, yn, ry, err := boolParts(ec, rec, y)
	if err != nil {
		return nil, err
	}
	defer ry()
	n := int(rec.NumRows())
	vals := newBitmap(ec.Mem, n)
	o := vals.bits
	if xn == nil && yn == nil {
		if isAnd {
			for i := range o {
				o[i] = xv[i] & yv[i]
			}
		} else {
			for i := range o {
				o[i] = xv[i] | yv[i]
			}
		}
		return boolOut(vals, bitmap{}, n), nil
	}
	valid := newBitmap(ec.Mem, n)
	vd := valid.bits
	for i := range o {
		a, b := xv[i], yv[i]
		va, vb := byte(0xff), byte(0xff)
		if xn != nil {
			va = xn[i]
		}
		if yn != nil {
			vb = yn[i]
		}
		if isAnd {
			// Known when both are known, or either is a known FALSE.
			vd[i] = (va & vb) | (va &^ a) | (vb &^ b)
			o[i] = a & b & va & vb
		} else {
			vd[i] = (va & vb) | (va & a) | (vb & b)
			o[i] = (a & va) | (b & vb)
		}
	}
	return boolOut(vals, valid, n), nil
}

// unify finds the common type of CASE branches or COALESCE arguments and
// coerces every argument to it.
func unify(name string, args []Expr) (types.Type, []Expr, error) {
	rt := types.TNull
	for _, a := range args {
		t := a.Type()
		switch {
		case t.Kind == types.Null:
		case rt.Kind == types.Null:
			rt = t.Nullable()
		case rt.IsNumeric() && t.IsNumeric():
			rt, _ = promoteNumeric(rt, t)
		case rt.IsString() && t.IsString():
			l := max(rt.Length, t.Length)
			if rt.Length == 0 || t.Length == 0 {
				l = 0
			}
			rt = types.Type{Kind: types.Varchar, Length: l}
		case rt.IsBinary() && t.IsBinary():
			rt = types.Type{Kind: types.Varbinary}
		case rt.Kind == t.Kind:
		default:
			return types.Type{}, nil, typeErr("%s: cannot mix %s and %s", name, rt, t)
		}
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		out[i] = coerce(a, rt)
	}
	return rt, out, nil
}

// When is one WHEN ... THEN ... branch of a CASE.
type When struct{ Cond, Then Expr }

type caseNode struct {
	operand Expr
	whens   []When
	els     Expr
	conds   []Expr // BOOLEAN conditions (operand = value for a simple CASE)
	thens   []Expr // coerced to t; the last is ELSE (a NULL literal if absent)
	t       types.Type
}

// Case builds CASE [operand] WHEN ... THEN ... [ELSE ...] END. With a nil
// operand each When.Cond is a BOOLEAN condition (searched CASE); otherwise
// each is a value compared with the operand. A branch is evaluated for the
// whole batch, but its row errors count only for the rows that take it.
func Case(operand Expr, whens []When, els Expr) (Expr, error) {
	if len(whens) == 0 {
		return nil, typeErr("CASE needs at least one WHEN")
	}
	c := &caseNode{operand: operand, whens: whens, els: els}
	results := make([]Expr, 0, len(whens)+1)
	for i, w := range whens {
		if w.Cond == nil || w.Then == nil {
			return nil, typeErr("CASE: WHEN %d is incomplete", i+1)
		}
		cond := w.Cond
		if operand != nil {
			eq, err := Call("=", operand, w.Cond)
			if err != nil {
				return nil, err
			}
			cond = eq
		} else if _, err := boolArg("CASE WHEN", cond); err != nil {
			return nil, err
		} else {
			cond = coerce(cond, types.TBoolean)
		}
		c.conds = append(c.conds, cond)
		results = append(results, w.Then)
	}
	if els == nil {
		els, _ = Lit(nil, types.TNull)
	}
	results = append(results, els)
	rt, cs, err := unify("CASE", results)
	if err != nil {
		return nil, err
	}
	if rt.Kind == types.Null {
		rt = types.TBoolean // CASE whose branches are all NULL
		for i := range cs {
			cs[i] = coerce(results[i], rt)
		}
	}
	c.thens, c.t = cs, rt
	return c, nil
}

func (c *caseNode) Type() types.Type { return c.t }

func (c *caseNode) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	if c.operand != nil {
		b.WriteString(" " + c.operand.String())
	}
	for _, w := range c.whens {
		fmt.Fprintf(&b, " WHEN %s THEN %s", w.Cond, w.Then)
	}
	if c.els != nil {
		fmt.Fprintf(&b, " ELSE %s", c.els)
	}
	b.WriteString(" END")
	return b.String()
}

func (c *caseNode) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	n := int(rec.NumRows())
	choice := make([]int32, n)
	for i := range choice {
		choice[i] = -1
	}
	left := n
	for w, cond := range c.conds {
		if left == 0 {
			break
		}
		vals, valid, rel, err := condRows(ec, rec, cond, choice)
		if err != nil {
			return nil, err
		}
		for i := range n {
			if choice[i] < 0 && isValid(valid, i) && isValid(vals, i) {
				choice[i] = int32(w)
				left--
			}
		}
		rel()
	}
	els := int32(len(c.thens) - 1)
	for i := range choice {
		if choice[i] < 0 {
			choice[i] = els
		}
	}
	return pick(ec, rec, c.t, c.thens, choice)
}

// condRows evaluates a condition, keeping row errors only for the rows that
// still need it (choice < 0).
func condRows(ec *EvalContext, rec arrow.Record, cond Expr, choice []int32) ([]byte, []byte, func(), error) {
	sub := &EvalContext{Mem: ec.Mem, QueryStart: ec.QueryStart, Errors: &RowErrors{}, Now: ec.Now}
	vals, valid, rel, err := boolParts(sub, rec, cond)
	if err != nil {
		return nil, nil, nil, err
	}
	sub.Errors.Each(func(row int, e RowError) {
		if choice[row] < 0 {
			ec.Errors.Add(row, e.Name, "%s", e.Message)
		}
	})
	return vals, valid, rel, nil
}

// pick evaluates each branch that some row takes and assembles the result,
// row i from branch choice[i]. Row errors of a branch count only for rows
// that took it.
func pick(ec *EvalContext, rec arrow.Record, t types.Type, branches []Expr, choice []int32) (arrow.Array, error) {
	n := len(choice)
	used := make([]bool, len(branches))
	for _, ch := range choice {
		used[ch] = true
	}
	srcs := make([]arrow.Array, len(branches))
	defer releaseAll(srcs)
	for b, e := range branches {
		if !used[b] {
			continue
		}
		sub := &EvalContext{Mem: ec.Mem, QueryStart: ec.QueryStart, Errors: &RowErrors{}, Now: ec.Now}
		a, err := e.Eval(sub, rec)
		if err != nil {
			return nil, err
		}
		srcs[b] = a
		sub.Errors.Each(func(row int, re RowError) {
			if choice[row] == int32(b) {
				ec.Errors.Add(row, re.Name, "%s", re.Message)
			}
		})
	}
	for b, a := range srcs {
		if a != nil && a.DataType().ID() == arrow.NULL {
			a.Release()
			srcs[b] = nullArray(ec.Mem, t, n)
		}
	}
	return gather(ec.Mem, t, srcs, choice), nil
}

// gather builds an array of type t whose row i is row i of srcs[choice[i]].
func gather(mem memory.Allocator, t types.Type, srcs []arrow.Array, choice []int32) arrow.Array {
	n := len(choice)
	switch t.Kind {
	case types.TinyInt:
		return gatherFixed[int8](mem, t, srcs, choice)
	case types.SmallInt:
		return gatherFixed[int16](mem, t, srcs, choice)
	case types.Integer, types.Date, types.Time:
		return gatherFixed[int32](mem, t, srcs, choice)
	case types.BigInt, types.Timestamp, types.Interval:
		return gatherFixed[int64](mem, t, srcs, choice)
	case types.Real:
		return gatherFixed[float32](mem, t, srcs, choice)
	case types.Double:
		return gatherFixed[float64](mem, t, srcs, choice)
	case types.Decimal:
		return gatherFixed[decimal128.Num](mem, t, srcs, choice)
	case types.Boolean:
		vals, valid := newBitmap(mem, n), newBitmap(mem, n)
		for i, ch := range choice {
			a := srcs[ch].(*array.Boolean)
			if a.IsValid(i) {
				valid.setBit(i)
				if a.Value(i) {
					vals.setBit(i)
				}
			}
		}
		return boolOut(vals, valid, n)
	case types.Char, types.Varchar:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i, ch := range choice {
			a := srcs[ch].(*array.String)
			if a.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(a.Value(i))
			}
		}
		return b.NewArray()
	case types.Binary, types.Varbinary:
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		for i, ch := range choice {
			a := srcs[ch].(*array.Binary)
			if a.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(a.Value(i))
			}
		}
		return b.NewArray()
	}
	return nullArray(mem, t, n)
}

func gatherFixed[T fixed](mem memory.Allocator, t types.Type, srcs []arrow.Array, choice []int32) arrow.Array {
	n := len(choice)
	out := newFixed[T](mem, n)
	vs := make([][]T, len(srcs))
	ns := make([][]byte, len(srcs))
	for b, a := range srcs {
		if a != nil {
			vs[b], ns[b] = valuesOf[T](a), validity(a)
		}
	}
	var valid bitmap
	for i, ch := range choice {
		if !isValid(ns[ch], i) {
			valid.clearBit(mem, n, i)
			continue
		}
		out.vals[i] = vs[ch][i]
	}
	return out.finish(t.Arrow(), valid)
}

// coalesce evaluates the arguments in turn, each only while some row is
// still NULL; errors of an argument count only for the rows that reached it.
func coalesce(ec *EvalContext, rec arrow.Record, t types.Type, args []Expr) (arrow.Array, error) {
	n := int(rec.NumRows())
	choice := make([]int32, n)
	for i := range choice {
		choice[i] = -1
	}
	srcs := make([]arrow.Array, len(args))
	defer releaseAll(srcs)
	left := n
	last := -1
	for k, e := range args {
		if left == 0 {
			break
		}
		sub := &EvalContext{Mem: ec.Mem, QueryStart: ec.QueryStart, Errors: &RowErrors{}, Now: ec.Now}
		a, err := e.Eval(sub, rec)
		if err != nil {
			return nil, err
		}
		if a.DataType().ID() == arrow.NULL {
			a.Release()
			a = nullArray(ec.Mem, t, n)
		}
		srcs[k] = a
		last = k
		sub.Errors.Each(func(row int, re RowError) {
			if choice[row] < 0 {
				ec.Errors.Add(row, re.Name, "%s", re.Message)
			}
		})
		for i := range n {
			if choice[i] < 0 && a.IsValid(i) {
				choice[i] = int32(k)
				left--
			}
		}
	}
	for i := range choice {
		if choice[i] < 0 {
			choice[i] = int32(last) // NULL there
		}
	}
	return gather(ec.Mem, t, srcs, choice), nil
}
