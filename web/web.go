// Package web holds the operator console's look: templ components (the
// generated *_templ.go files are committed; `make generate` regenerates
// them) and the static assets, embedded so the binary serves them with no
// files beside it and nothing fetched from a CDN. It renders what it is
// given and decides nothing: the handlers in internal/console fill the view
// models below from the same services the API uses.
package web

import (
	"embed"
	"io/fs"
)

//go:generate go tool -modfile=../tools.mod templ generate -include-version=false

//go:embed static
var static embed.FS

// Static is the console's assets: htmx (vendored, pinned by sha256 in a
// test) and the one stylesheet.
var Static, _ = fs.Sub(static, "static")

// HTMXVersion is the vendored htmx release (npm pack htmx.org@2.0.11,
// dist/htmx.min.js). 2.x on purpose: 4.x changed request and swap
// semantics the console relies on.
const HTMXVersion = "2.0.11"

// HTMXSHA256 is the sha256 of static/htmx.min.js as published.
const HTMXSHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
