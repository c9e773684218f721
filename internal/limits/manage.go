package limits

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
)

// Manager reads and sets the limits of one key or workspace, for the API
// and the CLI: overrides go to the store and into this limiter at once;
// every other gateway on the store loads them at its next sync (within
// DefaultSyncInterval).
type Manager struct {
	l  *Limiter
	st store.Limits
}

// NewManager returns a Manager over l and the store its Syncer uses.
func NewManager(l *Limiter, st store.Limits) *Manager { return &Manager{l: l, st: st} }

// LimitView is one limit of a subject as the API shows it. Dollar values
// are USD; 0 as Limit means no limit.
type LimitView struct {
	Limit     float64   `json:"limit"`
	Used      float64   `json:"used"`
	Remaining float64   `json:"remaining"`
	ResetsAt  time.Time `json:"resets_at"`
	// Source says where the limit comes from: "override" (set for this
	// key or workspace) or "default" (limits.per_key / per_workspace).
	Source string `json:"source"`
}

// View is every limit of one key or workspace.
type View struct {
	Subject string               `json:"subject"`
	Limits  map[string]LimitView `json:"limits"` // by kind name
}

// Show returns the limits of subject at now, with what counts against
// them on this gateway (its own calls in flight included, other replicas'
// as of the last sync).
func (m *Manager) Show(subject string, now time.Time) (View, error) {
	k, ok := parseSubject(subject)
	if !ok {
		return View{}, fmt.Errorf("limits: malformed subject %q", subject)
	}
	usage, _ := m.l.Usage(subject, now)
	o, hasOverride := (*m.l.overrides.Load())[k]
	v := View{Subject: subject, Limits: make(map[string]LimitView, NumKinds)}
	for kind := range NumKinds {
		u := usage[kind]
		src := "default"
		if hasOverride && o.Has[kind] {
			src = "override"
		}
		v.Limits[kind.String()] = LimitView{
			Limit: unitValue(kind, u.Limit), Used: unitValue(kind, u.Used), Remaining: unitValue(kind, u.Remaining),
			ResetsAt: u.ResetsAt, Source: src,
		}
	}
	return v, nil
}

func unitValue(k Kind, v int64) float64 {
	if k.IsUSD() {
		return float64(v) / nanoPerUSD
	}
	return float64(v)
}

// Set replaces subject's override (an empty one removes it), stores it
// and applies it here at once.
func (m *Manager) Set(ctx context.Context, subject string, o Override, by string, now time.Time) error {
	if _, ok := parseSubject(subject); !ok {
		return fmt.Errorf("limits: malformed subject %q", subject)
	}
	stored := StoredOverride(subject, o)
	stored.UpdatedAt, stored.UpdatedBy = now.UTC(), by
	if err := m.st.PutLimitOverride(ctx, stored); err != nil {
		return err
	}
	ovs, err := m.st.LimitOverrides(ctx)
	if err != nil {
		return err
	}
	m.l.SetOverrides(OverridesFrom(ovs))
	return nil
}

// Request is a limits change as the API and the CLI take it: each limit
// set (nil keeps the configured default; 0 lifts the limit), dollars in
// USD.
type Request struct {
	RequestsPerMinute *int64   `json:"requests_per_minute"`
	TokensPerMinute   *int64   `json:"tokens_per_minute"`
	TokensPerDay      *int64   `json:"tokens_per_day"`
	USDPerDay         *float64 `json:"usd_per_day"`
	USDPerMonth       *float64 `json:"usd_per_month"`
}

// Override validates r with the configuration's rules and converts it.
// The error names the first broken field and its rule.
func (r Request) Override() (Override, error) {
	var set config.LimitSet
	var o Override
	ints := []struct {
		k Kind
		p *int64
		d *int64
	}{{RequestsPerMinute, r.RequestsPerMinute, &set.RequestsPerMinute}, {TokensPerMinute, r.TokensPerMinute, &set.TokensPerMinute}, {TokensPerDay, r.TokensPerDay, &set.TokensPerDay}}
	for _, f := range ints {
		if f.p != nil {
			*f.d, o.Has[f.k], o.Values[f.k] = *f.p, true, *f.p
		}
	}
	usds := []struct {
		k Kind
		p *float64
		d *float64
	}{{USDPerDay, r.USDPerDay, &set.USDPerDay}, {USDPerMonth, r.USDPerMonth, &set.USDPerMonth}}
	for _, f := range usds {
		if f.p != nil {
			*f.d, o.Has[f.k], o.Values[f.k] = *f.p, true, USDToNano(*f.p)
		}
	}
	var first error
	config.ValidateLimitSet(func(field, rule string) {
		if first == nil {
			first = fmt.Errorf("%s: %s", field, rule)
		}
	}, set)
	return o, first
}

// ParseAssignments reads the CLI's NAME=VALUE limits (usd_per_day=5,
// requests_per_minute=60, ...) into a Request; "default" as a value keeps
// the configured default.
func ParseAssignments(args []string) (Request, error) {
	var r Request
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		kind, known := KindByName(name)
		if !ok || !known {
			return Request{}, fmt.Errorf("%q: want NAME=VALUE with NAME one of %s", a, strings.Join(kindNames[:], ", "))
		}
		if value == "default" {
			continue
		}
		if kind.IsUSD() {
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return Request{}, fmt.Errorf("%s: must be a number of dollars", name)
			}
			if kind == USDPerDay {
				r.USDPerDay = &f
			} else {
				r.USDPerMonth = &f
			}
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return Request{}, fmt.Errorf("%s: must be a whole number", name)
		}
		switch kind {
		case RequestsPerMinute:
			r.RequestsPerMinute = &n
		case TokensPerMinute:
			r.TokensPerMinute = &n
		default:
			r.TokensPerDay = &n
		}
	}
	return r, nil
}

// Describe is an override in NAME=VALUE words, for audit events: the
// limits it sets, or "defaults" when it sets none.
func (o Override) Describe() string {
	var parts []string
	for k := range NumKinds {
		if o.Has[k] {
			parts = append(parts, k.String()+"="+FormatValue(k, o.Values[k]))
		}
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, " ")
}
