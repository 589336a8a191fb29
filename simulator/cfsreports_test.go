package simulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// With BatchCFSReports the nodes' CFS reports go as CFS bulk PATCHes by ids, one at a
// time, each carrying every report queued while the one before was sent; a node CFS
// did not patch is retried on its own backoff, and no node PATCHes alone.
func TestCFSReportsAreBatched(t *testing.T) {
	st := newStack(t)
	first := make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(first) }) })
	var mu sync.Mutex
	omitted := false
	st.cfs.setAnswer(func(r *http.Request, body []byte) (int, string) {
		var b cfsBulkPatch
		if r.URL.Path != "/v3/components" || json.Unmarshal(body, &b) != nil {
			return http.StatusBadRequest, "{}"
		}
		mu.Lock()
		n := len(st.cfs.matching("PATCH", "/v3/components"))
		var ids []string
		for id := range strings.SplitSeq(b.Filters.IDs, ",") {
			if id == bladeNode && !omitted { // unknown to CFS this once: not patched
				omitted = true
				continue
			}
			ids = append(ids, id)
		}
		mu.Unlock()
		if n == 1 {
			<-first // the first batch is slow: the other reports queue behind it
		}
		out, _ := json.Marshal(map[string][]string{"component_ids": ids})
		return http.StatusOK, string(out)
	})
	s := newSim(t, func(c *Config) { c.Services = st.services(); c.BatchCFSReports = true })
	nodes := s.Nodes()
	for _, n := range nodes {
		srv := bmcServer(t, s, n.BMC)
		require.Equal(t, 204, call(t, srv.URL, "POST", "/redfish/v1/Systems/"+n.SystemID+"/Actions/ComputerSystem.Reset", resetBody("On"), "basic").status)
	}
	// The first batch is held; every other node's report queues behind it.
	testwait.Until(t, "every report sent or queued", func() bool {
		held := len(st.cfs.matching("PATCH", "/v3/components"))
		s.cfsReports.mu.Lock()
		queued := len(s.cfsReports.items)
		s.cfsReports.mu.Unlock()
		return held == 1 && queued > 0 && queued+idCount(st.cfs.matching("PATCH", "/v3/components")[0].body) == len(nodes)
	}, stats(s))
	release.Do(func() { close(first) })
	for _, n := range nodes {
		waitNode(t, s, n.Xname, "reported to CFS", func(n NodeState) bool { return n.CFSReported })
	}
	patches := st.cfs.matching("PATCH", "/v3/components")
	require.Len(t, patches, 3, "the held batch, the rest queued behind it, the node CFS did not patch")
	assert.Equal(t, len(nodes)+1, idCount(patches[0].body)+idCount(patches[1].body)+idCount(patches[2].body))
	assert.Equal(t, 1, idCount(patches[2].body), "the retry is the omitted node's alone")
	assert.Contains(t, string(patches[2].body), bladeNode)
	for _, r := range st.cfs.all() {
		assert.Equal(t, "/v3/components", r.path, "no node PATCHes alone")
	}
	assert.Equal(t, int64(len(nodes)), s.Stats().CFSReports)
	assert.Equal(t, int64(3), s.Stats().CFSPatches)
}

func idCount(body []byte) int {
	var b cfsBulkPatch
	if json.Unmarshal(body, &b) != nil || b.Filters.IDs == "" {
		return 0
	}
	return strings.Count(b.Filters.IDs, ",") + 1
}
