package plan

// Function libraries: CREATE FUNCTION and CREATE AGGREGATE FUNCTION
// statements kept apart from an application's SQL (an engine's function
// catalog, an application definition's functions file) and planned before
// it. Their functions are visible to every statement of the application,
// which may redefine one only with CREATE OR REPLACE, like any user
// function. Errors in a library point into the library's own text.

import (
	"github.com/kdaproject/kda/sql/dialect"
)

// planLibrary plans the statements of lib, which must all create functions.
func (p *planner) planLibrary(lib *dialect.Program) error {
	saved := p.prog
	p.prog = lib
	defer func() { p.prog = saved }()
	for _, st := range lib.Statements {
		var err error
		switch s := st.(type) {
		case *dialect.CreateFunction:
			err = p.createFunction(s)
		case *dialect.CreateAggregateFunction:
			err = p.createAggregateFunction(s)
		default:
			err = p.errAt(statementPos(st), "a function library holds only CREATE FUNCTION and CREATE AGGREGATE FUNCTION statements")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckLibrary plans lib alone, to validate a library before it is stored.
func CheckLibrary(lib *dialect.Program, opts Options) error {
	opts.Library = append(append([]*dialect.Program(nil), opts.Library...), lib)
	_, err := Plan(&dialect.Program{}, nil, opts)
	return err
}

// statementPos is where a statement starts.
func statementPos(st dialect.Statement) dialect.Pos {
	switch s := st.(type) {
	case *dialect.CreateStream:
		return s.Pos
	case *dialect.CreatePump:
		return s.Pos
	case *dialect.SelectStatement:
		return s.Pos
	case *dialect.CreateFunction:
		return s.Pos
	case *dialect.CreateAggregateFunction:
		return s.Pos
	}
	return dialect.Pos{Line: 1, Col: 1}
}
