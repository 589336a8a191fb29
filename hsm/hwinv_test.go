package hsm

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/hwfacts"
)

const hwPath = "/hsm/v2/Inventory/Hardware"

// hwLoc is the decoded shape tests read: the generic fields plus the info objects.
type hwLoc struct {
	ID, Type, Status, HWInventoryByLocationType string
	Ordinal                                     int
	NodeLocationInfo                            map[string]any
	ProcessorLocationInfo                       map[string]any
	PopulatedFRU                                struct {
		FRUID, Type, HWInventoryByFRUType string
		NodeFRUInfo                       map[string]any
		ProcessorFRUInfo                  map[string]any
		MemoryFRUInfo                     map[string]any
		NodeHsnNicFRUInfo                 map[string]any
	}
	Processors []hwLoc
	Memory     []hwLoc
}

type hwInventory struct {
	XName, Format  string
	Nodes          []hwLoc
	Processors     []hwLoc
	Memory         []hwLoc
	NodeBMCs       []hwLoc
	NodeEnclosures []hwLoc
}

func hwIDs(locs []hwLoc) []string {
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.ID
	}
	return out
}

// Every simulated node and BMC is in the inventory from the start, with the facts the
// BMC simulator serves (internal/hwfacts): model, part and serial numbers, UUID, CPUs,
// DIMMs; the FRUIDs are hms-smd's (<Type>.<Manufacturer>.<PartNumber>.<Serial>, or
// FRUIDfor<xname> for what has no serial number).
func TestHWInvSeededFromTopology(t *testing.T) {
	s, _ := MustServer(t)
	node := "x1000c0s0b0n0"
	hw := hwfacts.ForNode(node, "X86", true)

	r := call(t, s, "GET", hwPath+"/"+node, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	n := decode[hwLoc](t, r)
	assert.Equal(t, "Node", n.Type)
	assert.Equal(t, "HWInvByLocNode", n.HWInventoryByLocationType)
	assert.Equal(t, "Populated", n.Status)
	assert.Equal(t, "Node0", n.NodeLocationInfo["Id"])
	assert.EqualValues(t, hw.CPUs, n.NodeLocationInfo["ProcessorSummary"].(map[string]any)["Count"])
	assert.EqualValues(t, hw.MemoryGiB, n.NodeLocationInfo["MemorySummary"].(map[string]any)["TotalSystemMemoryGiB"])
	fru := n.PopulatedFRU
	assert.Equal(t, "Node.HPE.P43436001."+hw.SerialNumber, fru.FRUID)
	assert.Equal(t, "HWInvByFRUNode", fru.HWInventoryByFRUType)
	assert.Equal(t, hw.Model, fru.NodeFRUInfo["Model"])
	assert.Equal(t, hw.UUID, fru.NodeFRUInfo["UUID"])
	assert.Equal(t, hw.PartNumber, fru.NodeFRUInfo["PartNumber"])
	for _, id := range []string{fru.FRUID, "NodeEnclosure.HPE." + hwfacts.ForEnclosure("x1000c0s0b0").SerialNumber,
		"FRUIDforx1000c0s0b0n0d7", "FRUIDforx1000c0s0b0"} {
		r := call(t, s, "GET", hwPath+"ByFRU/"+id, "")
		assert.Equal(t, http.StatusOK, r.status, "%s: %s", id, r.body)
	}

	r = call(t, s, "GET", hwPath+"?type=Processor&id="+node+"p0&id="+node+"p1&id="+node+"p2", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	cpus := decode[[]hwLoc](t, r)
	require.Equal(t, []string{node + "p0", node + "p1"}, hwIDs(cpus), "2 CPUs")
	assert.Equal(t, "FRUIDfor"+node+"p0", cpus[0].PopulatedFRU.FRUID)
	assert.Equal(t, hw.CPUModel, cpus[0].PopulatedFRU.ProcessorFRUInfo["Model"])
	assert.EqualValues(t, hw.CoresPerCPU*hw.ThreadsPerCore, cpus[0].PopulatedFRU.ProcessorFRUInfo["TotalThreads"])

	r = call(t, s, "GET", hwPath+"?type=memory&partnumber=nope", "")
	assert.Equal(t, "[]\n", r.body, "a FRU filter excludes FRUs without that part number")
	r = call(t, s, "GET", hwPath+"?type=NodeBMC", "")
	bmcs := decode[[]hwLoc](t, r)
	assert.Len(t, bmcs, len(testTopology(t).BMCs))
	r = call(t, s, "GET", hwPath+"?manufacturer=NVIDIA", "")
	assert.Equal(t, "[]\n", r.body, "no Grace nodes in the test topology")
}

// Query/{xname} answers an HWInventory: node subcomponents nested by default
// (NestNodesOnly), flat on request; children by default, parents on request;
// Hierarchical is refused as hms-smd refuses it.
func TestHWInvQueryFormats(t *testing.T) {
	s, _ := MustServer(t)
	node := "x1000c0s0b0n0"

	inv := decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/"+node, ""))
	assert.Equal(t, "NestNodesOnly", inv.Format)
	require.Equal(t, []string{node}, hwIDs(inv.Nodes))
	assert.Equal(t, []string{node + "p0", node + "p1"}, hwIDs(inv.Nodes[0].Processors))
	assert.Len(t, inv.Nodes[0].Memory, 8)
	assert.Empty(t, inv.Processors, "nested, not listed again")

	inv = decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/"+node+"?format=FullyFlat", ""))
	assert.Equal(t, "FullyFlat", inv.Format)
	assert.Empty(t, inv.Nodes[0].Processors)
	assert.Len(t, inv.Processors, 2)
	assert.Len(t, inv.Memory, 8)

	inv = decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/"+node+"?children=false", ""))
	assert.Equal(t, []string{node}, hwIDs(inv.Nodes))
	assert.Empty(t, inv.Nodes[0].Processors)

	inv = decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/"+node+"?parents=true", ""))
	assert.Equal(t, []string{node}, hwIDs(inv.Nodes))
	assert.Equal(t, []string{"x1000c0s0b0"}, hwIDs(inv.NodeBMCs))
	assert.Empty(t, inv.Nodes[0].Processors, "parents alone: no children")

	inv = decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/x1000c0s0?type=Node&type=NodeEnclosure", ""))
	assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b1n0", "x1000c0s0b1n1"}, hwIDs(inv.Nodes))
	assert.Equal(t, []string{"x1000c0s0e0", "x1000c0s0e1"}, hwIDs(inv.NodeEnclosures))
	assert.Empty(t, inv.NodeBMCs)

	inv = decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/s0?type=node", ""))
	assert.Len(t, inv.Nodes, len(testTopology(t).Nodes))
	// p1 holds the compute nodes and UANs; their processors share the partition.
	inv = decode[hwInventory](t, call(t, s, "GET", hwPath+"/Query/p1?format=fullyflat&type=Processor", ""))
	assert.Len(t, inv.Processors, 8*2+2*1)
	assert.Empty(t, inv.Nodes)

	requireProblem(t, call(t, s, "GET", hwPath+"/Query/"+node+"?format=Hierarchical", ""), http.StatusBadRequest, "Invalid format")
}

// Bad requests answer with hms-smd's statuses and texts.
func TestHWInvErrorsAsReal(t *testing.T) {
	s, _ := MustServer(t)
	node := `{"ID":"x1000c0s0b0n0","PopulatedFRU":{"NodeFRUInfo":{"Manufacturer":"HPE","PartNumber":"P1","SerialNumber":"S1"}},"NodeLocationInfo":{"Id":"Node0"}}`
	for _, tc := range []struct {
		method, path, body string
		status             int
		detail             string
	}{
		{"GET", hwPath + "/x9999c0s0b0n0", "", 404, "no such xname."},
		{"GET", hwPath + "/not-an-xname", "", 404, "no such xname."},
		{"DELETE", hwPath + "/x9999c0s0b0n0", "", 404, "no such xname."},
		{"GET", hwPath + "?id=bogus", "", 400, "Invalid xname"},
		{"GET", hwPath + "?type=bogus", "", 400, "Invalid HMS type"},
		{"GET", hwPath + "?partition=no%20spaces", "", 400, "Invalid partition"},
		{"GET", hwPath + "ByFRU?type=bogus", "", 400, "Invalid HMS type"},
		{"GET", hwPath + "ByFRU/nope", "", 404, "no such FRU ID."},
		{"DELETE", hwPath + "ByFRU/nope", "", 404, "no such FRU ID."},
		{"GET", hwPath + "/Query/bogus", "", 400, "Invalid xname"},
		{"GET", hwPath + "/Query/s0?type=bogus", "", 400, "Invalid HMS type"},
		{"GET", hwPath + "/Query/s0?children=maybe", "", 400, "Invalid boolean for children"},
		{"GET", hwPath + "/Query/s0?parents=maybe", "", 400, "Invalid boolean for parents"},
		{"GET", hwPath + "/Query/s0?format=tree", "", 400, "Invalid format"},
		{"GET", hwPath + "/History?eventtype=Exploded", "", 400, "Invalid HWInvHist event type"},
		{"GET", hwPath + "/History?id=bogus", "", 400, "Invalid xname"},
		{"GET", hwPath + "/History/bogus", "", 400, "Invalid xname"},
		{"DELETE", hwPath + "/History/bogus", "", 400, "Invalid xname"},
		{"DELETE", hwPath + "/History/x9999c0s0b0n0", "", 404, "no entries to delete"},
		{"POST", hwPath, `{"Hardware":[{"ID":"bogus"}]}`, 400, "ID is empty or not a valid xname"},
		{"POST", hwPath, `{"Hardware":[{"ID":"x1000c0s0b0n0"}]}`, 400, "PopulatedFRU must be populated"},
		{"POST", hwPath, `{"Hardware":[{"ID":"x1000c0s0b0n0","PopulatedFRU":{"NodeFRUInfo":{}}}]}`, 400, "Component location info is empty"},
		{"POST", hwPath, `{"Hardware":[{"ID":"x1000c0s0b0n0","NodeLocationInfo":{},"PopulatedFRU":{}}]}`, 400, "FRU info is empty"},
		{"POST", hwPath, `{"Hardware":[{"ID":"x1000c0s0b0n0","NodeLocationInfo":{},"PopulatedFRU":{"NodeFRUInfo":{"Manufacturer":"HPE"}}}]}`, 400,
			"Trackable Node FRUID can't be created. Missing required fields: SerialNumber"},
		{"POST", hwPath, `{"Hardware":[{"ID":"x1000c0s0b0","NodeLocationInfo":{},"PopulatedFRU":{"NodeFRUInfo":{}}}]}`, 400, "Component location info is empty"},
		{"POST", hwPath, `{"Hardware":[{"ID":"x1000c0s0b0i0","PopulatedFRU":{}}]}`, 400, "HMSType value not supported for this operation"},
		{"POST", hwPath, `{"Hardware":[` + node + `,{"ID":"bogus"}]}`, 400, "ID is empty or not a valid xname"},
		{"POST", hwPath, `{"Hardware":[{"ID":5}]}`, 500, "error decoding JSON"},
		{"POST", hwPath, `{"Hardware":{}}`, 500, "error decoding JSON"},
	} {
		requireProblem(t, call(t, s, tc.method, tc.path, tc.body), tc.status, tc.detail)
	}
	// The refused POST with one good entry stored nothing.
	r := call(t, s, "GET", hwPath+"/x1000c0s0b0n0", "")
	assert.Contains(t, r.body, "Node.HPE.P43436001.HF", "the seeded node is unchanged")
	// Parameters the real service does not know are ignored, as it ignores them.
	assert.Equal(t, http.StatusOK, call(t, s, "GET", hwPath+"?bogus=1", "").status)
}

// POST stores entries (real body shape, hms-smd's FRUIDs) and records history: Added
// for a new FRU, Scanned when seen again, Removed+Added when another FRU replaces it.
// Deleting a location keeps its FRU; a FRU still installed cannot be deleted.
func TestHWInvPostDeleteHistory(t *testing.T) {
	s, clock := MustServer(t)
	nic := func(serial string) string {
		return `{"Hardware":[{"ID":"x3000c0s23b4n4h0","HWInventoryByLocationType":"HWInvByLocHSNNIC",
			"HSNNICLocationInfo":{"Id":"HPCNet3"},"NodeHsnNicLocationInfo":{"Id":"HPCNet3","Description":"Shasta Timms NMC REV04 (HSN)"},
			"PopulatedFRU":{"HWInventoryByFRUType":"HWInvByFRUHSNNIC","NodeHsnNicFRUInfo":{"Model":"ConnectX-5 100Gb/s",
			"SerialNumber":"` + serial + `","PartNumber":"102005303","Manufacturer":"Mellanox Technologies, Ltd."}}}]}`
	}
	id := "x3000c0s23b4n4h0"
	fru1, fru2 := "NodeHsnNic.MellanoxTechnologiesLtd.102005303.HG20190738", "NodeHsnNic.MellanoxTechnologiesLtd.102005303.HG2"

	r := call(t, s, "POST", hwPath, nic("HG20190738"))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"code":0,"message":"Created 1 entries"}`, r.body)
	got := decode[hwLoc](t, call(t, s, "GET", hwPath+"/"+id, ""))
	assert.Equal(t, "HWInvByLocNodeHsnNic", got.HWInventoryByLocationType)
	assert.Equal(t, fru1, got.PopulatedFRU.FRUID)
	assert.Equal(t, "ConnectX-5 100Gb/s", got.PopulatedFRU.NodeHsnNicFRUInfo["Model"])
	assert.Contains(t, call(t, s, "GET", hwPath+"ByFRU/"+fru1, "").body, `"HWInventoryByFRUType":"HWInvByFRUNodeHsnNic"`)

	clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, call(t, s, "POST", hwPath, nic("HG20190738")).status)
	clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, call(t, s, "POST", hwPath, nic("HG2")).status)

	h := decode[HWInvHistArray](t, call(t, s, "GET", hwPath+"/History/"+id, ""))
	var events []string
	for _, ev := range h.History {
		events = append(events, ev.EventType+" "+ev.FRUID)
	}
	assert.Equal(t, []string{"Added " + fru1, "Scanned " + fru1, "Removed " + fru1, "Added " + fru2}, events)
	h = decode[HWInvHistArray](t, call(t, s, "GET", hwPath+"ByFRU/History/"+fru1+"?eventtype=scanned", ""))
	require.Len(t, h.History, 1)
	assert.Equal(t, "2026-01-02T03:05:05Z", h.History[0].Timestamp)
	all := decode[HWInvHistResp](t, call(t, s, "GET", hwPath+"/History?starttime=2026-01-02T03:05:30Z", ""))
	require.Len(t, all.Components, 1, "only the last POST's events are that late")
	assert.Len(t, all.Components[0].History, 2)
	byFRU := decode[HWInvHistResp](t, call(t, s, "GET", hwPath+"ByFRU/History?fruid="+fru1+"&fruid="+fru2, ""))
	require.Len(t, byFRU.Components, 2)
	assert.Equal(t, fru2, byFRU.Components[0].ID, "sorted by FRU ID")

	requireProblem(t, call(t, s, "DELETE", hwPath+"ByFRU/"+fru2, ""), http.StatusConflict, "installed at "+id)
	r = call(t, s, "DELETE", hwPath+"/"+id, "")
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	requireProblem(t, call(t, s, "GET", hwPath+"/"+id, ""), http.StatusNotFound, "no such xname.")
	assert.Equal(t, http.StatusOK, call(t, s, "GET", hwPath+"ByFRU/"+fru2, "").status, "the FRU stays")
	assert.Equal(t, http.StatusOK, call(t, s, "DELETE", hwPath+"ByFRU/"+fru2, "").status)
	requireProblem(t, call(t, s, "GET", hwPath+"ByFRU/"+fru2, ""), http.StatusNotFound, "no such FRU ID.")

	// Seeded locations are deleted like stored ones; DELETE of everything, then of
	// nothing, answer as HSM does.
	assert.Equal(t, http.StatusOK, call(t, s, "DELETE", hwPath+"/x1000c0s0b0n0p1", "").status)
	requireProblem(t, call(t, s, "GET", hwPath+"/x1000c0s0b0n0p1", ""), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "DELETE", hwPath+"ByFRU", ""), http.StatusConflict, "delete the locations first")
	r = call(t, s, "DELETE", hwPath, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Regexp(t, `"deleted \d+ entries"`, r.body)
	assert.Equal(t, "[]\n", call(t, s, "GET", hwPath, "").body)
	requireProblem(t, call(t, s, "DELETE", hwPath, ""), http.StatusNotFound, "no entries to delete")
	assert.Equal(t, http.StatusOK, call(t, s, "DELETE", hwPath+"ByFRU", "").status)
	assert.Equal(t, "[]\n", call(t, s, "GET", hwPath+"ByFRU", "").body)
	assert.Equal(t, http.StatusOK, call(t, s, "DELETE", hwPath+"/History", "").status)
	assert.JSONEq(t, `{"Components":[]}`, call(t, s, "GET", hwPath+"/History", "").body)
}

// PutHardware (for discovery) takes Go-built entries as POST takes decoded ones, and
// refuses a bad batch whole.
func TestPutHardware(t *testing.T) {
	s, _ := MustServer(t)
	node := "x1000c0s0b0n0"
	good := HWInvByLoc{ID: node, LocationInfo: json.RawMessage(`{"Id":"Node0"}`),
		PopulatedFRU: &HWInvByFRU{FRUInfo: json.RawMessage(`{"Manufacturer":"HPE","PartNumber":"P2","SerialNumber":"NEW1"}`)}}
	err := s.PutHardware([]HWInvByLoc{good, {ID: "bogus"}})
	require.EqualError(t, err, "ID is empty or not a valid xname")
	assert.Contains(t, call(t, s, "GET", hwPath+"/"+node, "").body, "P43436001", "nothing stored")

	require.NoError(t, s.PutHardware([]HWInvByLoc{good}))
	got := decode[hwLoc](t, call(t, s, "GET", hwPath+"/"+node, ""))
	assert.Equal(t, "Node.HPE.P2.NEW1", got.PopulatedFRU.FRUID)
	assert.Equal(t, "HWInvByLocNode", got.HWInventoryByLocationType)
	h := decode[HWInvHistArray](t, call(t, s, "GET", hwPath+"/History/"+node+"?eventtype=Removed", ""))
	require.Len(t, h.History, 1)
	assert.Contains(t, h.History[0].FRUID, "Node.HPE.P43436001.HF", "the seeded FRU was removed")
}
