package restapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// The function catalog routes (the kda function CLI uses them):
//
//	GET    /v1/functions          → [FunctionInfo, …]
//	POST   /v1/functions          CREATE [OR REPLACE] [AGGREGATE] FUNCTION … as SQL text,
//	                              or JSON {"sql": "…"} → [FunctionInfo, …], 201
//	GET    /v1/functions/{name}   → FunctionInfo
//	DELETE /v1/functions/{name}   → 204 (409 while a function or application needs it)

// maxFunctionBytes bounds a function library body.
const maxFunctionBytes = 1 << 20

func (s *server) listFunctions(w http.ResponseWriter, _ *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, m.Functions())
}

func (s *server) createFunctions(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFunctionBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "read body: "+err.Error())
		return
	}
	if len(body) > maxFunctionBytes {
		writeError(w, http.StatusRequestEntityTooLarge, store.CodeInvalidArgument, "the functions' SQL is larger than 1 MiB")
		return
	}
	sql := string(body)
	// A JSON object (SQL never starts with "{") carries the SQL in "sql".
	if strings.HasPrefix(strings.TrimSpace(sql), "{") {
		var in struct {
			SQL string `json:"sql"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "body: "+err.Error())
			return
		}
		sql = in.SQL
	}
	fns, err := m.CreateFunctions(sql)
	if err != nil {
		writeFunctionError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, fns)
}

func (s *server) describeFunction(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	f, err := m.Function(r.PathValue("name"))
	if err != nil {
		writeFunctionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *server) deleteFunction(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	if err := m.DeleteFunction(r.PathValue("name")); err != nil {
		writeFunctionError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeFunctionError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, kdaapp.ErrFunctionNotFound):
		writeError(w, http.StatusNotFound, store.CodeResourceNotFound, err.Error())
	case errors.Is(err, kdaapp.ErrFunctionExists), errors.Is(err, kdaapp.ErrFunctionInUse):
		writeError(w, http.StatusConflict, store.CodeResourceInUse, err.Error())
	default:
		writeAppError(w, err)
	}
}
