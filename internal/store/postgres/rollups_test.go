package postgres_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
)

// Rollup buckets (and every other time) are UTC whatever the session's
// TimeZone. The server's default is usually UTC, which would hide a bucket
// truncated in session time, so the conformance cases run again with
// sessions in Pacific/Chatham (UTC+12:45 or +13:45: not even whole hours).
func TestConformanceInAnotherSessionTimeZone(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(*testing.T) store.TxStore[pgx.Tx] {
		dsn := withTimeZone(t, testdb.PostgresDSN(t), "Pacific/Chatham")
		return func(t *testing.T) store.TxStore[pgx.Tx] {
			s := openAtDSN(t, dsn)
			var tz string
			if err := s.Pool().QueryRow(t.Context(), "SHOW TimeZone").Scan(&tz); err != nil || tz != "Pacific/Chatham" {
				t.Fatalf("session TimeZone = %q, %v; want Pacific/Chatham", tz, err)
			}
			return s
		}
	})
}

// withTimeZone sets the session TimeZone in dsn, in either form pgx reads:
// a URL's query or a key=value string (where a later key wins).
func withTimeZone(t *testing.T, dsn, zone string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("timezone", zone)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " timezone=" + zone
}
