package restapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"sigs.k8s.io/yaml"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// The application routes (the kda app CLI uses them):
//
//	GET    /v1/apps                     → [Description, …]
//	POST   /v1/apps[?start=true]        definition (YAML or JSON) → Description, 201
//	GET    /v1/apps/{name}              → Description
//	PUT    /v1/apps/{name}              definition → Description (version id + 1)
//	DELETE /v1/apps/{name}              → 204
//	POST   /v1/apps/{name}/start[?position=NOW|TRIM_HORIZON] → Description
//	POST   /v1/apps/{name}/stop         → Description
//	GET    /v1/apps/{name}/errors[?limit=50] → {"rows":[error_stream row, …]}
//	POST   /v1/apps/{name}/reference-tables/refresh → {"tables":[ReferenceTableStatus, …]}
//	POST   /v1/apps/{name}/reference-tables/{table}/refresh → the same, reloading one table
//
// Every Description these routes answer has its definition's secrets
// masked (redactedApp): input source configs, inline delivery streams'
// sink configs, reference tables' DSNs.

// maxDefinitionBytes bounds a definition body.
const maxDefinitionBytes = 4 << 20

// apps answers 404 itself when the server runs no applications.
func (s *server) apps(w http.ResponseWriter) (*kdaapp.Manager, bool) {
	if s.deps.Apps == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "this server runs no SQL applications")
		return nil, false
	}
	return s.deps.Apps, true
}

func (s *server) listApps(w http.ResponseWriter, _ *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	list := m.List()
	for i := range list {
		list[i] = redactedApp(list[i])
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *server) createApp(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	def, ok := readDefinition(w, r)
	if !ok {
		return
	}
	d, err := m.Create(def)
	if err != nil {
		writeAppError(w, err)
		return
	}
	if r.URL.Query().Get("start") == "true" {
		if d, err = m.Start(def.Name, ""); err != nil {
			writeAppError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, redactedApp(d))
}

func (s *server) describeApp(w http.ResponseWriter, r *http.Request) {
	s.appCall(w, func(m *kdaapp.Manager) (kdaapp.Description, error) { return m.Describe(r.PathValue("name")) })
}

func (s *server) updateApp(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.apps(w); !ok {
		return
	}
	def, ok := readDefinition(w, r)
	if !ok {
		return
	}
	s.appCall(w, func(m *kdaapp.Manager) (kdaapp.Description, error) {
		// Describe shows secrets masked; a definition sent back with the
		// masks (or without a secret field) keeps the stored secrets.
		if cur, err := m.Describe(r.PathValue("name")); err == nil {
			if def, err = keepAppSecrets(cur.Definition, def); err != nil {
				return kdaapp.Description{}, fmt.Errorf("%w: %w", kdaapp.ErrInvalid, err)
			}
		}
		return m.Update(r.PathValue("name"), def)
	})
}

func (s *server) deleteApp(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	if err := m.Delete(r.PathValue("name")); err != nil {
		writeAppError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) startApp(w http.ResponseWriter, r *http.Request) {
	s.appCall(w, func(m *kdaapp.Manager) (kdaapp.Description, error) {
		return m.Start(r.PathValue("name"), r.URL.Query().Get("position"))
	})
}

func (s *server) stopApp(w http.ResponseWriter, r *http.Request) {
	s.appCall(w, func(m *kdaapp.Manager) (kdaapp.Description, error) { return m.Stop(r.PathValue("name")) })
}

func (s *server) appErrors(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	limit, err := queryInt(r, "limit", 50, 256)
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, err.Error())
		return
	}
	rows, err := m.Errors(r.PathValue("name"), limit)
	if err != nil {
		writeAppError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Rows []json.RawMessage `json:"rows"`
	}{rows})
}

// refreshReferenceTables reloads one reference table ({table}) or all of
// a running application's. A failed load answers 422 with the reason; the
// table keeps its previous rows.
func (s *server) refreshReferenceTables(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	tables, err := m.RefreshReferenceTables(r.PathValue("name"), r.PathValue("table"))
	if err != nil {
		writeAppError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Tables []kdaapp.ReferenceTableStatus `json:"tables"`
	}{tables})
}

func (s *server) appCall(w http.ResponseWriter, call func(*kdaapp.Manager) (kdaapp.Description, error)) {
	m, ok := s.apps(w)
	if !ok {
		return
	}
	d, err := call(m)
	if err != nil {
		writeAppError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, redactedApp(d))
}

// readDefinition reads a YAML or JSON definition body. The server never
// reads files named by a request, so the SQL must come inline, and output
// files are relative names the server resolves under its data directory.
func readDefinition(w http.ResponseWriter, r *http.Request) (kdaapp.Definition, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDefinitionBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "read body: "+err.Error())
		return kdaapp.Definition{}, false
	}
	if len(body) > maxDefinitionBytes {
		writeError(w, http.StatusRequestEntityTooLarge, store.CodeInvalidArgument, "the definition is larger than 4 MiB")
		return kdaapp.Definition{}, false
	}
	var probe struct {
		SQLFile string `json:"sqlFile"`
	}
	if yaml.Unmarshal(body, &probe) == nil && probe.SQLFile != "" {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument,
			"sqlFile: the server does not read files named by requests; send the SQL inline in sql (kda app create does this for you)")
		return kdaapp.Definition{}, false
	}
	def, err := kdaapp.ParseDefinition(body, "")
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, err.Error())
		return kdaapp.Definition{}, false
	}
	for i, o := range def.Outputs {
		if o.File != "" && !filepath.IsLocal(o.File) {
			writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, fmt.Sprintf(
				"outputs[%d].file: %q must be a relative path; the server writes output files under <data>/outputs/ and nowhere else", i, o.File))
			return kdaapp.Definition{}, false
		}
	}
	return def, true
}

func writeAppError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, kdaapp.ErrNotFound):
		writeError(w, http.StatusNotFound, store.CodeResourceNotFound, err.Error())
	case errors.Is(err, kdaapp.ErrExists):
		writeError(w, http.StatusConflict, store.CodeResourceInUse, err.Error())
	case errors.Is(err, kdaapp.ErrNotRunning):
		writeError(w, http.StatusConflict, CodeNotRunning, err.Error())
	case errors.Is(err, kdaapp.ErrReferenceLoad):
		writeError(w, http.StatusUnprocessableEntity, CodeReferenceLoadFailed, err.Error())
	case errors.Is(err, kdaapp.ErrInvalid), errors.Is(err, kdaapp.ErrCannotStart):
		d := errorDetail{Code: store.CodeInvalidArgument, Message: err.Error()}
		if line, col, ok := sqlPosition(err); ok {
			d.Code, d.Line, d.Column = CodeSQLError, line, col
		}
		writeJSON(w, http.StatusBadRequest, errorBody{d})
	default:
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
	}
}
