package limits

import (
	"sync"
	"time"
)

// windowSeconds is the sliding minute, in one-second buckets.
const windowSeconds = 60

// periods is one instant, as the counters see it.
type periods struct {
	now    time.Time
	second int64 // unix second
	day    int64 // days since the unix epoch (UTC)
	month  int64 // year*12 + month-1 (UTC)
}

func periodsAt(now time.Time) periods {
	sec := now.Unix()
	u := now.UTC()
	return periods{
		now:    now,
		second: sec,
		day:    floorDiv(sec, 86400),
		month:  int64(u.Year())*12 + int64(u.Month()) - 1,
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

func dayStart(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

func monthStart(month int64) time.Time {
	return time.Date(int(month/12), time.Month(month%12+1), 1, 0, 0, 0, 0, time.UTC)
}

// counter is one subject's usage. Totals "own" are what this process
// settled in the period; "reserved" is held by its calls in flight; "base"
// is what was settled elsewhere (earlier runs, other replicas), as last
// read from the store. Its fields are guarded by mu.
type counter struct {
	mu sync.Mutex

	// The sliding minute: bucket i holds second sec[i].
	sec  [windowSeconds]int64
	reqs [windowSeconds]int64
	toks [windowSeconds]int64

	day                        int64
	dayTokens, dayNano         int64
	dayResTokens, dayResNano   int64
	dayBaseTokens, dayBaseNano int64

	month                   int64
	monthNano, monthResNano int64
	monthBaseNano           int64

	// What other replicas counted in the current and the previous fixed
	// minute (baseMinute and the one before), as last read from the
	// store; the sliding minute weighs the previous one by how much of it
	// is still in the window.
	baseMinute               int64
	baseReqCur, baseTokCur   int64
	baseReqPrev, baseTokPrev int64

	// This replica's calls per fixed minute, for the other replicas:
	// [0] is minute ownMinute, [1] the one before.
	ownMinuteAt            int64
	ownMinReqs, ownMinToks [2]int64

	// dirty: own totals or reservations changed since they were last
	// handed to the store.
	dirty bool
}

// roll starts a new day or month when now has left the current one. Calls
// in flight keep their reservations: they will settle in the new period.
func (c *counter) roll(p periods) {
	if c.day != p.day {
		c.day = p.day
		c.dayTokens, c.dayNano, c.dayBaseTokens, c.dayBaseNano = 0, 0, 0, 0
	}
	if c.month != p.month {
		c.month = p.month
		c.monthNano, c.monthBaseNano = 0, 0
	}
}

// window sums the minute ending at p.second: this replica's calls
// exactly, other replicas' as the weighted sum of their fixed minutes.
func (c *counter) window(p periods) (reqs, toks int64) {
	for i := range windowSeconds {
		if p.second-c.sec[i] < windowSeconds {
			reqs += c.reqs[i]
			toks += c.toks[i]
		}
	}
	r, t := c.othersWindow(p)
	return reqs + r, toks + t
}

// othersWindow estimates other replicas' calls in the sliding minute
// ending at p.second: all of the current fixed minute, and of the previous
// one the share of its seconds still in the window, rounded up.
func (c *counter) othersWindow(p periods) (reqs, toks int64) {
	m := floorDiv(p.second, windowSeconds)
	var curR, curT, prevR, prevT int64
	switch c.baseMinute {
	case m:
		curR, curT, prevR, prevT = c.baseReqCur, c.baseTokCur, c.baseReqPrev, c.baseTokPrev
	case m - 1:
		prevR, prevT = c.baseReqCur, c.baseTokCur
	default:
		return 0, 0
	}
	keep := windowSeconds - 1 - (p.second - m*windowSeconds) // seconds of the previous minute in the window
	weigh := func(n int64) int64 { return (n*keep + windowSeconds - 1) / windowSeconds }
	return curR + weigh(prevR), curT + weigh(prevT)
}

// rollMinute makes m the current fixed minute of the own-minute totals.
func (c *counter) rollMinute(m int64) {
	switch c.ownMinuteAt {
	case m:
		return
	case m - 1:
		c.ownMinReqs = [2]int64{0, c.ownMinReqs[0]}
		c.ownMinToks = [2]int64{0, c.ownMinToks[0]}
	default:
		c.ownMinReqs, c.ownMinToks = [2]int64{}, [2]int64{}
	}
	c.ownMinuteAt = m
}

// used is what counts against a limit of kind k, reservations included.
func (c *counter) used(k Kind, p periods) int64 {
	switch k {
	case RequestsPerMinute:
		r, _ := c.window(p)
		return r
	case TokensPerMinute:
		_, t := c.window(p)
		return t
	case TokensPerDay:
		return c.dayBaseTokens + c.dayTokens + c.dayResTokens
	case USDPerDay:
		return c.dayBaseNano + c.dayNano + c.dayResNano
	default:
		return c.monthBaseNano + c.monthNano + c.monthResNano
	}
}

// bucket returns the index of second's bucket, emptying it when it held an
// older second.
func (c *counter) bucket(second int64) int {
	i := int(second % windowSeconds)
	if c.sec[i] != second {
		c.sec[i], c.reqs[i], c.toks[i] = second, 0, 0
	}
	return i
}

func (c *counter) reserve(want Cost, p periods) {
	i := c.bucket(p.second)
	c.reqs[i]++
	c.toks[i] += want.Tokens
	c.rollMinute(floorDiv(p.second, windowSeconds))
	c.ownMinReqs[0]++
	c.ownMinToks[0] += want.Tokens
	c.dayResTokens += want.Tokens
	c.dayResNano += want.NanoUSD
	c.monthResNano += want.NanoUSD
	c.dirty = true // other replicas see reservations too
}

// settle swaps a reservation made at second for the actual cost. The
// minute's tokens are corrected in the reservation's bucket while it is
// still in the window; the day and month are charged now.
func (c *counter) settle(want, actual Cost, second int64, p periods) {
	if i := int(second % windowSeconds); c.sec[i] == second {
		c.toks[i] = max(c.toks[i]+actual.Tokens-want.Tokens, 0)
	}
	c.rollMinute(floorDiv(p.second, windowSeconds))
	if j := c.ownMinuteAt - floorDiv(second, windowSeconds); j == 0 || j == 1 {
		c.ownMinToks[j] = max(c.ownMinToks[j]+actual.Tokens-want.Tokens, 0)
	}
	c.dayResTokens -= want.Tokens
	c.dayResNano -= want.NanoUSD
	c.monthResNano -= want.NanoUSD
	c.dayTokens += actual.Tokens
	c.dayNano += actual.NanoUSD
	c.monthNano += actual.NanoUSD
	c.dirty = true
}

// resetsAt is when a call needing need could first be admitted against
// limit, as far as the counters can tell: for the minute, when enough of
// the window has slid out; for days and months, the next period.
func (c *counter) resetsAt(k Kind, p periods, limit, need int64) time.Time {
	switch k {
	case RequestsPerMinute, TokensPerMinute:
		used := c.used(k, p)
		for s := p.second - windowSeconds + 1; s <= p.second; s++ {
			i := int(s % windowSeconds)
			if c.sec[i] != s {
				continue
			}
			if k == RequestsPerMinute {
				used -= c.reqs[i]
			} else {
				used -= c.toks[i]
			}
			if used+need <= limit {
				return time.Unix(s+windowSeconds, 0).UTC()
			}
		}
		// Even an empty window cannot hold it (need > limit), or the
		// rest is reserved by calls in flight: the window's end is the
		// soonest anything changes.
		return time.Unix(p.second+windowSeconds, 0).UTC()
	case USDPerMonth:
		return monthStart(p.month + 1)
	default:
		return dayStart(p.day + 1)
	}
}

// nextChange is when what counts against a limit of kind k next goes
// down: the oldest second of the window leaving it, or the next period.
func (c *counter) nextChange(k Kind, p periods) time.Time {
	switch k {
	case RequestsPerMinute, TokensPerMinute:
		for s := p.second - windowSeconds + 1; s <= p.second; s++ {
			if i := int(s % windowSeconds); c.sec[i] == s && (c.reqs[i] > 0 || c.toks[i] > 0) {
				return time.Unix(s+windowSeconds, 0).UTC()
			}
		}
		return time.Unix(p.second+windowSeconds, 0).UTC()
	case USDPerMonth:
		return monthStart(p.month + 1)
	default:
		return dayStart(p.day + 1)
	}
}
