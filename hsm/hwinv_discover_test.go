package hsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
)

// hwHistoryOf is the event types and FRUIDs of a location's history.
func hwHistoryOf(t *testing.T, s *Server, id string) []string {
	t.Helper()
	r := call(t, s, "GET", hwPath+"/History/"+id, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	var out []string
	for _, ev := range decode[HWInvHistArray](t, r).History {
		out = append(out, ev.EventType+" "+ev.FRUID)
	}
	return out
}

// A Discover of every simulated BMC (blade x86 and Grace nodes, rack servers) reads
// each node's system, processors and memory and the BMC's manager: the same facts
// the seed has, so the inventory is unchanged and every discovered location records a
// Scanned event for its FRU.
func TestDiscoverRefillsHWInventory(t *testing.T) {
	topo, err := topology.Generate(topology.Options{Compute: 4, ARM: 2, Management: 1})
	require.NoError(t, err)
	s, _, _ := discoveryServerOf(t, topo, nil)
	require.Contains(t, call(t, s, "GET", hwPath+"?type=Processor", "").body, "NVIDIA Grace CPU")
	require.Contains(t, call(t, s, "GET", hwPath+"?type=Node", "").body, "ProLiant")
	before := call(t, s, "GET", hwPath, "")
	require.Equal(t, http.StatusOK, before.status)
	const node = "x1000c0s0b0n1"
	query := call(t, s, "GET", hwPath+"/Query/"+node, "").body

	r := call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":[],"force":false}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	s.WaitDiscoveries()

	assert.JSONEq(t, query, call(t, s, "GET", hwPath+"/Query/"+node, "").body)
	assert.JSONEq(t, before.body, call(t, s, "GET", hwPath, "").body)

	var locs []HWInvByLoc
	require.NoError(t, json.Unmarshal([]byte(before.body), &locs))
	scanned := 0
	for _, l := range locs {
		switch l.Type {
		case "NodeEnclosure": // discovery does not read Chassis
			assert.Len(t, hwHistoryOf(t, s, l.ID), 1, l.ID)
		default:
			assert.Equal(t, []string{"Added " + l.PopulatedFRU.FRUID, "Scanned " + l.PopulatedFRU.FRUID},
				hwHistoryOf(t, s, l.ID), l.ID)
			scanned++
		}
	}
	assert.Greater(t, scanned, 3*len(s.hw.bmcs), "nodes, processors, memory and BMCs were scanned")
	for _, p := range []string{"p0", "p1", "d0"} {
		assert.Equal(t, "FRUIDfor"+node+p, decode[HWInvByLoc](t, call(t, s, "GET", hwPath+"/"+node+p, "")).PopulatedFRU.FRUID)
	}
}

// rewriting serves h, with the resources at paths ending in suffix changed by edit,
// or answered with the status edit returns when that is not 200.
func rewriting(h http.Handler, suffix string, edit func(map[string]any) int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, suffix) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var v map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &v) != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if status := edit(v); status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(v)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b.Bytes())
	})
}

