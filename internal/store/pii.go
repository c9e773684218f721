package store

import "context"

// PIISalts keeps the installation's PII hash salt, the key behind every
// placeholder, when the configuration does not provide one.
type PIISalts interface {
	// PIISalt returns the stored salt, storing fresh first when there is
	// none. Concurrent first starts agree on one salt.
	PIISalt(ctx context.Context, fresh []byte) ([]byte, error)
}
