package rbac

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/util"
)

const benchKeys = 10_000

// benchSubjects spreads n keys over n/10 organizations of 5 workspaces, two
// keys per workspace, cycling through the roles; every seventh key has an
// extra permission.
func benchSubjects(n int) []Subject {
	subjects := make([]Subject, n)
	for i := range subjects {
		s := Subject{
			KeyID:       fmt.Sprintf("key-%d", i),
			OrgID:       fmt.Sprintf("org-%d", i/10),
			WorkspaceID: fmt.Sprintf("ws-%d", (i/2)%5),
			Role:        Roles[i%len(Roles)],
		}
		if i%7 == 0 {
			s.Permissions = []string{PermAuditRead}
		}
		subjects[i] = s
	}
	return subjects
}

type benchRequest struct{ key, org, ws, resource, action string }

// benchRequests asks, for every key, about every permission in its own
// workspace and in a sibling one: 10 distinct questions per key.
func benchRequests(subjects []Subject) []benchRequest {
	var reqs []benchRequest
	for _, s := range subjects {
		for _, ws := range []string{s.WorkspaceID, s.WorkspaceID + "-sibling"} {
			for _, p := range Permissions {
				resource, action, _ := cutPermission(p)
				reqs = append(reqs, benchRequest{s.KeyID, s.OrgID, ws, resource, action})
			}
		}
	}
	return reqs
}

func cutPermission(p string) (string, string, bool) {
	for i := range len(p) {
		if p[i] == ':' {
			return p[:i], p[i+1:], true
		}
	}
	return "", "", false
}

func loadedAuthorizer(b *testing.B, subjects []Subject) *Authorizer {
	b.Helper()
	a, err := New()
	if err != nil {
		b.Fatal(err)
	}
	if err := a.ReplaceAll(subjects); err != nil {
		b.Fatal(err)
	}
	return a
}

// measureCPU starts counting process CPU time; the returned function,
// called after the timed loop, reports it per operation as cpu-ns/op.
func measureCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// dropDecisions empties every key's cache; benchmarks only, no concurrency.
func (a *Authorizer) dropDecisions() {
	for _, ks := range a.current.Load().keys {
		ks.decisions = newDecisionCache()
	}
}

// warmFixture is built once per test binary: RunParallel benchmarks are
// called several times, and 100,000 cold decisions per call add up.
var warmFixture = sync.OnceValues(func() (*Authorizer, []benchRequest) {
	subjects := benchSubjects(benchKeys)
	a, err := New()
	if err != nil {
		panic(err)
	}
	if err := a.ReplaceAll(subjects); err != nil {
		panic(err)
	}
	reqs := benchRequests(subjects)
	for _, r := range reqs {
		a.Allow(r.key, r.org, r.ws, r.resource, r.action)
	}
	return a, reqs
})

// BenchmarkAllowCached: repeated questions, answered from the cache.
func BenchmarkAllowCached(b *testing.B) {
	a, reqs := warmFixture()
	b.ReportAllocs()
	i := 0
	report := measureCPU(b)
	for b.Loop() {
		r := reqs[i%len(reqs)]
		a.Allow(r.key, r.org, r.ws, r.resource, r.action)
		i++
	}
	report()
}

// BenchmarkAllowCachedParallel is BenchmarkAllowCached from every core at
// once, to expose contention.
func BenchmarkAllowCachedParallel(b *testing.B) {
	a, reqs := warmFixture()
	b.ReportAllocs()
	b.ResetTimer()
	var worker atomic.Int64
	report := measureCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine walks the requests from its own starting point.
		i := int(worker.Add(1)) * len(reqs) / 8
		for pb.Next() {
			r := reqs[i%len(reqs)]
			a.Allow(r.key, r.org, r.ws, r.resource, r.action)
			i++
		}
	})
	report()
}

// BenchmarkAllowCachedOneKeyParallel: every core asks about the same key,
// as when one service key carries all the traffic.
func BenchmarkAllowCachedOneKeyParallel(b *testing.B) {
	a, reqs := warmFixture()
	r := reqs[0]
	b.ReportAllocs()
	b.ResetTimer()
	report := measureCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.Allow(r.key, r.org, r.ws, r.resource, r.action)
		}
	})
	report()
}

// BenchmarkAllowUncached: every question is new, so each one is a Casbin
// evaluation plus a cache store.
func BenchmarkAllowUncached(b *testing.B) {
	subjects := benchSubjects(benchKeys)
	a := loadedAuthorizer(b, subjects)
	reqs := benchRequests(subjects)
	b.ReportAllocs()
	i := 0
	report := measureCPU(b)
	for b.Loop() {
		if i == len(reqs) {
			b.StopTimer()
			a.dropDecisions()
			i = 0
			b.StartTimer()
		}
		r := reqs[i]
		a.Allow(r.key, r.org, r.ws, r.resource, r.action)
		i++
	}
	report()
}

// BenchmarkReplaceAll reloads 10,000 keys, a quarter of them changed.
func BenchmarkReplaceAll(b *testing.B) {
	subjects := benchSubjects(benchKeys)
	changed := benchSubjects(benchKeys)
	for i := 0; i < len(changed); i += 4 {
		changed[i].Role = RoleViewer
	}
	a := loadedAuthorizer(b, subjects)
	b.ReportAllocs()
	i := 0
	report := measureCPU(b)
	for b.Loop() {
		next := subjects
		if i%2 == 0 {
			next = changed
		}
		if err := a.ReplaceAll(next); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report()
}

// keyMatchModel is the design casbinModel rejects: one request domain, with
// util.KeyMatch installed as g's domain matching function (Casbin does so
// itself because of keyMatch(r.dom, p.dom) in the matcher).
const keyMatchModel = `
[request_definition]
r = sub, dom, obj, act
[policy_definition]
p = sub, dom, obj, act
[role_definition]
g = _, _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.obj == p.obj && r.act == p.act && g(r.sub, p.sub, r.dom) && keyMatch(r.dom, p.dom)
`

// BenchmarkLoad compares loading n keys, one workspace each, into the exact
// domain model and into the KeyMatch pattern model.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1_000, 4_000} {
		subjects := make([]Subject, n)
		var rules [][]string
		for i := range subjects {
			subjects[i] = Subject{KeyID: fmt.Sprint(i), OrgID: fmt.Sprint(i / 10), WorkspaceID: fmt.Sprint(i), Role: Roles[i%len(Roles)]}
			rules = append(rules, groupingRules(subjects[i])...)
		}
		b.Run(fmt.Sprintf("exact/keys=%d", n), func(b *testing.B) {
			report := measureCPU(b)
			for b.Loop() {
				if _, err := newEnforcer(rules); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
		b.Run(fmt.Sprintf("keyMatch/keys=%d", n), func(b *testing.B) {
			report := measureCPU(b)
			for b.Loop() {
				m, err := model.NewModelFromString(keyMatchModel)
				if err != nil {
					b.Fatal(err)
				}
				e, err := casbin.NewSyncedEnforcer(m)
				if err != nil {
					b.Fatal(err)
				}
				e.AddNamedDomainMatchingFunc("g", "KeyMatch", util.KeyMatch)
				if _, err := e.AddGroupingPolicies(rules); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}