// A processor whose serial number changed is another FRU: the location records the
// old FRU Removed and the new one Added, and stores the new FRU info.
func TestDiscoverRecordsReplacedProcessor(t *testing.T) {
	s, tr, _ := discoveryServer(t, nil)
	const bmc, node = "x1000c0s0b0", "x1000c0s0b0n1"
	tr.mu.Lock()
	tr.hosts[bmc] = rewriting(tr.hosts[bmc], "/Systems/Node1/Processors/CPU1", func(v map[string]any) int {
		v["SerialNumber"], v["PartNumber"] = "SN-4711", "100-000000312" // another CPU, a trackable one
		return http.StatusOK
	})
	tr.mu.Unlock()

	r := call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["`+bmc+`"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	s.WaitDiscoveries()

	const newFRU = "Processor.AMD.100000000312.SN4711"
	assert.Equal(t, []string{"Added FRUIDfor" + node + "p0", "Removed FRUIDfor" + node + "p0", "Added " + newFRU},
		hwHistoryOf(t, s, node+"p0"))
	assert.Equal(t, []string{"Added FRUIDfor" + node + "p1", "Scanned FRUIDfor" + node + "p1"}, hwHistoryOf(t, s, node+"p1"))
	assert.Equal(t, []string{"Added FRUIDforx1000c0s0b0n0p0", "Scanned FRUIDforx1000c0s0b0n0p0"}, hwHistoryOf(t, s, "x1000c0s0b0n0p0"))

	loc := call(t, s, "GET", hwPath+"/"+node+"p0", "")
	require.Equal(t, http.StatusOK, loc.status, loc.body)
	var v struct {
		PopulatedFRU struct {
			FRUID            string
			ProcessorFRUInfo map[string]any
		}
		ProcessorLocationInfo map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(loc.body), &v))
	assert.Equal(t, newFRU, v.PopulatedFRU.FRUID)
	assert.Equal(t, "SN-4711", v.PopulatedFRU.ProcessorFRUInfo["SerialNumber"])
	assert.Equal(t, "CPU 1", v.ProcessorLocationInfo["Socket"])
	fru := call(t, s, "GET", hwPath+"ByFRU/"+newFRU, "")
	assert.Equal(t, http.StatusOK, fru.status, fru.body)
}

// Ordinals as hms-smd's: an absent processor still takes its pN, a DIMM's dN is its
// index in the collection even when an earlier member cannot be read; the locations
// of what discovery did not store keep what they had.
func TestDiscoverOrdinalsAsReal(t *testing.T) {
	s, tr, _ := discoveryServer(t, nil)
	const bmc, node = "x1000c0s0b0", "x1000c0s0b0n0"
	tr.mu.Lock()
	h := rewriting(tr.hosts[bmc], "/Systems/Node0/Processors/CPU1", func(v map[string]any) int {
		v["Status"] = map[string]any{"State": "Absent"}
		return http.StatusOK
	})
	tr.hosts[bmc] = rewriting(h, "/Systems/Node0/Memory/DIMM1", func(map[string]any) int { return http.StatusNotFound })
	tr.mu.Unlock()

	r := call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["`+bmc+`"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	s.WaitDiscoveries()

	for id, events := range map[string]int{"p0": 1, "p1": 2, "d0": 1, "d1": 2, "d2": 2} {
		assert.Len(t, hwHistoryOf(t, s, node+id), events, id)
	}
	assert.Equal(t, http.StatusOK, call(t, s, "GET", hwPath+"/"+node+"p0", "").status)
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", hwPath+"/"+node+"p2", "").status)
}

// A BMC listing thousands of processors, some with properties of the wrong type, costs
// at most maxHWMembers reads per collection; a wrongly typed property is left out, as
// hms-smd skips it, and the rest of the processor is stored.
func TestDiscoverHostileProcessors(t *testing.T) {
	s, tr, _ := discoveryServer(t, nil)
	const bmc, node = "x1000c0s0b0", "x1000c0s0b0n0"
	tr.mu.Lock()
	h := rewriting(tr.hosts[bmc], "/Systems/Node0/Processors", func(v map[string]any) int {
		members := make([]any, 5000)
		for i := range members {
			members[i] = map[string]any{"@odata.id": "/redfish/v1/Systems/Node0/Processors/CPU1"}
		}
		v["Members"] = members
		return http.StatusOK
	})
	tr.hosts[bmc] = rewriting(h, "/Systems/Node0/Processors/CPU1", func(v map[string]any) int {
		v["TotalCores"], v["Model"] = true, []any{"not", "a", "string"}
		return http.StatusOK
	})
	tr.mu.Unlock()

	r := call(t, s, "POST", "/hsm/v2/Inventory/Discover", `{"xnames":["`+bmc+`"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	s.WaitDiscoveries()

	last := fmt.Sprintf("%sp%d", node, maxHWMembers-1)
	loc := call(t, s, "GET", hwPath+"/"+last, "")
	require.Equal(t, http.StatusOK, loc.status, loc.body)
	assert.Contains(t, loc.body, `"Socket":"CPU 1"`)
	assert.Contains(t, loc.body, `"TotalCores":0`)
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", fmt.Sprintf("%s/%sp%d", hwPath, node, maxHWMembers), "").status)
}
