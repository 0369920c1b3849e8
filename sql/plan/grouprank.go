package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/order"
	"github.com/kdaproject/kda/sql/types"
)

// GROUP_RANK (KDA-SQL.md §4 "Sorting"; SR sql-reference-group-rank-udx):
//
//	GROUP_RANK(CURSOR(q), 'rankByColumn', 'rankOutColumn', sortOrder, outputOrder, maxIdle, outputMax)
//	    q's columns, then <rankOutColumn> INTEGER
//
// sortOrder and outputOrder are 'asc' or 'desc'; maxIdle is in
// milliseconds (0: no idle timeout) and outputMax caps the rows per group
// (0: no limit). See order.GroupRankSpec for what kda does with them.

// groupRank reads GROUP_RANK's arguments over the cursor's schema in.
func (a tfArgs) groupRank(in types.Schema) (string, func() (operators.Operator, error), error) {
	col, err := a.column(0, in)
	if err != nil {
		return "", nil, err
	}
	out, t, ok := a.literal(1)
	if !ok || t != sqlparser.StrVal || out == "" {
		return "", nil, a.errAt(1, "GROUP_RANK's rankOutColumnName must be a column name in single quotes, as in 'PRICE_RANK'")
	}
	if in.Index(out) >= 0 {
		return "", nil, a.errAt(1, "GROUP_RANK's rank column %s is already a column of its CURSOR", quoteName(out))
	}
	order2 := func(i int, what string) (bool, error) {
		s, _, ok := a.literal(i)
		switch v := strings.ToLower(s); {
		case ok && v == "asc":
			return false, nil
		case ok && v == "desc":
			return true, nil
		}
		return false, a.errAt(i, "GROUP_RANK's %s must be 'asc' or 'desc'", what)
	}
	desc, err := order2(2, "sortOrder")
	if err != nil {
		return "", nil, err
	}
	outDesc, err := order2(3, "outputOrder")
	if err != nil {
		return "", nil, err
	}
	idle, err := a.integer(4, "maxIdle", 0, 1<<31-1)
	if err != nil {
		return "", nil, err
	}
	max, err := a.integer(5, "outputMax", 0, 1<<31-1)
	if err != nil {
		return "", nil, err
	}
	spec := order.GroupRankSpec{Input: in, Column: in.Index(col), RankName: out, Descending: desc,
		OutputDescending: outDesc, MaxIdle: time.Duration(idle) * time.Millisecond, OutputMax: max}
	word := map[bool]string{false: "asc", true: "desc"}
	desc2 := fmt.Sprintf("GROUP_RANK by %s into %s sort %s output %s max idle %dms output max %d", quoteName(col), quoteName(out), word[desc], word[outDesc], idle, max)
	return desc2, func() (operators.Operator, error) { return order.NewGroupRank(spec) }, nil
}
