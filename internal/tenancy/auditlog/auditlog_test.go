package auditlog_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/testdb"
)

// eachStore runs fn against a fresh SQLite and a fresh Postgres store, in
// parallel: the log must behave the same on both.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Audit)) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			var st store.Audit
			if driver == "sqlite" {
				st = testdb.OpenSQLite(t)
			} else {
				st = testdb.OpenPostgres(t)
			}
			fn(t, st)
		})
	}
}

func TestAuditLogWritesSanitizedEventsAndCountsDrops(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Audit) {
		ctx := context.Background()
		l := auditlog.New(st, auditlog.Options{BatchSize: 2})
		l.Record(store.AuditEvent{OrgID: "acme", WorkspaceID: "prod", Action: auditlog.ActionAuthDeny,
			Target: "route:GET /x\xff\x00y", Outcome: auditlog.OutcomeDenied})
		for i := range 4 {
			l.Record(store.AuditEvent{OrgID: "globex", WorkspaceID: "main", Action: auditlog.ActionKeyCreate,
				Target: "gateway_key:" + string(rune('a'+i)), Outcome: auditlog.OutcomeOK})
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		l.Record(store.AuditEvent{Action: "late"})
		if s := l.Stats(); s.Written != 5 || s.Dropped != 1 || s.Lost != 0 {
			t.Errorf("stats %+v, want 5 written and 1 dropped", s)
		}
		evs, _, err := st.ListAudit(ctx, store.AuditFilter{Tenant: store.Tenant{OrgID: "acme", WorkspaceID: "prod"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Target != "route:GET /x\ufffd\ufffdy" || evs[0].ID == "" || evs[0].Time.IsZero() {
			t.Fatalf("acme's events: %+v", evs)
		}
	})
}

// Denials aggregate per source, actor, route and reason; past MaxDenials
// distinct ones in a window, the rest fold into one overflow event, so
// the rows a flood leaves are bounded and the counts still add up.
func TestAuditLogAggregatesDenialsWithinBounds(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Audit) {
		ctx := context.Background()
		l := auditlog.New(st, auditlog.Options{MaxDenials: 2, DenialWindow: time.Hour})
		at := time.Now().UTC().Truncate(time.Hour).Add(time.Minute) // one window for all
		for i := range 15 {
			l.Record(store.AuditEvent{Time: at.Add(time.Duration(i) * time.Millisecond), Action: auditlog.ActionAuthDeny,
				Outcome: auditlog.OutcomeDenied, Reason: keyauth.ReasonUnknownKey, Target: "route:GET /api/traces",
				ClientIP: fmt.Sprintf("10.0.0.%d", i%5)})
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		evs, _, err := st.ListAudit(ctx, store.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int64{}
		for _, e := range evs {
			counts[e.ClientIP] += e.EventCount()
		}
		want := map[string]int64{"10.0.0.0": 3, "10.0.0.1": 3, auditlog.DenialOverflowSource: 9}
		if len(evs) != 3 || !reflect.DeepEqual(counts, want) {
			t.Errorf("events %+v: counts %v, want %v", evs, counts, want)
		}
	})
}
