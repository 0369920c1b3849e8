package plan

import (
	"testing"

	"github.com/kdaproject/kda/sql/types"
)

func TestFunctionTypesAcceptOnlyLosslessValuesOfTheSameFamily(t *testing.T) {
	dec := func(p, s int) types.Type { return types.Type{Kind: types.Decimal, Precision: p, Scale: s} }
	for _, c := range []struct {
		name     string
		from, to types.Type
		ok, cast bool
	}{
		{"the same type needs nothing", types.TInteger, types.TInteger, true, false},
		{"a narrower integer widens", types.TSmallInt, types.TBigInt, true, true},
		{"a wider integer is refused", types.TBigInt, types.TInteger, false, false},
		{"REAL widens to DOUBLE", types.TReal, types.TDouble, true, true},
		{"DOUBLE does not narrow to REAL", types.TDouble, types.TReal, false, false},
		{"an integer is not a DOUBLE", types.TInteger, types.TDouble, false, false},
		{"a DECIMAL with room widens", dec(5, 2), dec(10, 3), true, true},
		{"a DECIMAL losing decimals is refused", dec(5, 2), dec(10, 1), false, false},
		{"a DECIMAL losing integer digits is refused", dec(10, 2), dec(6, 2), false, false},
		{"NULL fits anything", types.TNull, types.TTimestamp, true, true},
		{"VARCHAR into a shorter VARCHAR is cut", types.VarcharOf(20), types.VarcharOf(10), true, true},
		{"VARCHAR into a longer VARCHAR is as is", types.VarcharOf(5), types.VarcharOf(10), true, false},
		{"a string is not a number", types.VarcharOf(5), types.TInteger, false, false},
		{"a DATE is not a TIMESTAMP", types.TDate, types.TTimestamp, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cast, ok := implicit(c.from, c.to)
			if ok != c.ok || (ok && cast != c.cast) {
				t.Errorf("implicit(%s, %s) = cast %v, ok %v; want cast %v, ok %v", c.from, c.to, cast, ok, c.cast, c.ok)
			}
		})
	}
}
