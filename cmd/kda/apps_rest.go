package main

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// The application routes of `kda serve` (SigV4-checked when the server has
// keys, like every /v1 route):
//
//	GET    /v1/apps                     → [Description, …]
//	POST   /v1/apps[?start=true]        definition (YAML or JSON) → Description, 201
//	GET    /v1/apps/{name}              → Description
//	PUT    /v1/apps/{name}              definition → Description (version id + 1)
//	DELETE /v1/apps/{name}              → 204
//	POST   /v1/apps/{name}/start[?position=NOW|TRIM_HORIZON] → Description
//	POST   /v1/apps/{name}/stop         → Description
//
// Errors are {"error":{"code","message"}} with 400 (invalid definition or
// SQL, with line and column), 404 (no such application), 409 (exists).
const appsPath = "/v1/apps"

// maxDefinitionBytes bounds a definition body.
const maxDefinitionBytes = 4 << 20

func (cfg serverConfig) registerApps(mux *http.ServeMux) {
	mux.HandleFunc(appsPath, cfg.appsRoot)
	mux.HandleFunc(appsPath+"/{name}", cfg.appsOne)
	mux.HandleFunc(appsPath+"/{name}/{action}", cfg.appsAction)
}

// appsAuth checks the signature; it answers the request itself on failure.
func (cfg serverConfig) appsAuth(w http.ResponseWriter, r *http.Request) bool {
	if cfg.apps == nil {
		writeRESTError(w, http.StatusNotFound, "NotFound", "this server runs no SQL applications")
		return false
	}
	if cfg.accessKey != "" {
		if err := verifyRESTSignature(r, cfg.accessKey, cfg.secretKey, cfg.now()); err != nil {
			code := kinesisapi.ErrorCode(err)
			writeRESTError(w, http.StatusForbidden, code, strings.TrimPrefix(err.Error(), code+": "))
			return false
		}
	}
	return true
}

func (cfg serverConfig) appsRoot(w http.ResponseWriter, r *http.Request) {
	if !cfg.appsAuth(w, r) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, cfg.apps.List())
	case http.MethodPost:
		def, ok := readDefinition(w, r)
		if !ok {
			return
		}
		d, err := cfg.apps.Create(def)
		if err != nil {
			writeAppError(w, err)
			return
		}
		if r.URL.Query().Get("start") == "true" {
			if d, err = cfg.apps.Start(def.Name, ""); err != nil {
				writeAppError(w, err)
				return
			}
		}
		writeJSON(w, http.StatusCreated, d)
	default:
		writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET or POST")
	}
}

func (cfg serverConfig) appsOne(w http.ResponseWriter, r *http.Request) {
	if !cfg.appsAuth(w, r) {
		return
	}
	name := r.PathValue("name")
	var (
		d   kdaapp.Description
		err error
	)
	switch r.Method {
	case http.MethodGet:
		d, err = cfg.apps.Describe(name)
	case http.MethodPut:
		def, ok := readDefinition(w, r)
		if !ok {
			return
		}
		d, err = cfg.apps.Update(name, def)
	case http.MethodDelete:
		if err := cfg.apps.Delete(name); err != nil {
			writeAppError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET, PUT or DELETE")
		return
	}
	if err != nil {
		writeAppError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (cfg serverConfig) appsAction(w http.ResponseWriter, r *http.Request) {
	if !cfg.appsAuth(w, r) {
		return
	}
	if r.Method != http.MethodPost {
		writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
		return
	}
	name := r.PathValue("name")
	var (
		d   kdaapp.Description
		err error
	)
	switch r.PathValue("action") {
	case "start":
		d, err = cfg.apps.Start(name, r.URL.Query().Get("position"))
	case "stop":
		d, err = cfg.apps.Stop(name)
	default:
		writeRESTError(w, http.StatusNotFound, "NotFound", "no action "+r.PathValue("action")+"; use start or stop")
		return
	}
	if err != nil {
		writeAppError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// readDefinition reads a YAML or JSON definition body. A server never reads
// files named by a request, so the SQL must come inline.
func readDefinition(w http.ResponseWriter, r *http.Request) (kdaapp.Definition, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDefinitionBytes+1))
	if err != nil {
		writeRESTError(w, http.StatusBadRequest, store.CodeInvalidArgument, "read body: "+err.Error())
		return kdaapp.Definition{}, false
	}
	if len(body) > maxDefinitionBytes {
		writeRESTError(w, http.StatusRequestEntityTooLarge, store.CodeInvalidArgument, "the definition is larger than 4 MiB")
		return kdaapp.Definition{}, false
	}
	var probe struct {
		SQLFile string `json:"sqlFile"`
	}
	if yaml.Unmarshal(body, &probe) == nil && probe.SQLFile != "" {
		writeRESTError(w, http.StatusBadRequest, store.CodeInvalidArgument,
			"sqlFile: the server does not read files named by requests; send the SQL inline in sql (kda app create does this for you)")
		return kdaapp.Definition{}, false
	}
	def, err := kdaapp.ParseDefinition(body, "")
	if err != nil {
		writeRESTError(w, http.StatusBadRequest, store.CodeInvalidArgument, err.Error())
		return kdaapp.Definition{}, false
	}
	return def, true
}

func writeAppError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, kdaapp.ErrNotFound):
		writeRESTError(w, http.StatusNotFound, store.CodeResourceNotFound, err.Error())
	case errors.Is(err, kdaapp.ErrExists):
		writeRESTError(w, http.StatusConflict, store.CodeResourceInUse, err.Error())
	case errors.Is(err, kdaapp.ErrInvalid), errors.Is(err, kdaapp.ErrCannotStart):
		writeRESTError(w, http.StatusBadRequest, store.CodeInvalidArgument, err.Error())
	default:
		writeRESTError(w, http.StatusInternalServerError, store.CodeInternalFailure, err.Error())
	}
}
