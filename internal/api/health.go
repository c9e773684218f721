package api

import (
	"net/http"
	"time"
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
	Status        string      `json:"status"`
	Version       string      `json:"version"`
	StorageDriver string      `json:"storage_driver"`
	UptimeS       int64       `json:"uptime_s"`
	Queue         healthQueue `json:"queue"`
}

type healthQueue struct {
	Depth         int   `json:"depth"`
	Capacity      int   `json:"capacity"`
	WrittenTotal  int64 `json:"written_total"`
	DroppedTotal  int64 `json:"dropped_total"`
	FailuresTotal int64 `json:"write_failures_total"`
	LostTotal     int64 `json:"lost_total"`
}

// health is O(1): counters from memory, never a table scan, so a load
// balancer may probe it as often as it likes.
func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	s := a.d.QueueStats()
	WriteJSON(w, http.StatusOK, healthResponse{
		Status:        "ok",
		Version:       a.d.Version,
		StorageDriver: a.d.Store.Driver(),
		UptimeS:       int64(time.Since(a.d.Started).Seconds()),
		Queue: healthQueue{
			Depth: s.Depth, Capacity: s.Capacity,
			WrittenTotal: s.Written, DroppedTotal: s.Dropped,
			FailuresTotal: s.WriteFailures, LostTotal: s.Lost,
		},
	})
}
