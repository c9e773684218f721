package sqlite_test

import (
	"database/sql"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/sqlite"
)

var _ store.TxStore[*sql.Tx] = (*sqlite.Store)(nil)
