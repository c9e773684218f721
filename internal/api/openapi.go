package api

import (
	"net/http"

	"github.com/ongoingai/gateway/openapi"
)

// openAPI serves the contract the API is tested against.
func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openapi.Spec)
}
