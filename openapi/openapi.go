// Package openapi embeds the API contract, openapi.yaml, so the gateway can
// serve it and the tests can hold the code to it.
package openapi

import _ "embed"

// Spec is the OpenAPI 3.1 document of the /api routes.
//
//go:embed openapi.yaml
var Spec []byte
