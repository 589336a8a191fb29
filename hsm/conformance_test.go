package hsm

import (
	"testing"

	"github.com/cray-bos/bos/internal/conformance"
)

// hsmDeviations are the differences from hms-smd 2.45.0's published document that we
// mean, each with its reason.
var hsmDeviations = []conformance.Deviation{
	conformance.ProblemJSON("hms-smd's code"),
	{Op: "*", Contains: `/code: value must be a string`,
		Reason: `the document says a string; hms-smd's code writes {"code":0,"message":...} with an integer`},
	{Op: "*", Contains: `doesn't match the regular expression "^[0-9a-f_\-.]{1,}$"`,
		Reason: "the document's group label and partition name pattern admits only hex letters; hms-smd's code lower-cases and accepts ^[-a-z0-9:._]+$"},
	{Op: "GET /service/values", Contains: `/Arch/2: value is not one of the allowed values`,
		Reason: "hms-base's arch list includes UNKNOWN, which the document's HMSArch enum lacks"},
	{Op: "PATCH /State/Components/{xname}/Role", Contains: `response header Content-Type has unexpected value: ""`,
		Reason: "the document says 200; hms-smd's per-component PATCHes answer 204 No Content"},
	{Op: "POST /locks/lock", Contains: `/code: property "code" is missing`,
		Reason: "the document says {code, message}; hms-smd's code answers {Counts, Success, Failure}"},
	{Op: "POST /locks/unlock", Contains: `/code: property "code" is missing`,
		Reason: "the document says {code, message}; hms-smd's code answers {Counts, Success, Failure}"},
	{Op: "GET /locks/status", Contains: `/NotFound: Value is not nullable`,
		Reason: "hms-smd's code leaves NotFound null on the GET form (its struct field is a nil slice)"},
	{Op: "*", Contains: `(value "HWInvByFRUNodeHsnNic")`,
		Reason: `the document's HSN NIC FRU type is misspelt "HWIncByFRUHSNNIC"; hms-smd's code writes HWInvByFRUNodeHsnNic`},
	{Op: "POST /locks/service/reservations", Contains: `status is not supported`,
		Reason: "the document says 202; we answer 200 (not checked against hms-smd's code; PCS accepts any 2xx)"},
	{Op: "POST /locks/reservations/release", Contains: `status is not supported`,
		Reason: "the document says 202; we answer 200 (not checked against hms-smd's code)"},
	{Op: "POST /Subscriptions/SCN", Contains: `/ID: value must be a string`,
		Reason: "the document says a string; hms-smd's SCNSubscription.ID is an int64, a JSON number"},
	{Op: "GET /Subscriptions/SCN", Contains: `/ID: value must be a string`,
		Reason: "the document says a string; hms-smd's SCNSubscription.ID is an int64, a JSON number"},
}

