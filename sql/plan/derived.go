package plan

import (
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/sql/dialect"
)

// Derived join inputs. A join reads its inputs by name (join.StreamJoin
// subscribes to two streams), so a subquery joined as an input —
//
//	FROM (SELECT STREAM ... FROM a UNION ALL SELECT STREAM ... FROM b) AS u
//	JOIN c OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS c ON u.k = c.k
//
// is lowered, like a UNION ALL in FROM (union.go) and the steps of a join
// chain (streamchain.go), into a generated pump that fills a stream of its
// own: P$Uk for a UNION ALL, P$Dk for a SELECT. The join reads that
// stream under the subquery's alias. A subquery has no window of its own
// (OVER follows a stream's name), so the other input carries the join's
// window.

// derivedStream plans the subquery sub, joined as the FROM item t, into a
// generated stream and returns it.
func (p *planner) derivedStream(q *dialect.Query, t *sqlparser.AliasedTableExpr, sub *sqlparser.Subquery) (*Stream, error) {
	at := q.Pos
	if pos, ok := q.Locate(t); ok {
		at = pos
	}
	if _, ok := q.TableFunctions[t.As.String()]; ok {
		return nil, p.errAt(at, "a table function joins in a pump of its own: select from its stream here")
	}
	if _, ok := q.ColumnAliases[t.As.String()]; ok {
		return nil, p.errAt(at, "a subquery joined as an input takes no column aliases: name the columns inside it (SELECT STREAM x AS a, ...)")
	}
	if st := p.chains.derived[sub]; st != nil {
		return st, nil
	}
	var source string
	if u := unionOf(sub.Select); u != nil {
		s, err := p.unionSubquery(q, sub, u)
		if err != nil {
			return nil, err
		}
		source = s.source
	} else {
		sel, ok := sub.Select.(*sqlparser.Select)
		if !ok {
			return nil, p.errAt(at, "UNION and other set operations are not supported yet")
		}
		s, err := p.planSelect(q, sel)
		if err != nil {
			return nil, err
		}
		name, err := p.generatedName(at, "$D")
		if err != nil {
			return nil, err
		}
		pump := &Pump{Name: name, Source: s.source, Target: name, Schema: s.schema, ops: s.ops}
		for _, o := range s.ops {
			pump.Explain = append(pump.Explain, o.describe)
		}
		p.addGenerated(&Stream{Name: name, Schema: s.schema}, pump) // streamchain.go
		source = name
	}
	if p.chains.derived == nil {
		p.chains.derived = map[*sqlparser.Subquery]*Stream{}
	}
	p.chains.derived[sub] = p.streams[source]
	return p.streams[source], nil
}

// generatedName is the next free name of the pump being planned with the
// suffix kind ("$D"): P$D1, P$D2, ... A stream or pump of the program so
// named is an error at at.
func (p *planner) generatedName(at dialect.Pos, kind string) (string, error) {
	prefix := p.chains.pump + kind
	k := 1
	for _, n := range p.chains.made {
		if strings.HasPrefix(n, prefix) {
			k++
		}
	}
	name := prefix + strconv.Itoa(k)
	if _, ok := p.streams[name]; (ok || p.pumps[name]) && !p.chains.generated(name) {
		what := "stream"
		if !ok {
			what = "pump"
		}
		return "", p.errAt(at, "%s %s already exists: kda gives that name to a stream and pump it makes for pump %s's query; rename it",
			what, quoteName(name), quoteName(p.chains.pump))
	}
	return name, nil
}
