package restapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.0 description of every route; edit it
// with the route table (a test fails when they differ).
//
//go:embed openapi.json
var openAPIDocument string

func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(openAPIDocument))
}
