package postgres_test

import (
	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres"
)

var _ store.TxStore[pgx.Tx] = (*postgres.Store)(nil)
