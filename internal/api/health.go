package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ongoingai/gateway/internal/health"
)

type rootResponse struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Status  string `json:"status"`
}

func (a *API) root(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, rootResponse{Name: "ongoingai-gateway", Version: a.d.Version, Status: "ok"})
}

type healthResponse struct {
	// Status is "ok", or "degraded" when the store is unreachable or the
	// trace writer is failing.
	Status        string       `json:"status"`
	Version       string       `json:"version"`
	StorageDriver string       `json:"storage_driver"`
	UptimeS       int64        `json:"uptime_s"`
	Checks        healthChecks `json:"checks"`
	Queue         healthQueue  `json:"queue"`
	// Features lists the optional capabilities switched on (the features
	// block), in a fixed order.
	Features []string `json:"features"`
}

// healthChecks are the background probe's findings (see internal/health):
// at most storage.health_interval + storage.read_timeout old.
type healthChecks struct {
	Store          string    `json:"store"` // ok or unreachable
	StoreCheckedAt time.Time `json:"store_checked_at"`
	TraceWriter    string    `json:"trace_writer"` // ok or failing
}

type healthQueue struct {
	Depth         int   `json:"depth"`
	Capacity      int   `json:"capacity"`
	WrittenTotal  int64 `json:"written_total"`
	DroppedTotal  int64 `json:"dropped_total"`
	FailuresTotal int64 `json:"write_failures_total"`
	LostTotal     int64 `json:"lost_total"`
}

// errReadyParam refuses a ready value that is not a boolean.
var errReadyParam = &paramError{"ready", "must be 1, true, 0 or false"}

// Health statuses.
const (
	healthOK       = "ok"
	healthDegraded = "degraded"
)

// health is O(1): counters and the background probe's last report from
// memory, never a database round trip, so a load balancer may probe it as
// often as it likes. It answers 200 whatever the status (the process is
// alive); with ?ready=1 a degraded gateway answers 503, the readiness
// answer that takes a replica out of rotation while its store is down.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	ready := false
	if v := r.URL.Query().Get("ready"); v != "" {
		var err error
		if ready, err = strconv.ParseBool(v); err != nil {
			WriteError(w, http.StatusBadRequest, errReadyParam.Error())
			return
		}
	}
	rep := health.Report{StoreReachable: true, CheckedAt: time.Now()}
	if a.d.Health != nil {
		rep = a.d.Health()
	}
	resp := healthResponse{
		Status:        healthOK,
		Version:       a.d.Version,
		StorageDriver: a.d.Store.Driver(),
		UptimeS:       int64(time.Since(a.d.Started).Seconds()),
		Checks:        healthChecks{Store: healthOK, StoreCheckedAt: rep.CheckedAt.UTC(), TraceWriter: healthOK},
		Features:      a.d.Features,
	}
	if resp.Features == nil {
		resp.Features = []string{}
	}
	if !rep.StoreReachable {
		resp.Checks.Store = "unreachable"
	}
	if rep.WriterFailing {
		resp.Checks.TraceWriter = "failing"
	}
	if !rep.OK() {
		resp.Status = healthDegraded
	}
	if a.d.QueueStats != nil {
		s := a.d.QueueStats()
		resp.Queue = healthQueue{
			Depth: s.Depth, Capacity: s.Capacity,
			WrittenTotal: s.Written, DroppedTotal: s.Dropped,
			FailuresTotal: s.WriteFailures, LostTotal: s.Lost,
		}
	}
	status := http.StatusOK
	if ready && !rep.OK() {
		status = http.StatusServiceUnavailable
	}
	WriteJSON(w, status, resp)
}
