package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/ongoingai/gateway/internal/trace"
)

// MsgStoreUnavailable answers a read the store could not serve because it
// is down, unreachable or did not answer within storage.read_timeout: a 503
// the client may retry, distinct from a 500 (a bug). It never carries the
// driver's error, which may name hosts, users or databases.
const MsgStoreUnavailable = "store unavailable"

// readContext bounds one read of the store by storage.read_timeout, so a
// frozen database costs the client that long, not forever.
func (a *API) readContext(r *http.Request) (context.Context, context.CancelFunc) {
	if a.d.ReadTimeout <= 0 {
		return context.WithCancel(r.Context())
	}
	return context.WithTimeout(r.Context(), a.d.ReadTimeout)
}

// writeStoreError answers a failed read made with ctx (from readContext):
// 503 store unavailable when the store timed out or could not be reached,
// by the store's own classification (trace.Classify, as the trace writer
// counts its failures) or because ctx ran out; 500 internal error
// otherwise.
func (a *API) writeStoreError(ctx context.Context, w http.ResponseWriter, err error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || trace.Unavailable(trace.Classify(a.classify, err)) {
		WriteError(w, http.StatusServiceUnavailable, MsgStoreUnavailable)
		return
	}
	WriteError(w, http.StatusInternalServerError, MsgInternal)
}
