package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often an idle stream sends a comment, so proxies keep it open.
const keepAlive = 15 * time.Second

// events streams server-sent events: "snapshot" (a Snapshot) first, then "changes" (a
// Changes with every change since the previous message), at most one per tick. The stream
// is registered before the snapshot is read, so no change falls between the two.
func (v *View) events(w http.ResponseWriter, r *http.Request, sc scope) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	s := v.hub.add(sc.filter())
	defer v.hub.remove(s)
	snap, err := v.readSnapshot(r.Context(), sc)
	if err != nil {
		v.fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if writeEvent(w, "snapshot", snap) != nil {
		return
	}
	flusher.Flush()
	idle := time.NewTicker(keepAlive)
	defer idle.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-idle.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case <-s.ready:
			ch := s.take()
			if len(ch.IDs) == 0 {
				continue
			}
			if writeEvent(w, "changes", ch) != nil {
				return
			}
		}
		flusher.Flush()
	}
}

func writeEvent(w http.ResponseWriter, name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, raw)
	return err
}
