package limits

import "github.com/ongoingai/gateway/internal/pricing"

// DefaultMaxOutput is the output reserved for a call that sets no output
// cap, to a model whose maximum the catalog does not know.
const DefaultMaxOutput = 4096

// Estimate is a call's worst case, reserved before it is forwarded: input
// of one token per four bytes of request body (a body also carries JSON
// punctuation, so this errs high), output of the request's own cap
// (max_tokens, max_output_tokens or max_completion_tokens) or else the
// model's maximum from the catalog, priced at the model's prices. An
// unpriced model reserves tokens but no dollars; its calls cost nothing.
func Estimate(prices *pricing.Catalog, model string, bodyBytes int, maxOutput int64) Cost {
	in := (int64(bodyBytes) + 3) / 4
	out := maxOutput
	if out <= 0 {
		var ok bool
		if out, ok = prices.MaxOutputTokens(model); !ok {
			out = DefaultMaxOutput
		}
	}
	cost := prices.Cost(model, pricing.Tokens{Input: in, Output: out})
	return Cost{Tokens: in + out, NanoUSD: cost.NanoUSD}
}
