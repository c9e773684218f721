package sqlite

import (
	"context"
	"fmt"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

var _ store.PIISalts = (*Store)(nil)

// PIISalt implements store.PIISalts: insert-if-absent, then read back, so
// the first writer's salt wins.
func (s *Store) PIISalt(ctx context.Context, fresh []byte) ([]byte, error) {
	q := litedb.New(s.writer)
	if err := q.InsertPIISalt(ctx, fresh); err != nil {
		return nil, fmt.Errorf("store pii salt: %w", err)
	}
	salt, err := q.GetPIISalt(ctx)
	if err != nil {
		return nil, fmt.Errorf("read pii salt: %w", err)
	}
	return salt, nil
}
