package udf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Script is JavaScript source compiled once, to be run in every runtime of
// a pool.
type Script struct {
	Name   string // the file or function name shown in errors and stacks
	Source string
	prog   *goja.Program
}

// SyntaxError is a script that does not compile, with the position of the
// first error (line and column start at 1).
type SyntaxError struct {
	Script  string
	Line    int
	Column  int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: JavaScript syntax error: %s", e.Script, e.Line, e.Column, e.Message)
}

// Compile parses and compiles src. A syntax error is a *SyntaxError.
func Compile(name, src string) (*Script, error) {
	return compileWithOffset(name, src, 0, 0)
}

// compileWithOffset compiles src that was wrapped in a prologue of
// lineOffset lines plus colOffset characters on the first user line, and
// reports positions in the user's text.
func compileWithOffset(name, src string, lineOffset, colOffset int) (*Script, error) {
	ast, err := parser.ParseFile(nil, name, src, 0)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			e := list[0]
			line, col := e.Position.Line-lineOffset, e.Position.Column
			if line == 1 {
				col -= colOffset
			}
			if line < 1 {
				line, col = 1, 1
			}
			if col < 1 {
				col = 1
			}
			return nil, &SyntaxError{Script: name, Line: line, Column: col, Message: strings.TrimSpace(e.Message)}
		}
		return nil, &SyntaxError{Script: name, Line: 1, Column: 1, Message: err.Error()}
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		return nil, fmt.Errorf("%s: compile JavaScript: %w", name, err)
	}
	return &Script{Name: name, Source: src, prog: prog}, nil
}
