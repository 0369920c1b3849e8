package dialect

import (
	"reflect"
	"time"

	"github.com/kdaproject/kda/sql/types"
	"github.com/xwb1989/sqlparser"
)

// Program is a parsed application: its statements in source order.
type Program struct {
	Source     string
	Statements []Statement
}

// Statement is one of *CreateStream, *CreatePump, *CreateFunction,
// *CreateAggregateFunction and *SelectStatement.
type Statement interface {
	// Position is where the statement's first keyword is.
	Position() Pos
}

// CreateStream is CREATE [OR REPLACE] STREAM name (columns) [DESCRIPTION '...'].
// The implicit ROWTIME column is not listed in Columns.
type CreateStream struct {
	Pos         Pos
	OrReplace   bool
	Name        string
	Columns     []ColumnDef
	Description string
	// Lowered names the pump whose query Parse turned into this stream
	// and others (hopjoin.go), or is "" for a stream the program creates.
	Lowered string
}

// ColumnDef is a column of a stream or a parameter of a function. NOT NULL
// is carried as Type.NotNull.
type ColumnDef struct {
	Pos  Pos
	Name string
	Type types.Type
}

// CreatePump is CREATE [OR REPLACE] PUMP name AS INSERT [EXPEDITED] INTO
// target [(columns)] query.
type CreatePump struct {
	Pos       Pos
	OrReplace bool
	Name      string
	Target    string
	Columns   []string // nil when the INSERT names no columns
	Expedited bool
	Query     *Query
	// Lowered names the pump whose query Parse turned into this pump and
	// others (hopjoin.go), or is "" for a pump the program creates.
	Lowered string

	// hop is the HOP window join of several slides of Query, which Parse
	// turns into a pump per shift and a pump that merges them (hopjoin.go).
	hop *hopJoin
}

// CreateFunction is a scalar UDF: LANGUAGE SQL with a RETURN expression, or
// kda's LANGUAGE JAVASCRIPT AS '<text>' (or $$<text>$$).
type CreateFunction struct {
	Pos       Pos
	OrReplace bool
	Name      string
	Params    []ColumnDef
	Returns   types.Type
	Language  string // "SQL" or "JAVASCRIPT"
	// Body is the source text of the RETURN expression (SQL) or the script
	// (JAVASCRIPT).
	Body string
	// BodyExpr is the RETURN expression, rewritten like any query
	// expression; nil for JAVASCRIPT.
	BodyExpr               sqlparser.Expr
	Deterministic          bool
	ReturnsNullOnNullInput bool
	// BodyPos is where a JAVASCRIPT Body starts in the source, to place
	// the script's own positions (syntax errors) in the SQL text.
	BodyPos Pos
	// Locations maps BodyExpr's nodes back to the source.
	Locations
}

// SelectStatement is a bare SELECT [STREAM] outside a pump (a preview).
type SelectStatement struct {
	Pos   Pos
	Query *Query
}

func (s *CreateStream) Position() Pos    { return s.Pos }
func (s *CreatePump) Position() Pos      { return s.Pos }
func (s *CreateFunction) Position() Pos  { return s.Pos }
func (s *SelectStatement) Position() Pos { return s.Pos }