// TestConformsToHSM validates requests and answers of the operations BOS, PCS, CRUS and
// slurm's tools call, the rest of the reads and the SCN subscription API against
// hms-smd 2.45.0's document, through the gateway paths (/apis/smd/hsm/v2).
func TestConformsToHSM(t *testing.T) {
	s, _ := MustServer(t)
	c := conformance.New(t, conformance.HSM, s.Handler(), hsmDeviations...)
	node, bmc := "x1000c0s0b0n0", "x1000c0s0b0"

	c.Do("GET", "/service/ready", nil)
	c.Do("GET", "/service/liveness", nil)
	c.Do("GET", "/service/values", nil)
	c.Do("GET", "/service/values/role", nil)

	c.Do("GET", "/State/Components", nil)
	c.Do("GET", "/State/Components?type=Node&role=Compute&enabled=true", nil)
	c.Do("GET", "/State/Components?id="+node+"&stateonly=true", nil)
	c.Do("GET", "/State/Components/"+node, nil)
	c.Do("GET", "/State/Components/x9c0s0b0n0", nil)
	c.Do("POST", "/State/Components/Query", map[string]any{"ComponentIDs": []string{node, "x1000c0s0b0n1"}})
	c.Do("GET", "/State/Components/Query/"+bmc, nil)
	c.Do("GET", "/State/Components/ByNID/1", nil)
	c.Do("POST", "/State/Components/ByNID/Query", map[string]any{"NIDRanges": []string{"1-2"}})
	c.Do("PATCH", "/State/Components/BulkEnabled", map[string]any{"ComponentIDs": []string{node}, "Enabled": false})
	c.Do("PATCH", "/State/Components/"+node+"/Enabled", map[string]any{"Enabled": true})
	c.Do("PATCH", "/State/Components/"+node+"/StateData", map[string]any{"State": "On", "Flag": "OK"})
	c.Do("PATCH", "/State/Components/BulkStateData", map[string]any{"ComponentIDs": []string{node}, "State": "Ready"})
	c.Do("PATCH", "/State/Components/"+node+"/SoftwareStatus", map[string]any{"SoftwareStatus": "AdminDown"})
	c.Do("PATCH", "/State/Components/"+node+"/Role", map[string]any{"Role": "Compute"})
	// An Enabled of the wrong JSON type is hms-smd's 500 "error decoding JSON ..." (a 5xx the
	// document does not list): TestDecodeAsReal holds that answer.

	c.Do("GET", "/Inventory/RedfishEndpoints", nil)
	c.Do("GET", "/Inventory/RedfishEndpoints/"+bmc, nil)
	c.Do("GET", "/Inventory/ComponentEndpoints", nil)
	c.Do("GET", "/Inventory/ComponentEndpoints/"+node, nil)
	c.Do("GET", "/Inventory/EthernetInterfaces", nil)

	c.Do("GET", "/Inventory/Hardware?type=Node&partition=p1", nil)
	c.Do("GET", "/Inventory/Hardware/"+node, nil)
	c.Do("GET", "/Inventory/Hardware/x9c0s0b0n0", nil)
	c.Do("GET", "/Inventory/Hardware/Query/"+bmc, nil)
	c.Do("GET", "/Inventory/Hardware/Query/"+node+"?format=FullyFlat&parents=true", nil)
	c.Do("GET", "/Inventory/Hardware/Query/bogus", nil)
	c.Do("GET", "/Inventory/HardwareByFRU?type=Processor", nil)
	// The document requires the *Type discriminators (HSM ignores them, deriving them
	// from the xname); the NIC's FRU type is the document's own (misspelt) value.
	c.Do("POST", "/Inventory/Hardware", map[string]any{"Hardware": []map[string]any{{
		"ID": "x3000c0s23b4n4h0", "HWInventoryByLocationType": "HWInvByLocHSNNIC", "NodeHsnNicLocationInfo": map[string]any{"Id": "HPCNet3"},
		"PopulatedFRU": map[string]any{"HWInventoryByFRUType": "HWIncByFRUHSNNIC", "NodeHsnNicFRUInfo": map[string]any{"Model": "ConnectX-5 100Gb/s", "SerialNumber": "HG20190738",
			"PartNumber": "102005303", "Manufacturer": "Mellanox Technologies, Ltd."}}}}})
	nicFRU := "NodeHsnNic.MellanoxTechnologiesLtd.102005303.HG20190738"
	c.Do("GET", "/Inventory/HardwareByFRU/"+nicFRU, nil)
	c.Do("GET", "/Inventory/Hardware/History?eventtype=Added", nil)
	c.Do("GET", "/Inventory/Hardware/History/"+node, nil)
	c.Do("GET", "/Inventory/HardwareByFRU/History?fruid="+nicFRU, nil)
	c.Do("GET", "/Inventory/HardwareByFRU/History/"+nicFRU, nil)
	c.Do("DELETE", "/Inventory/Hardware/History/x3000c0s23b4n4h0", nil)
	c.Do("DELETE", "/Inventory/Hardware/x3000c0s23b4n4h0", nil)
	c.Do("DELETE", "/Inventory/HardwareByFRU/"+nicFRU, nil)
	c.Do("DELETE", "/Inventory/HardwareByFRU/"+nicFRU, nil)

	c.Do("GET", "/groups", nil)
	c.Do("GET", "/groups/labels", nil)
	c.Do("GET", "/groups/compute", nil)
	c.Do("GET", "/groups/missing", nil)
	c.Do("POST", "/groups", map[string]any{"label": "blue", "description": "blue nodes", "members": map[string]any{"ids": []string{node}}})
	c.Do("GET", "/groups/blue/members", nil)
	c.Do("POST", "/groups/blue/members", map[string]any{"id": "x1000c0s0b0n1"})
	c.Do("DELETE", "/groups/blue/members/x1000c0s0b0n1", nil)
	c.Do("PATCH", "/groups/blue", map[string]any{"description": "still blue"})
	c.Do("DELETE", "/groups/blue", nil)
	c.Do("GET", "/partitions", nil)
	c.Do("GET", "/partitions/names", nil)
	c.Do("GET", "/partitions/p1", nil)
	c.Do("GET", "/partitions/p1/members", nil)
	c.Do("GET", "/memberships", nil)
	c.Do("GET", "/memberships/"+node, nil)

	// SCN subscriptions (after the component changes above, so nothing is delivered).
	sub := map[string]any{"Subscriber": "scn-test", "States": []string{"On", "Off"}, "Url": "http://scn.invalid/scn"}
	c.Do("POST", "/Subscriptions/SCN", sub)
	c.Do("GET", "/Subscriptions/SCN", nil)
	c.Do("GET", "/Subscriptions/SCN/1", nil)
	c.Do("GET", "/Subscriptions/SCN/7", nil)
	sub["Roles"] = []string{"Compute"}
	c.Do("PUT", "/Subscriptions/SCN/1", sub)
	c.Do("PATCH", "/Subscriptions/SCN/1", map[string]any{"Op": "add", "States": []string{"Ready"}, "Enabled": true})
	c.Do("PATCH", "/Subscriptions/SCN/7", map[string]any{"Op": "remove", "States": []string{"Ready"}})
	c.Do("DELETE", "/Subscriptions/SCN/1", nil)
	c.Do("POST", "/Subscriptions/SCN", sub)
	c.Do("DELETE", "/Subscriptions/SCN", nil)

	c.Do("GET", "/locks/status", nil)
	c.Do("POST", "/locks/status", map[string]any{"ComponentIDs": []string{node}})
	c.Do("POST", "/locks/lock", map[string]any{"ComponentIDs": []string{node}})
	c.Do("POST", "/locks/unlock", map[string]any{"ComponentIDs": []string{node}})
	c.Do("POST", "/locks/reservations", map[string]any{"ComponentIDs": []string{node}})
	c.Do("POST", "/locks/reservations/release", map[string]any{"ReservationKeys": []map[string]any{{"ID": node, "Key": node + ":rk:none"}}, "ProcessingModel": "flexible"})
	c.Do("POST", "/locks/service/reservations", map[string]any{"ComponentIDs": []string{node}, "ReservationDuration": 1})

	for op, st := range c.Seen() {
		t.Logf("%s %v", op, st)
	}
	t.Logf("%s: %d operations validated", conformance.HSM, len(c.Seen()))
}

