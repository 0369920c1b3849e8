package expr

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/sql/types"
)

// Date and time functions. All times are UTC. CURRENT_* and LOCAL* are
// fixed at EvalContext.QueryStart; CURRENT_ROW_TIMESTAMP reads
// EvalContext.Now once per batch.

var timeUnits = map[string]bool{"SECOND": true, "MINUTE": true, "HOUR": true, "DAY": true, "MONTH": true, "YEAR": true}

// truncTo floors epoch milliseconds to a unit.
func truncTo(ms int64, unit string) int64 {
	switch unit {
	case "SECOND":
		return floorDiv(ms, 1000) * 1000
	case "MINUTE":
		return floorDiv(ms, 60_000) * 60_000
	case "HOUR":
		return floorDiv(ms, 3_600_000) * 3_600_000
	case "DAY":
		return floorDiv(ms, msPerDay) * msPerDay
	}
	t := time.UnixMilli(ms).UTC()
	if unit == "MONTH" {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// ceilTo is the smallest unit boundary at or after ms.
func ceilTo(ms int64, unit string) int64 {
	f := truncTo(ms, unit)
	if f == ms {
		return f
	}
	t := time.UnixMilli(f).UTC()
	switch unit {
	case "MONTH":
		return t.AddDate(0, 1, 0).UnixMilli()
	case "YEAR":
		return t.AddDate(1, 0, 0).UnixMilli()
	}
	return truncTo(ms+map[string]int64{"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": msPerDay}[unit], unit)
}

func registerDatetime(r *Registry) {
	constant := func(name string, t types.Type, v func(q time.Time) int64) {
		r.add(name, name+" -> "+t.String(), "datetime", "fixed when the query starts (UTC)", func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 0, 0); err != nil {
				return nil, err
			}
			return &callNode{name: name, t: types.Type{Kind: t.Kind, NotNull: true}, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
				l := &literal{t: t, i: v(ec.QueryStart)}
				return l.broadcast(ec.Mem, int(rec.NumRows())), nil
			}}, nil
		})
	}
	ts := func(q time.Time) int64 { return q.UnixMilli() }
	constant("CURRENT_TIMESTAMP", types.TTimestamp, ts)
	constant("LOCALTIMESTAMP", types.TTimestamp, ts)
	constant("CURRENT_DATE", types.TDate, func(q time.Time) int64 { return floorDiv(q.UnixMilli(), msPerDay) })
	tod := func(q time.Time) int64 { return floorMod(q.UnixMilli(), msPerDay) }
	constant("CURRENT_TIME", types.TTime, tod)
	constant("LOCALTIME", types.TTime, tod)
	r.add("CURRENT_ROW_TIMESTAMP", "CURRENT_ROW_TIMESTAMP -> TIMESTAMP", "datetime",
		"the engine clock when the row is evaluated (EvalContext.Now)", func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 0, 0); err != nil {
				return nil, err
			}
			return &callNode{name: name, t: types.Type{Kind: types.Timestamp, NotNull: true}, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
				if ec.Now == nil {
					return nil, fmt.Errorf("EvalContext.Now is not set")
				}
				l := &literal{t: types.TTimestamp, i: ec.Now().UnixMilli()}
				return l.broadcast(ec.Mem, int(rec.NumRows())), nil
			}}, nil
		})
	r.rowFunc("UNIX_TIMESTAMP", "UNIX_TIMESTAMP(ts TIMESTAMP) -> BIGINT", "datetime", "milliseconds since the epoch", 1, 1, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := need("UNIX_TIMESTAMP", args, 0, "a TIMESTAMP", isTS); err != nil {
				return types.Type{}, nil, nil, err
			}
			return types.TBigInt, []Expr{coerce(args[0], types.TTimestamp)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				return out.Int(argInt(a[0], i))
			}, nil
		})
	r.rowFunc("TO_TIMESTAMP", "TO_TIMESTAMP(ms BIGINT) -> TIMESTAMP", "datetime", "the timestamp ms milliseconds after the epoch", 1, 1, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := need("TO_TIMESTAMP", args, 0, "an integer", isInt); err != nil {
				return types.Type{}, nil, nil, err
			}
			return types.TTimestamp, []Expr{coerce(args[0], types.TBigInt)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				return out.Int(argInt(a[0], i))
			}, nil
		})
	r.rowFunc("TSDIFF", "TSDIFF(a TIMESTAMP|BIGINT, b TIMESTAMP|BIGINT) -> BIGINT", "datetime", "a - b in milliseconds", 2, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			cargs := make([]Expr, 2)
			for k := range args {
				t := args[k].Type()
				switch {
				case isTS(t):
					cargs[k] = coerce(args[k], types.TTimestamp)
				case t.IsInteger() || t.Kind == types.Null:
					cargs[k] = coerce(args[k], types.TBigInt)
				default:
					return types.Type{}, nil, nil, typeErr("TSDIFF: argument %d must be a TIMESTAMP or BIGINT, got %s", k+1, t)
				}
			}
			return types.TBigInt, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				x, y := argInt(a[0], i), argInt(a[1], i)
				d := x - y
				if (d > x) != (y < 0) {
					return fmt.Errorf("overflow")
				}
				return out.Int(d)
			}, nil
		})
	unitArg := func(name string, e Expr, units map[string]bool) (string, error) {
		u, ok := literalString(e)
		u = strings.ToUpper(u)
		if !ok || !units[u] {
			return "", typeErr("%s: the unit must be a literal among SECOND, MINUTE, HOUR, DAY, MONTH, YEAR", name)
		}
		return u, nil
	}
	for _, name := range []string{"KDA_FLOOR_TO", "KDA_CEIL_TO"} {
		ceil := name == "KDA_CEIL_TO"
		r.rowFunc(name, name+"(ts TIMESTAMP, unit) -> TIMESTAMP", "datetime",
			"FLOOR/CEIL(ts TO unit); unit is SECOND, MINUTE, HOUR, DAY, MONTH or YEAR", 2, 2, rowOpts{},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				if err := need(name, args, 0, "a TIMESTAMP", isTS); err != nil {
					return types.Type{}, nil, nil, err
				}
				unit, err := unitArg(name, args[1], timeUnits)
				if err != nil {
					return types.Type{}, nil, nil, err
				}
				return types.TTimestamp, []Expr{coerce(args[0], types.TTimestamp)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					if ceil {
						return out.Int(ceilTo(argInt(a[0], i), unit))
					}
					return out.Int(truncTo(argInt(a[0], i), unit))
				}, nil
			})
	}
	r.rowFunc("KDA_EXTRACT", "KDA_EXTRACT(unit, x TIMESTAMP|DATE|TIME|INTERVAL) -> BIGINT", "datetime",
		"EXTRACT(unit FROM x): YEAR, MONTH, DAY, HOUR, MINUTE or SECOND", 2, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			unit, err := unitArg("EXTRACT", args[0], timeUnits)
			if err != nil {
				return types.Type{}, nil, nil, err
			}
			t := args[1].Type()
			switch t.Kind {
			case types.Timestamp, types.Date, types.Time, types.Interval:
			default:
				return types.Type{}, nil, nil, typeErr("EXTRACT: cannot extract from %s", t)
			}
			if t.Kind == types.Interval && (unit == "YEAR" || unit == "MONTH") {
				return types.Type{}, nil, nil, typeErr("EXTRACT: %s of a day-time INTERVAL", unit)
			}
			kind := t.Kind
			return types.TBigInt, []Expr{args[1]}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				v := argInt(a[0], i)
				if kind == types.Interval {
					sign := int64(1)
					if v < 0 {
						sign, v = -1, -v
					}
					var x int64
					switch unit {
					case "DAY":
						x = v / msPerDay
					case "HOUR":
						x = v / 3_600_000 % 24
					case "MINUTE":
						x = v / 60_000 % 60
					case "SECOND":
						x = v / 1000 % 60
					}
					return out.Int(sign * x)
				}
				if kind == types.Date {
					v *= msPerDay
				}
				tm := time.UnixMilli(v).UTC()
				switch unit {
				case "YEAR":
					return out.Int(int64(tm.Year()))
				case "MONTH":
					return out.Int(int64(tm.Month()))
				case "DAY":
					return out.Int(int64(tm.Day()))
				case "HOUR":
					return out.Int(int64(tm.Hour()))
				case "MINUTE":
					return out.Int(int64(tm.Minute()))
				}
				return out.Int(int64(tm.Second()))
			}, nil
		})
	// Format-first conversions with Java SimpleDateFormat patterns.
	parser := func(name string, rt types.Type, conv func(ms int64) int64) {
		r.rowFunc(name, name+"(format, s) -> "+rt.String(), "datetime",
			"parse s with a SimpleDateFormat pattern; a mismatch is a row error", 2, 2, rowOpts{errName: "CAST"},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				for k := range args {
					if err := need(name, args, k, "a string", isStr); err != nil {
						return types.Type{}, nil, nil, err
					}
				}
				pc, err := newSDFCache(args[0])
				if err != nil {
					return types.Type{}, nil, nil, err
				}
				str := types.Type{Kind: types.Varchar}
				return rt, []Expr{coerce(args[0], str), coerce(args[1], str)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					p, err := pc.get(argStr(a[0], i))
					if err != nil {
						return err
					}
					ms, err := p.parse(argStr(a[1], i))
					if err != nil {
						return err
					}
					return out.Int(conv(ms))
				}, nil
			})
	}
	parser("CHAR_TO_TIMESTAMP", types.TTimestamp, func(ms int64) int64 { return ms })
	parser("CHAR_TO_DATE", types.TDate, func(ms int64) int64 { return floorDiv(ms, msPerDay) })
	parser("CHAR_TO_TIME", types.TTime, func(ms int64) int64 { return floorMod(ms, msPerDay) })
	formatter := func(name string, in types.Kind, nullText bool) {
		doc := "format with a SimpleDateFormat pattern"
		if nullText {
			doc += "; a NULL value gives the string 'null' (as KDA does)"
		}
		r.rowFunc(name, name+"(format, x "+in.String()+") -> VARCHAR", "datetime", doc, 2, 2, rowOpts{seeNulls: nullText},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				if err := need(name, args, 0, "a string", isStr); err != nil {
					return types.Type{}, nil, nil, err
				}
				if err := need(name, args, 1, in.String(), func(t types.Type) bool {
					return t.Kind == in || (in == types.Timestamp && t.Kind == types.Date)
				}); err != nil {
					return types.Type{}, nil, nil, err
				}
				pc, err := newSDFCache(args[0])
				if err != nil {
					return types.Type{}, nil, nil, err
				}
				x := coerce(args[1], types.Type{Kind: in})
				return types.Type{Kind: types.Varchar}, []Expr{coerce(args[0], types.Type{Kind: types.Varchar}), x},
					func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
						if a[0].IsNull(i) {
							out.Null()
							return nil
						}
						if a[1].IsNull(i) {
							return out.Str("null")
						}
						p, err := pc.get(argStr(a[0], i))
						if err != nil {
							return err
						}
						v := argInt(a[1], i)
						if in == types.Date {
							v *= msPerDay
						}
						return out.Str(p.format(v))
					}, nil
			})
	}
	formatter("TIMESTAMP_TO_CHAR", types.Timestamp, true)
	formatter("DATE_TO_CHAR", types.Date, false)
	formatter("TIME_TO_CHAR", types.Time, false)
}
