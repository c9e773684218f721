package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// maxOutputJSON lists each catalog model's largest output per call. It is
// a file of its own, beside the prices, because it changes with model
// releases rather than with price lists.
//
//go:embed max_output.json
var maxOutputJSON []byte

type maxOutputFile struct {
	Note    string           `json:"note"`
	Sources []string         `json:"sources"`
	Models  map[string]int64 `json:"models"`
}

var maxOutputs = sync.OnceValues(func() (map[string]int64, error) {
	dec := json.NewDecoder(bytes.NewReader(maxOutputJSON))
	dec.DisallowUnknownFields()
	var f maxOutputFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pricing: max_output.json: %w", err)
	}
	for name, n := range f.Models {
		if n < 0 {
			return nil, fmt.Errorf("pricing: max_output.json: model %q: negative maximum", name)
		}
	}
	return f.Models, nil
})

// MaxOutputTokens returns the largest output model can produce in one
// call, resolving its name as Lookup does, and false when the catalog does
// not know it (an unknown model, or one only priced through
// pricing.overrides).
func (c *Catalog) MaxOutputTokens(model string) (int64, bool) {
	p, ok := c.Lookup(model)
	if !ok {
		return 0, false
	}
	m, err := maxOutputs()
	if err != nil {
		return 0, false // TestMaxOutputCatalog keeps the file valid
	}
	n, ok := m[p.Model]
	return n, ok
}
