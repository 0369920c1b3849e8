package plan

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// ROW field access. The log parsing functions return ROW values, which a
// derived table carries as a column and the enclosing query takes apart:
//
//	SELECT STREAM t.r.COLUMN1, t.r."COL_1", r.COLUMN2
//	FROM (SELECT STREAM REGEX_LOG_PARSE(line, '(\w+) (\w+)') AS r FROM s) AS t
//
// sqlparser reads a.b.c as ColName{Qualifier: TableName{Qualifier: a,
// Name: b}, Name: c} and r.c as ColName{Qualifier: TableName{Name: r},
// Name: c}; resolve asks rowField first, which binds both forms when b (or
// r, when it is not a stream or alias) is a ROW column of the scope.

// rowField binds c when it names a field of a ROW column; ok is false when
// c is an ordinary column reference.
func (b *binder) rowField(c *sqlparser.ColName) (x expr.Expr, ok bool, err error) {
	if b.sc.join != nil {
		return nil, false, nil // the two sides of a join resolve their own names (join.go)
	}
	q := c.Qualifier
	var rowName string
	switch {
	case !q.Qualifier.IsEmpty():
		if a := q.Qualifier.String(); !b.sc.qualifies(a) {
			return nil, true, b.errAt(c, "unknown stream or alias %s in %s", quoteName(a), sqlparser.String(c))
		}
		rowName = q.Name.String()
	case !q.Name.IsEmpty() && !b.sc.qualifies(q.Name.String()) && b.sc.schema.Index(q.Name.String()) > 0:
		rowName = q.Name.String()
	default:
		return nil, false, nil
	}
	i := b.sc.schema.Index(rowName)
	if i < 0 {
		return nil, true, b.errAt(c, "unknown column %s in %s (the stream has %s)", quoteName(rowName), sqlparser.String(c), columnList(b.sc.schema))
	}
	f := b.sc.schema.Fields[i]
	if f.Type.Kind != types.Row {
		return nil, true, b.errAt(c, "column %s is %s, not a ROW: %s has no fields", quoteName(rowName), f.Type, quoteName(rowName))
	}
	name := c.Name.String()
	if f.Type.FieldIndex(name) < 0 {
		for _, rf := range f.Type.Row.Fields {
			if strings.EqualFold(rf.Name, name) {
				return nil, true, b.errAt(c, "the ROW %s has no field %s: did you mean %s? (quoted names keep their case, unquoted ones are upper-cased)",
					quoteName(rowName), quoteName(name), quoteName(rf.Name))
			}
		}
	}
	x, err = expr.Field(expr.Col(i, f.Type, f.Name), name)
	return x, true, b.wrap(c, err)
}

// argError reports err, from binding the call at node, at the argument it
// is about, and an unsupported Java regular expression construct at the
// construct itself when the literal can be read back from the source.
func (b *binder) argError(node sqlparser.SQLNode, err error) error {
	node = argNode(node, err)
	pos, ok := b.q.Locate(node)
	if !ok {
		pos = b.q.Pos
	}
	var je *expr.JavaRegexError
	if errors.As(err, &je) {
		pos = insideLiteral(b.p.prog.Source, pos, je.Pattern, je.Offset)
	}
	return b.p.errAt(pos, "%s", err.Error())
}

// insideLiteral moves pos, the position of the literal 'text', to byte
// offset off of text, when the source spells that much of the literal
// as is (no doubled quotes, no line breaks); otherwise pos stays.
func insideLiteral(src string, pos dialect.Pos, text string, off int) dialect.Pos {
	start := pos.Offset + 1
	if pos.Offset < 0 || off > len(text) || start+off > len(src) || src[pos.Offset] != '\'' {
		return pos
	}
	prefix := text[:off]
	if src[start:start+off] != prefix || strings.ContainsAny(prefix, "\n'") {
		return pos
	}
	pos.Offset = start + off
	pos.Col += 1 + utf8.RuneCountInString(prefix)
	return pos
}

// argNode narrows an error about one argument of a call (expr.ArgError:
// a pattern that is not a literal, an invalid log format) to that
// argument's node, so the caret points at it.
func argNode(node sqlparser.SQLNode, err error) sqlparser.SQLNode {
	var ae *expr.ArgError
	f, ok := node.(*sqlparser.FuncExpr)
	if !ok || !errors.As(err, &ae) || ae.Arg < 0 || ae.Arg >= len(f.Exprs) {
		return node
	}
	if a := unaliased(f.Exprs[ae.Arg]); a != nil {
		return a
	}
	return node
}