// Query is a query rewritten into a sqlparser AST plus the streaming clauses
// sqlparser has no room for. Fields other than Blocks, Windows,
// TableFunctions and Locations describe the outermost SELECT block (for a
// UNION: its first block, except OrderWithin, which belongs to the ORDER BY
// that follows the last block).
type Query struct {
	Pos    Pos
	Stream bool
	AST    sqlparser.SelectStatement

	// Windows holds every window of the query tree, nested blocks included,
	// under the key that KDA_OVER's second argument and Block.JoinWindows
	// name: the user's name for WINDOW entries (with "#2", "#3"... appended
	// when two blocks reuse a name) and "$1", "$2"... for inline OVER (...).
	Windows     map[string]*WindowSpec
	Stagger     *StaggerSpec
	OrderWithin *OrderWithin

	// Blocks gives the streaming clauses of every SELECT block of the tree,
	// the outermost one included, keyed by its AST node.
	Blocks map[*sqlparser.Select]*Block

	// TableFunctions records each TABLE(fn(CURSOR(query), args...)) of a
	// FROM clause. In the AST the call is the derived table
	// "(query) AS alias"; this map, keyed by that alias, holds the function
	// and its other arguments.
	TableFunctions map[string]*TableFunction

	// WindowTVFs records each Flink window table function of a FROM
	// clause, TABLE(TUMBLE(TABLE s, DESCRIPTOR(c), size)) AS alias, keyed
	// by alias (the stream's name without one). In the AST it is the plain
	// FROM item "s AS alias" and its window columns are STEP expressions
	// (windowtvf.go).
	WindowTVFs map[string]*WindowTVF

	// ColumnAliases records derived-table column lists "AS t(a, b)", which
	// sqlparser cannot hold: the AST keeps "AS t", this map t -> [A B].
	ColumnAliases map[string][]string

	// Locations maps AST nodes back to the user's source.
	Locations
}

// Block is the streaming part of one SELECT block.
type Block struct {
	Pos         Pos
	Stream      bool
	Windows     []string // keys into Query.Windows of the block's WINDOW entries
	Stagger     *StaggerSpec
	OrderWithin *OrderWithin
	// JoinWindows maps the alias (or, without one, the name) of a FROM item
	// written "s OVER (...)" or "s OVER w" to its key in Query.Windows.
	JoinWindows map[string]string
	// Values marks the SELECT that stands for one row of a VALUES FROM
	// item (values.go).
	Values bool
}

// WindowSpec is a sliding window: PARTITION BY ... and RANGE INTERVAL n unit
// PRECEDING or ROWS n PRECEDING; CURRENT ROW is Range 0 / Rows 0.
type WindowSpec struct {
	Pos         Pos
	Name        string // the user's name, or "" for an inline spec
	PartitionBy []sqlparser.Expr
	Range       time.Duration
	Rows        int
	IsRows      bool
	Following   bool // RANGE ... FOLLOWING, allowed on a join side only
}

// StaggerSpec is WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL ...).
type StaggerSpec struct {
	Pos         Pos
	PartitionBy []sqlparser.Expr
	Range       time.Duration
}

// OrderWithin is the T-sort ORDER BY expr WITHIN INTERVAL ...; Expr is the
// same node as the first expression of the AST's ORDER BY.
type OrderWithin struct {
	Pos    Pos
	Expr   sqlparser.Expr
	Within time.Duration
}

// TableFunction is TABLE(Name(CURSOR(...), Args...)).
type TableFunction struct {
	Pos   Pos
	Name  string
	Alias string
	// Cursor is the derived table that stands for CURSOR(query) in the AST.
	Cursor *sqlparser.Subquery
	Args   []sqlparser.Expr
}

// Locations maps nodes of a sqlparser AST back to the user's source. Every
// pointer node (ColName, FuncExpr, SQLVal, ComparisonExpr, AliasedExpr,
// Select, Subquery...) is recorded at the position of its first token, so a
// planner error about any sub-expression can point at the user's text.
type Locations struct {
	m map[sqlparser.SQLNode]Pos
}

// Locate returns where node starts in the source. It reports false for
// nodes it does not know: value nodes (ColIdent, TableName...) and nodes
// the planner built itself.
func (l Locations) Locate(node sqlparser.SQLNode) (Pos, bool) {
	if node == nil || l.m == nil {
		return Pos{}, false
	}
	if v := reflect.ValueOf(node); v.Kind() != reflect.Pointer || v.IsNil() {
		return Pos{}, false
	}
	p, ok := l.m[node]
	return p, ok
}
