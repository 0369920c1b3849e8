package expr

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/sql/types"
)

// FunctionInfo describes a function or operator of the registry, for the
// documentation and the planner.
type FunctionInfo struct {
	Name      string // upper case, as Call resolves it
	Signature string // e.g. "SUBSTRING(s VARCHAR, from INTEGER[, len INTEGER]) -> VARCHAR"
	Kind      string // operator, logical, comparison, null, numeric, string, datetime, conversion, user
	Doc       string
}

// binder checks the argument types of a call and returns the bound node.
type binder func(name string, args []Expr) (Expr, error)

type function struct {
	info FunctionInfo
	bind binder
}

// Registry resolves function and operator names to implementations. The
// built-in registry (used by the package-level Call) is immutable; a
// planner that lets users add functions holds its own NewRegistry.
type Registry struct {
	funcs map[string]*function
}

// The built-in registry is built on first use and never modified after.
var (
	builtinOnce sync.Once
	builtinReg  *Registry
)

func builtins() *Registry {
	builtinOnce.Do(func() {
		r := &Registry{funcs: map[string]*function{}}
		registerOperators(r)
		registerNumeric(r)
		registerStrings(r)
		registerDatetime(r)
		registerLogParse(r) // logparse.go
		registerSession(r)  // session.go
		builtinReg = r
	})
	return builtinReg
}

// NewRegistry returns a registry holding the built-in functions, to which
// Register adds more.
func NewRegistry() *Registry {
	b := builtins()
	r := &Registry{funcs: make(map[string]*function, len(b.funcs))}
	for k, v := range b.funcs {
		r.funcs[k] = v
	}
	return r
}

func (r *Registry) add(name, sig, kind, doc string, b binder) {
	r.funcs[name] = &function{info: FunctionInfo{Name: name, Signature: sig, Kind: kind, Doc: doc}, bind: b}
}

// ScalarFunc is a user-defined scalar function (for example a JavaScript
// UDF) registered with Registry.Register.
type ScalarFunc struct {
	Name      string // matched case-insensitively
	Signature string // for Functions()
	Doc       string
	// Check returns the result type for the argument types, or a *TypeError.
	Check func(args []types.Type) (types.Type, error)
	// Eval computes the function over a batch: args holds one array of n
	// rows per argument (literal arguments are broadcast). The result must
	// have n rows of Check's type; failed rows are recorded in ec.Errors
	// and set to NULL.
	Eval func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error)
}

// Register adds a user function. It fails when the name is taken.
func (r *Registry) Register(f ScalarFunc) error {
	name := strings.ToUpper(f.Name)
	if name == "" || f.Check == nil || f.Eval == nil {
		return fmt.Errorf("register function %q: name, Check and Eval are required", f.Name)
	}
	if _, ok := r.funcs[name]; ok {
		return fmt.Errorf("register function %s: a function of that name exists", name)
	}
	r.add(name, f.Signature, "user", f.Doc, func(name string, args []Expr) (Expr, error) {
		ts := make([]types.Type, len(args))
		for i, a := range args {
			ts[i] = a.Type()
		}
		rt, err := f.Check(ts)
		if err != nil {
			return nil, err
		}
		return &callNode{name: name, args: args, t: rt, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			arrs, err := evalAll(ec, rec, args)
			if err != nil {
				return nil, err
			}
			defer releaseAll(arrs)
			return f.Eval(ec, arrs, int(rec.NumRows()))
		}}, nil
	})
	return nil
}

// Replace adds a user function or replaces a user function of the same
// name (CREATE OR REPLACE FUNCTION). Calls bound before keep the definition
// they were bound with. A built-in function cannot be replaced.
func (r *Registry) Replace(f ScalarFunc) error {
	if old, ok := r.Lookup(f.Name); ok {
		if old.Kind != "user" {
			return fmt.Errorf("replace function %s: it is a built-in %s function", old.Name, old.Kind)
		}
		delete(r.funcs, old.Name)
	}
	return r.Register(f)
}

// Lookup describes the function or operator called name (case insensitive).
func (r *Registry) Lookup(name string) (FunctionInfo, bool) {
	f, ok := r.funcs[strings.ToUpper(name)]
	if !ok {
		return FunctionInfo{}, false
	}
	return f.info, true
}

// Clone returns a registry with the same functions, to which Register and
// Replace add without changing r.
func (r *Registry) Clone() *Registry {
	c := &Registry{funcs: make(map[string]*function, len(r.funcs))}
	for k, v := range r.funcs {
		c.funcs[k] = v
	}
	return c
}

// Call resolves a function or operator of the registry by name (case
// insensitive) and checks its arguments.
func (r *Registry) Call(name string, args ...Expr) (Expr, error) {
	up := strings.ToUpper(name)
	f, ok := r.funcs[up]
	if !ok {
		return nil, &TypeError{Message: fmt.Sprintf("no function named %s", up)}
	}
	for i, a := range args {
		if a == nil {
			return nil, &TypeError{Message: fmt.Sprintf("%s: argument %d is missing", up, i+1)}
		}
	}
	return f.bind(up, args)
}

// Functions lists the registry's functions and operators sorted by name.
func (r *Registry) Functions() []FunctionInfo {
	out := make([]FunctionInfo, 0, len(r.funcs))
	for _, f := range r.funcs {
		out = append(out, f.info)
	}
	slices.SortFunc(out, func(a, b FunctionInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Call resolves name in the built-in registry. See the package
// documentation (doc.go) for the operator names.
func Call(name string, args ...Expr) (Expr, error) { return builtins().Call(name, args...) }

// Functions lists the built-in functions and operators.
func Functions() []FunctionInfo { return builtins().Functions() }

// callNode is a bound function call.
type callNode struct {
	name  string
	infix bool
	args  []Expr
	t     types.Type
	eval  func(ec *EvalContext, rec arrow.Record) (arrow.Array, error)
}

func (c *callNode) Type() types.Type { return c.t }

func (c *callNode) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	a, err := c.eval(ec, rec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return a, nil
}

func (c *callNode) String() string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		parts[i] = a.String()
	}
	if c.infix && len(parts) == 2 {
		return "(" + parts[0] + " " + c.name + " " + parts[1] + ")"
	}
	return c.name + "(" + strings.Join(parts, ", ") + ")"
}

func evalAll(ec *EvalContext, rec arrow.Record, args []Expr) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(args))
	for i, a := range args {
		v, err := a.Eval(ec, rec)
		if err != nil {
			releaseAll(out[:i])
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

func typeErr(format string, args ...any) error {
	return &TypeError{Message: fmt.Sprintf(format, args...)}
}

func arity(name string, args []Expr, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		want := fmt.Sprint(min)
		switch {
		case max < 0:
			want = fmt.Sprintf("at least %d", min)
		case max != min:
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return typeErr("%s takes %s arguments, got %d", name, want, len(args))
	}
	return nil
}