// TestConformsToHSMDiscovery validates the discovery operations and the inventory
// operations around them against the same document, with simulated BMCs to discover.
func TestConformsToHSMDiscovery(t *testing.T) {
	s, _, _ := discoveryServer(t, nil)
	c := conformance.New(t, conformance.HSM, s.Handler(), hsmDeviations[:2]...) // problem+json, integer code
	bmc, mac := "x1000c0s0b0", "020000000001"

	c.Do("GET", "/Inventory/DiscoveryStatus", nil)
	c.Do("POST", "/Inventory/Discover", map[string]any{"xnames": []string{bmc, "x3000c0s1b0"}, "force": false})
	s.WaitDiscoveries()
	c.Do("GET", "/Inventory/DiscoveryStatus/0", nil)
	c.Do("POST", "/Inventory/Discover", map[string]any{"xnames": []string{"x7000c0s0b0"}})
	s.WaitDiscoveries()

	c.Do("GET", "/Inventory/ServiceEndpoints", nil)
	c.Do("GET", "/Inventory/ServiceEndpoints?redfish_ep="+bmc+"&service=UpdateService", nil)
	c.Do("GET", "/Inventory/ServiceEndpoints/AccountService", nil)
	c.Do("GET", "/Inventory/ServiceEndpoints/AccountService/RedfishEndpoints/"+bmc, nil)
	c.Do("DELETE", "/Inventory/ServiceEndpoints/AccountService/RedfishEndpoints/"+bmc, nil)
	c.Do("DELETE", "/Inventory/ServiceEndpoints", nil)

	c.Do("GET", "/Inventory/RedfishEndpoints/Query/"+bmc, nil)
	c.Do("DELETE", "/Inventory/ComponentEndpoints/x1000c0s0b0n1", nil)
	c.Do("DELETE", "/Inventory/ComponentEndpoints", nil)

	c.Do("PATCH", "/Inventory/EthernetInterfaces/"+mac, map[string]any{"Description": "mgmt"})
	c.Do("GET", "/Inventory/EthernetInterfaces/"+mac+"/IPAddresses", nil)
	c.Do("POST", "/Inventory/EthernetInterfaces/"+mac+"/IPAddresses", map[string]any{"IPAddress": "10.254.0.1", "Network": "HMN"})
	c.Do("PATCH", "/Inventory/EthernetInterfaces/"+mac+"/IPAddresses/10.254.0.1", map[string]any{"Network": "NMN"})
	c.Do("DELETE", "/Inventory/EthernetInterfaces/"+mac+"/IPAddresses/10.254.0.1", nil)
	c.Do("POST", "/Inventory/EthernetInterfaces", map[string]any{"MACAddress": "a4:bf:01:00:00:01", "ComponentID": "x3000c0s1b0n0"})
	c.Do("DELETE", "/Inventory/EthernetInterfaces/a4bf01000001", nil)
	c.Do("DELETE", "/Inventory/EthernetInterfaces", nil)

	t.Logf("%s: %d discovery and inventory operations validated", conformance.HSM, len(c.Seen()))
}
