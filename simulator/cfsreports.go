package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// Batched CFS reports (Config.BatchCFSReports): cfs-state-reporter's PATCH of each node,
// collected as the events of a collected subscription are (pending): one delivery at a
// time (a worker of its own, as an event shard has), carrying every report queued by the time it runs, up to
// maxCollectedPerPost a request. The request is CFS's bulk patch by ids, which answers
// the ids it patched; a node it did not patch (unknown to CFS: a 404 alone) or a batch
// that failed is retried node by node on the reporters' backoff, as a node's own PATCH
// is.

// cfsReport is one node's report waiting for its batch.
type cfsReport struct {
	ctx     context.Context // the power cycle's
	n       *node
	g       uint64
	attempt int
}

// cfsBulkPatch is the body of the batch: re-enable the components with these ids.
type cfsBulkPatch struct {
	Patch   cfsReenable `json:"patch"`
	Filters struct {
		IDs string `json:"ids"`
	} `json:"filters"`
}

type cfsReenable struct {
	State   []struct{} `json:"state"`
	Enabled bool       `json:"enabled"`
}

// queueCFSReport queues r for the next batch, scheduling its delivery if none is.
func (s *Simulator) queueCFSReport(r cfsReport) {
	s.cfsReports.add(r, 0, func() bool { return s.cfsSender.trySubmit(s.sendCFSReports) })
}

// sendCFSReports sends what is queued, maxCollectedPerPost reports a PATCH.
func (s *Simulator) sendCFSReports() {
	var live []cfsReport
	for _, r := range s.cfsReports.take() {
		if r.ctx.Err() == nil && s.current(r.n, r.g) {
			live = append(live, r)
		}
	}
	for len(live) > 0 {
		k := min(len(live), maxCollectedPerPost)
		s.sendCFSBatch(live[:k])
		live = live[k:]
	}
}

// sendCFSBatch PATCHes one batch and settles each of its reports.
func (s *Simulator) sendCFSBatch(batch []cfsReport) {
	cfs := s.services.Load().CFS
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.n.xname
	}
	var body cfsBulkPatch
	body.Patch = cfsReenable{State: []struct{}{}, Enabled: true}
	body.Filters.IDs = strings.Join(ids, ",")
	raw, _ := json.Marshal(body)
	status, answer, err := s.call(s.ctx, http.MethodPatch, cfs+"/v3/components", raw)
	s.stats.cfsPatches.Add(1)
	var patched struct {
		IDs []string `json:"component_ids"`
	}
	if err == nil && status/100 == 2 {
		err = json.NewDecoder(bytes.NewReader(answer)).Decode(&patched)
	}
	done := make(map[string]bool, len(patched.IDs))
	for _, id := range patched.IDs {
		done[id] = true
	}
	for _, r := range batch {
		n, g := r.n, r.g
		switch {
		case done[n.xname]:
			n.bmc.mu.Lock()
			if n.gen == g {
				n.cfsReported = true
			}
			n.bmc.mu.Unlock()
			s.stats.cfsReports.Add(1)
		case err == nil && status/100 == 2, retryable(status, err): // not patched: unknown to CFS, as a 404
			s.log.Debug("CFS report failed, retrying", "node", n.xname, "status", status, "err", err)
			s.later(n, g, s.backoff(r.attempt), func() { s.reportCFS(r.ctx, n, g, r.attempt+1) })
		default:
			s.log.Warn("CFS refused the report; giving up", "node", n.xname, "status", status)
		}
	}
}
