package stack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/simulator"
)

// hsmGet decodes one HSM answer.
func hsmGet(t *testing.T, base, path string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/hsm/v2" + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path)
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// HSM's hardware inventory says what the BMCs serve over Redfish: for a blade node, a
// Grace node and a rack server, the ComputerSystem's model, manufacturer, part and serial
// numbers, UUID, BIOS, CPU and memory summary, each Processor's model and cores, each
// DIMM's size, the blade enclosure's serial number and the Manager's model.
func TestHWInventoryAgreesWithRedfish(t *testing.T) {
	ctx := testwait.Context(t)
	opts := topology.Options{Compute: 4, ARM: 2, Management: 1}
	topo, err := topology.Generate(opts)
	require.NoError(t, err)
	sims, err := Start(ctx, Options{Topology: topo, Services: []string{BMCs, HSM}})
	require.NoError(t, err)
	defer sims.Close()

	byClass := map[string]topology.Node{}
	for _, n := range topo.Nodes {
		key := n.Class + "/" + n.Arch
		if _, ok := byClass[key]; !ok {
			byClass[key] = n
		}
	}
	require.GreaterOrEqual(t, len(byClass), 3, "blade x86, blade ARM and rack nodes: %v", byClass)
	bmcs := map[string]simulator.BMCInfo{}
	for _, b := range sims.Sim.BMCs() {
		bmcs[b.Xname] = b
	}
	for key, n := range byClass {
		t.Run(key, func(t *testing.T) {
			b := bmcs[n.BMC()]
			sys := bmcCall(t, b, http.MethodGet, topology.SystemPath(b.Systems[n.Xname]), "")
			loc := hsmGet(t, sims.URLs.HSM, "/Inventory/Hardware/"+n.Xname)
			fru := loc["PopulatedFRU"].(map[string]any)["NodeFRUInfo"].(map[string]any)
			for _, k := range []string{"Manufacturer", "Model", "PartNumber", "SerialNumber", "UUID", "BiosVersion"} {
				assert.Equal(t, sys[k], fru[k], k)
			}
			li := loc["NodeLocationInfo"].(map[string]any)
			assert.Equal(t, sys["Id"], li["Id"])
			assert.Equal(t, sys["ProcessorSummary"].(map[string]any)["Count"], li["ProcessorSummary"].(map[string]any)["Count"])
			assert.Equal(t, sys["ProcessorSummary"].(map[string]any)["Model"], li["ProcessorSummary"].(map[string]any)["Model"])
			assert.Equal(t, sys["MemorySummary"].(map[string]any)["TotalSystemMemoryGiB"], li["MemorySummary"].(map[string]any)["TotalSystemMemoryGiB"])

			inv := hsmGet(t, sims.URLs.HSM, "/Inventory/Hardware/Query/"+n.Xname+"?format=FullyFlat")
			for _, c := range []struct{ array, collection string }{{"Processors", "/Processors"}, {"Memory", "/Memory"}} {
				members := bmcCall(t, b, http.MethodGet, topology.SystemPath(b.Systems[n.Xname])+c.collection, "")["Members"].([]any)
				hsmItems, _ := inv[c.array].([]any)
				require.Len(t, hsmItems, len(members), c.array)
				kind := strings.TrimSuffix(c.array, "s")
				byRedfishID := map[any]map[string]any{} // HSM lists by xname (d10 before d2)
				for _, it := range hsmItems {
					h := it.(map[string]any)
					byRedfishID[h[kind+"LocationInfo"].(map[string]any)["Id"]] = h
				}
				for i, m := range members {
					rf := bmcCall(t, b, http.MethodGet, m.(map[string]any)["@odata.id"].(string), "")
					h, ok := byRedfishID[rf["Id"]]
					require.True(t, ok, "%s %v in HSM", c.array, rf["Id"])
					info := h["PopulatedFRU"].(map[string]any)[kind+"FRUInfo"].(map[string]any)
					for _, k := range []string{"Model", "Manufacturer", "TotalCores", "TotalThreads", "MaxSpeedMHz", "InstructionSet",
						"ProcessorArchitecture", "CapacityMiB", "MemoryDeviceType", "OperatingSpeedMhz"} {
						assert.Equal(t, rf[k], info[k], "%s %d %s", c.array, i, k)
					}
				}
			}

			mgr := bmcCall(t, b, http.MethodGet, "/redfish/v1/Managers", "")["Members"].([]any)[0].(map[string]any)["@odata.id"].(string)
			m := bmcCall(t, b, http.MethodGet, mgr, "")
			bmcLoc := hsmGet(t, sims.URLs.HSM, "/Inventory/Hardware/"+b.Xname)
			assert.Equal(t, m["Model"], bmcLoc["PopulatedFRU"].(map[string]any)["NodeBMCFRUInfo"].(map[string]any)["Model"])
			assert.Equal(t, m["FirmwareVersion"], bmcLoc["NodeBMCLocationInfo"].(map[string]any)["FirmwareVersion"])
			assert.Equal(t, m["Id"], bmcLoc["NodeBMCLocationInfo"].(map[string]any)["Id"])

			chassisID := "Enclosure"
			if n.Class != topology.ClassMountain {
				chassisID = b.Systems[n.Xname]
			}
			ch := bmcCall(t, b, http.MethodGet, "/redfish/v1/Chassis/"+chassisID, "")
			i := strings.LastIndexByte(b.Xname, 'b')
			enc := hsmGet(t, sims.URLs.HSM, fmt.Sprintf("/Inventory/Hardware/%se%s", b.Xname[:i], b.Xname[i+1:]))
			encFRU := enc["PopulatedFRU"].(map[string]any)["NodeEnclosureFRUInfo"].(map[string]any)
			for _, k := range []string{"SerialNumber", "Model", "ChassisType", "Manufacturer"} {
				assert.Equal(t, ch[k], encFRU[k], "enclosure %s", k)
			}
		})
	}
}
