package limits

import (
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
)

var t0 = time.Date(2026, 12, 7, 23, 59, 30, 0, time.UTC)

var alice = Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "alice"}

func TestRequestsPerMinuteSlide(t *testing.T) {
	l := New(config.Limits{PerKey: config.LimitSet{RequestsPerMinute: 5}})
	for i := range 5 {
		if _, _, ok := l.Admit(alice, Cost{}, t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("call %d refused", i+1)
		}
	}
	_, st, ok := l.Admit(alice, Cost{}, t0.Add(10*time.Second))
	if ok {
		t.Fatal("6th call of 5 admitted")
	}
	if st.Kind != RequestsPerMinute || st.Scope != ScopeKey || st.Limit != 5 || st.Remaining != 0 {
		t.Errorf("refusal %+v", st)
	}
	// The first call leaves the window 60s after it was made.
	if want := t0.Add(60 * time.Second); !st.ResetsAt.Equal(want) {
		t.Errorf("resets at %v, want %v", st.ResetsAt, want)
	}
	if _, _, ok := l.Admit(Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "bob"}, Cost{}, t0.Add(10*time.Second)); !ok {
		t.Error("another key was refused")
	}
	if _, _, ok := l.Admit(alice, Cost{}, st.ResetsAt); !ok {
		t.Error("refused at resets_at")
	}
}

func TestReserveThenSettle(t *testing.T) {
	l := New(config.Limits{PerWorkspace: config.LimitSet{USDPerDay: 0.002}})
	want := Cost{Tokens: 100, NanoUSD: 300_000} // $0.0003 worst case
	// Reservations alone hold the budget: 6 fit in $0.002, the 7th not.
	var held []Reservation
	for range 6 {
		r, _, ok := l.Admit(alice, want, t0)
		if !ok {
			t.Fatal("refused within budget")
		}
		held = append(held, r)
	}
	_, st, ok := l.Admit(alice, want, t0)
	if ok || st.Kind != USDPerDay || st.Scope != ScopeWorkspace {
		t.Fatalf("7th reservation: ok=%v %+v", ok, st)
	}
	if want := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC); !st.ResetsAt.Equal(want) {
		t.Errorf("resets at %v", st.ResetsAt)
	}
	// Settling at the real, smaller cost frees room; a failed call frees all.
	held[0].Settle(Cost{Tokens: 10, NanoUSD: 100_000}, t0)
	held[1].Settle(Cost{}, t0)
	u, _ := l.Usage(WorkspaceSubject("acme", "prod"), t0)
	if got := u[USDPerDay].Used; got != 4*300_000+100_000 {
		t.Errorf("used %d", got)
	}
	if _, _, ok := l.Admit(alice, want, t0); !ok {
		t.Error("refused after settling freed room")
	}
}

func TestConcurrentBurstHoldsBudget(t *testing.T) {
	l := New(config.Limits{PerKey: config.LimitSet{USDPerDay: 0.002}})
	want := Cost{Tokens: 50, NanoUSD: 150_000}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int
	)
	for range 30 {
		wg.Go(func() {
			if _, _, ok := l.Admit(alice, want, t0); ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != 13 { // floor(2_000_000 / 150_000)
		t.Errorf("admitted %d of 30, want 13", admitted)
	}
}

func TestDayAndMonthRoll(t *testing.T) {
	l := New(config.Limits{PerOrg: config.LimitSet{TokensPerDay: 100, USDPerMonth: 1}})
	r, _, _ := l.Admit(alice, Cost{Tokens: 90, NanoUSD: 1}, t0)
	r.Settle(Cost{Tokens: 90, NanoUSD: 900_000_000}, t0)
	if _, st, ok := l.Admit(alice, Cost{Tokens: 20}, t0); ok || st.Kind != TokensPerDay || st.Scope != ScopeOrg {
		t.Fatalf("over the day's tokens: ok=%v %+v", ok, st)
	}
	next := t0.Add(time.Minute) // 00:00:30 the next day, same month
	if _, _, ok := l.Admit(alice, Cost{Tokens: 20}, next); !ok {
		t.Error("a new day did not reset tokens_per_day")
	}
	if _, st, ok := l.Admit(alice, Cost{NanoUSD: 200_000_000}, next); ok || st.Kind != USDPerMonth {
		t.Errorf("the month's budget was reset with the day: ok=%v %+v", ok, st)
	}
}

func TestOverridesReplaceDefaults(t *testing.T) {
	l := New(config.Limits{})
	if l.Enabled() {
		t.Fatal("enabled with no limits")
	}
	l.SetOverrides(map[string]Override{KeySubject("alice"): {Values: Set{RequestsPerMinute: 1}, Has: [NumKinds]bool{RequestsPerMinute: true}}})
	if _, _, ok := l.Admit(alice, Cost{}, t0); !ok {
		t.Fatal("first call refused")
	}
	if _, _, ok := l.Admit(alice, Cost{}, t0); ok {
		t.Fatal("override not applied")
	}
	// An override of 0 lifts the default.
	l2 := New(config.Limits{PerKey: config.LimitSet{RequestsPerMinute: 1}})
	l2.SetOverrides(map[string]Override{KeySubject("alice"): {Has: [NumKinds]bool{RequestsPerMinute: true}}})
	for range 3 {
		if _, _, ok := l2.Admit(alice, Cost{}, t0); !ok {
			t.Fatal("lifted limit still applied")
		}
	}
}

func TestTightestLimit(t *testing.T) {
	l := New(config.Limits{PerKey: config.LimitSet{RequestsPerMinute: 100, TokensPerMinute: 1000}})
	r, _, _ := l.Admit(alice, Cost{Tokens: 600}, t0)
	if r.Tightest.Kind != TokensPerMinute || r.Tightest.Remaining != 400 || r.Tightest.Limit != 1000 {
		t.Errorf("tightest %+v", r.Tightest)
	}
	if !r.Tightest.ResetsAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("resets at %v", r.Tightest.ResetsAt)
	}
}

func TestSubjectNames(t *testing.T) {
	for _, s := range []string{KeySubject("k1"), WorkspaceSubject("acme", "prod"), OrgSubject("acme")} {
		k, ok := parseSubject(s)
		if !ok || k.String() != s {
			t.Errorf("%q: %v %q", s, ok, k.String())
		}
	}
	for _, s := range []string{"", "key:", "workspace:acme", "workspace:/x", "team:x"} {
		if _, ok := parseSubject(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
}
