package app

// The function catalog: JavaScript and SQL functions and aggregates
// registered with the engine (the Go API, REST's /v1/functions, `kda
// function`) rather than written in one application. Each function is its
// CREATE [AGGREGATE] FUNCTION statement, kept in the store; every
// application the manager compiles plans the catalog first, in creation
// order, so a catalog function may call the ones created before it.
//
// An application that is running keeps the functions it was started with;
// a changed catalog reaches it when it is started again or updated. A
// function that a stored application or another catalog function needs
// cannot be deleted.

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/plan"
)

// Library is SQL of function definitions planned before an application:
// the engine's catalog, then the definition's own functions.
type Library []LibrarySource

// LibrarySource is one piece of a Library.
type LibrarySource struct {
	Name string // what errors call it, e.g. "function catalog: F"
	SQL  string
}

// with appends def's own functions.
func (l Library) with(def Definition) Library {
	if strings.TrimSpace(def.Functions) == "" {
		return l
	}
	name := "functions"
	if def.FunctionsFile != "" {
		name = "functionsFile " + def.FunctionsFile
	}
	return append(append(Library(nil), l...), LibrarySource{Name: name, SQL: def.Functions})
}

// programs parses every source.
func (l Library) programs() ([]*dialect.Program, error) {
	out := make([]*dialect.Program, 0, len(l))
	for _, src := range l {
		prog, err := dialect.Parse(src.SQL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		out = append(out, prog)
	}
	return out, nil
}

// Errors of the function catalog (errors.Is).
var (
	ErrFunctionNotFound = errors.New("function not found")
	ErrFunctionExists   = errors.New("function already exists")
	ErrFunctionInUse    = errors.New("function in use")
)

// FunctionInfo describes a catalog function.
type FunctionInfo struct {
	Name      string    `json:"name"`
	Aggregate bool      `json:"aggregate"`
	Language  string    `json:"language"` // SQL or JAVASCRIPT
	SQL       string    `json:"sql"`      // the CREATE statement
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// functionRecord is what the store keeps of a catalog function.
type functionRecord struct {
	FunctionInfo
	Seq int64 `json:"seq"` // creation order
}

const functionKeyPrefix = "function/"

func functionKey(name string) string { return functionKeyPrefix + name + "/def" }

func (m *Manager) loadFunctions() error {
	keys, err := m.st.AppStateKeys(functionKeyPrefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		b, err := m.st.AppState(k)
		if err != nil {
			return err
		}
		var rec functionRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("read catalog function %s: %w", k, err)
		}
		m.funcs[rec.Name] = &rec
	}
	return nil
}

// Library is the function catalog in creation order.
func (m *Manager) Library() Library {
	m.fmu.RLock()
	defer m.fmu.RUnlock()
	return libraryOf(m.funcs, "")
}

// libraryOf orders recs by creation, leaving out the one named skip.
func libraryOf(recs map[string]*functionRecord, skip string) Library {
	list := make([]*functionRecord, 0, len(recs))
	for _, r := range recs {
		if r.Name != skip {
			list = append(list, r)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Seq < list[j].Seq })
	lib := make(Library, len(list))
	for i, r := range list {
		lib[i] = LibrarySource{Name: "function catalog: " + r.Name, SQL: r.SQL}
	}
	return lib
}

// Functions lists the catalog by name.
func (m *Manager) Functions() []FunctionInfo {
	m.fmu.RLock()
	defer m.fmu.RUnlock()
	out := make([]FunctionInfo, 0, len(m.funcs))
	for _, r := range m.funcs {
		out = append(out, r.FunctionInfo)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Function describes one catalog function.
func (m *Manager) Function(name string) (FunctionInfo, error) {
	m.fmu.RLock()
	defer m.fmu.RUnlock()
	r, ok := m.funcs[strings.ToUpper(name)]
	if !ok {
		return FunctionInfo{}, fmt.Errorf("%w: %s", ErrFunctionNotFound, strings.ToUpper(name))
	}
	return r.FunctionInfo, nil
}

// CreateFunctions adds the functions that sql creates (one or more CREATE
// [OR REPLACE] [AGGREGATE] FUNCTION statements) to the catalog, after
// checking that they and the catalog plan together. A name the catalog
// has needs OR REPLACE. Nothing is stored when any statement fails.
func (m *Manager) CreateFunctions(sql string) ([]FunctionInfo, error) {
	prog, err := dialect.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(prog.Statements) == 0 {
		return nil, fmt.Errorf("%w: no CREATE FUNCTION statement", ErrInvalid)
	}
	type stmt struct {
		name, lang     string
		agg, orReplace bool
		pos            dialect.Pos
	}
	var stmts []stmt
	for _, st := range prog.Statements {
		switch s := st.(type) {
		case *dialect.CreateFunction:
			stmts = append(stmts, stmt{strings.ToUpper(s.Name), s.Language, false, s.OrReplace, s.Pos})
		case *dialect.CreateAggregateFunction:
			stmts = append(stmts, stmt{strings.ToUpper(s.Name), "JAVASCRIPT", true, s.OrReplace, s.Pos})
		default:
			return nil, fmt.Errorf("%w: the function catalog takes only CREATE FUNCTION and CREATE AGGREGATE FUNCTION statements", ErrInvalid)
		}
	}
	m.fmu.Lock()
	defer m.fmu.Unlock()
	next := map[string]*functionRecord{}
	for k, v := range m.funcs {
		next[k] = v
	}
	seq := int64(0)
	for _, r := range m.funcs {
		seq = max(seq, r.Seq)
	}
	now := m.opts.Now().UTC()
	var created []*functionRecord
	for i, s := range stmts {
		end := len(sql)
		if i+1 < len(stmts) {
			end = stmts[i+1].pos.Offset
		}
		text := strings.TrimSpace(sql[s.pos.Offset:end])
		old, exists := next[s.name]
		if exists && !s.orReplace {
			return nil, fmt.Errorf("%w: %s: use CREATE OR REPLACE to redefine it", ErrFunctionExists, s.name)
		}
		rec := &functionRecord{FunctionInfo: FunctionInfo{Name: s.name, Aggregate: s.agg, Language: s.lang, SQL: text, CreatedAt: now, UpdatedAt: now}}
		if exists {
			// A replaced function keeps its place, so that functions
			// created after it and calling it still plan after it.
			rec.Seq, rec.CreatedAt = old.Seq, old.CreatedAt
		} else {
			seq++
			rec.Seq = seq
		}
		next[s.name] = rec
		created = append(created, rec)
	}
	if err := checkLibrary(libraryOf(next, "")); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	state := map[string][]byte{}
	for _, r := range created {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode function %s: %w", r.Name, err)
		}
		state[functionKey(r.Name)] = b
	}
	if err := m.st.Commit(store.Txn{State: state}); err != nil {
		return nil, fmt.Errorf("store functions: %w", err)
	}
	m.funcs = next
	out := make([]FunctionInfo, len(created))
	for i, r := range created {
		out[i] = r.FunctionInfo
	}
	return out, nil
}

// DeleteFunction removes a catalog function, unless another catalog
// function or a stored application needs it.
func (m *Manager) DeleteFunction(name string) error {
	name = strings.ToUpper(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fmu.Lock()
	defer m.fmu.Unlock()
	if _, ok := m.funcs[name]; !ok {
		return fmt.Errorf("%w: %s", ErrFunctionNotFound, name)
	}
	lib := libraryOf(m.funcs, name)
	if err := checkLibrary(lib); err != nil {
		return fmt.Errorf("%w: %s: another catalog function needs it: %v", ErrFunctionInUse, name, err)
	}
	names := make([]string, 0, len(m.apps))
	for n := range m.apps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rt, err := CompileWith(m.apps[n].rec.Definition, nil, lib)
		if err != nil {
			if _, errWith := CompileWith(m.apps[n].rec.Definition, nil, libraryOf(m.funcs, "")); errWith != nil {
				continue // the application does not compile either way
			}
			return fmt.Errorf("%w: %s: application %s needs it", ErrFunctionInUse, name, n)
		}
		rt.Close()
	}
	if err := m.st.DeleteAppState(functionKeyPrefix + name + "/"); err != nil {
		return fmt.Errorf("delete function %s: %w", name, err)
	}
	delete(m.funcs, name)
	return nil
}

// checkLibrary plans a library alone.
func checkLibrary(lib Library) error {
	progs, err := lib.programs()
	if err != nil {
		return err
	}
	if len(progs) == 0 {
		return nil
	}
	return plan.CheckLibrary(progs[len(progs)-1], plan.Options{Library: progs[:len(progs)-1]})
}
