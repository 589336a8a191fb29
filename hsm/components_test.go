package hsm

import (
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/xname"
)

var (
	computes = []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b1n0", "x1000c0s0b1n1",
		"x1000c0s1b0n0", "x1000c0s1b0n1", "x1000c0s1b1n0", "x1000c0s1b1n1"}
	ncns = []string{"x3000c0s1b0n0", "x3000c0s2b0n0", "x3000c0s3b0n0"}
	uans = []string{"x3000c0s4b0n0", "x3000c0s5b0n0"}
)

func TestSeededComponents(t *testing.T) {
	s, _ := MustServer(t)
	n := mustGet(t, s, "x1000c0s0b0n1")
	assert.Equal(t, hsmapi.Component{ID: "x1000c0s0b0n1", Type: "Node", State: "Off", Flag: "OK", Enabled: boolPtr(true),
		Role: "Compute", NID: 2, NetType: "Sling", Arch: "X86", Class: "Mountain"}, n)
	uan := mustGet(t, s, "x3000c0s4b0n0")
	assert.Equal(t, "Application", uan.Role)
	assert.Equal(t, "UAN", uan.SubRole)
	assert.Equal(t, "River", uan.Class)
	bmc := mustGet(t, s, "x1000c0s0b0")
	assert.Equal(t, "NodeBMC", bmc.Type)
	assert.Equal(t, "Ready", bmc.State)

	// The raw reply carries Arch (BOS drops nodes without it) and omits empty fields.
	r := call(t, s, "GET", "/hsm/v2/State/Components/x1000c0s0b0n0", "")
	assert.JSONEq(t, `{"ID":"x1000c0s0b0n0","Type":"Node","State":"Off","Flag":"OK","Enabled":true,
		"Role":"Compute","NID":1,"NetType":"Sling","Arch":"X86","Class":"Mountain"}`, r.body)
}

func TestDisabledNodeIsSeededDisabled(t *testing.T) {
	topo := testTopology(t)
	topo.Nodes[0].Disabled = true
	s, err := New(Config{Topology: topo})
	require.NoError(t, err)
	assert.False(t, mustGet(t, s, topo.Nodes[0].Xname).IsEnabled())
	r := call(t, s, "GET", "/hsm/v2/State/Components?type=Node&enabled=false", "")
	assert.Equal(t, []string{topo.Nodes[0].Xname}, ids(decode[hsmapi.ComponentArray](t, r).Components))
}

func TestGetComponentsFilters(t *testing.T) {
	s, _ := MustServer(t)
	// Give a few components distinct fields to filter on.
	for _, body := range []string{
		`{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"],"State":"Ready"}`,
	} {
		require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData", body).status)
	}
	require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkEnabled",
		`{"ComponentIDs":["x1000c0s1b1n1"],"Enabled":false}`).status)
	require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkSoftwareStatus",
		`{"ComponentIDs":["x1000c0s1b1n0"],"SoftwareStatus":"AdminDown"}`).status)
	nodes := append(append(append([]string{}, computes...), ncns...), uans...)

	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"All nodes", "type=Node", nodes},
		{"KeysAreCaseInsensitive", "TYPE=node", nodes},
		{"TwoTypes", "type=NodeBMC&type=Node&id=x1000c0s0b0&id=x1000c0s0b0n0", []string{"x1000c0s0b0", "x1000c0s0b0n0"}},
		{"ById", "id=x1000c0s1b0n1&id=X01000C0S0B0N0", []string{"x1000c0s0b0n0", "x1000c0s1b0n1"}},
		{"UnknownIdIsAbsent", "id=x9999c0s0b0n0", []string{}},
		{"State", "state=ready", []string{"x1000c0s0b0", "x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s0b1", "x1000c0s1b0", "x1000c0s1b1",
			"x3000c0s1b0", "x3000c0s2b0", "x3000c0s3b0", "x3000c0s4b0", "x3000c0s5b0"}},
		{"NegatedState", "type=Node&state=!Off", []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}},
		{"EnabledPythonStyle", "type=Node&enabled=False", []string{"x1000c0s1b1n1"}},
		{"EnabledT", "type=Node&enabled=t&role=Application", uans},
		{"Role", "role=management", ncns},
		{"SubRole", "subrole=Master", ncns[:1]},
		{"RoleAndSubRole", "role=Management&subrole=Worker&subrole=Storage", ncns[1:]},
		{"Arch", "arch=X86&class=River&type=Node", append(append([]string{}, ncns...), uans...)},
		{"Class", "class=mountain&type=Node", computes},
		{"SoftwareStatus", "softwarestatus=AdminDown", []string{"x1000c0s1b1n0"}},
		{"NID", "nid=3&nid=100001", []string{"x1000c0s0b1n0", "x3000c0s1b0n0"}},
		{"NIDRange", "nid_start=2&nid_end=4", computes[1:4]},
		{"NIDRangeOpenEnd", "nid_start=200001", uans},
		{"Group", "group=uan", uans},
		{"GroupCaseInsensitive", "group=UAN", uans},
		{"UnknownGroupMatchesNothing", "group=nope", []string{}},
		{"GroupNULL", "type=Node&group=NULL", ncns},
		{"Partition", "partition=p1&role=Application", uans},
		{"PartitionNULL", "type=Node&partition=NULL", ncns},
		{"Locked", "type=Node&locked=true", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", "/hsm/v2/State/Components?"+tc.query, "")
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, tc.want, ids(decode[hsmapi.ComponentArray](t, r).Components))
		})
	}
}

func TestGetComponentsFieldFilters(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct{ query, want string }{
		{"stateonly=true", `{"ID":"x1000c0s0b0n0","Type":"Node","State":"Off","Flag":"OK"}`},
		{"flagonly=1", `{"ID":"x1000c0s0b0n0","Type":"Node","Flag":"OK"}`},
		{"roleonly=True", `{"ID":"x1000c0s0b0n0","Type":"Node","Role":"Compute"}`},
		{"nidonly=t", `{"ID":"x1000c0s0b0n0","Type":"Node","NID":1}`},
	} {
		r := call(t, s, "GET", "/hsm/v2/State/Components?id=x1000c0s0b0n0&"+tc.query, "")
		assert.JSONEq(t, `{"Components":[`+tc.want+`]}`, r.body, tc.query)
	}
}

func TestGetComponentsBadQuery(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct{ query, detail string }{
		{"state=Sleeping", `\"Sleeping\" is not a valid HMS State`},
		{"type=Gizmo", "not a valid HMS Type"},
		{"role=Chef", "not a valid HMS Role"},
		{"enabled=maybe", "enabled must be a boolean"},
		{"nid=one", "is not a number"},
		{"nid_start=x", "is not a number"},
		{"id=bogus", `invalid xname \"bogus\"`},
		{"group=bad%20label", "invalid group label"},
		{"partition=q1", "invalid partition name"},
		{"stateonly=perhaps", "must be a boolean"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			requireProblem(t, call(t, s, "GET", "/hsm/v2/State/Components?"+tc.query, ""), http.StatusBadRequest, tc.detail)
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "PUT", "/hsm/v2/State/Components", "")
	requireProblem(t, r, http.StatusMethodNotAllowed, "PUT is not allowed")
	assert.Equal(t, "GET, POST, DELETE", r.header.Get("Allow"))
	requireProblem(t, call(t, s, "GET", "/hsm/v2/HWInventory", ""), http.StatusNotFound, "no such resource")
	requireProblem(t, call(t, s, "GET", "/hsm/v1/State/Components", ""), http.StatusNotFound, "no such resource")
}

func TestGatewayPrefix(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", "/apis/smd/hsm/v2/State/Components/x1000c0s0b0n0", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "x1000c0s0b0n0", decode[hsmapi.Component](t, r).ID)
}

func TestQueryComponents(t *testing.T) {
	s, _ := MustServer(t)
	require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkEnabled",
		`{"ComponentIDs":["x1000c0s0b0n1"],"Enabled":false}`).status)
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"Exact", `{"ComponentIDs":["x1000c0s0b0n1","x1000c0s0b0n0","x1000c0s0b0n0"]}`, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}},
		{"UnknownIDsAbsent", `{"ComponentIDs":["x1000c0s0b0n0","x1234c0s0b0n0"]}`, []string{"x1000c0s0b0n0"}},
		{"BOSEnabledFilter", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"],"enabled":["True"]}`, []string{"x1000c0s0b0n0"}},
		{"EnabledAsString", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"],"enabled":"False"}`, []string{"x1000c0s0b0n1"}},
		{"ParentWithoutTypeIsExact", `{"ComponentIDs":["x1000c0s0b0"]}`, []string{"x1000c0s0b0"}},
		{"ParentWithTypeGivesDescendants", `{"ComponentIDs":["x1000c0s0b0"],"type":["Node"]}`, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}},
		{"SlotDescendantsNotSiblingSlots", `{"ComponentIDs":["x1000c0s1"],"type":["NodeBMC"]}`, []string{"x1000c0s1b0", "x1000c0s1b1"}},
		{"All", `{"ComponentIDs":["all"],"role":["Management"]}`, ncns},
		{"S0", `{"ComponentIDs":["s0"],"type":["Node"],"subrole":["UAN"]}`, uans},
		{"NIDsAsNumbers", `{"ComponentIDs":["all"],"nid":[1,2]}`, computes[:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "POST", "/hsm/v2/State/Components/Query", tc.body)
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, tc.want, ids(decode[hsmapi.ComponentArray](t, r).Components))
		})
	}
	r := call(t, s, "POST", "/hsm/v2/State/Components/Query", `{"ComponentIDs":["x1000c0s0b0n0"],"stateonly":true}`)
	assert.JSONEq(t, `{"Components":[{"ID":"x1000c0s0b0n0","Type":"Node","State":"Off","Flag":"OK"}]}`, r.body)

	for _, tc := range []struct{ name, body, detail string }{
		{"MissingIDs", `{"enabled":["True"]}`, "Missing IDs"},
		{"EmptyIDs", `{"ComponentIDs":[]}`, "Missing IDs"},
		{"BadID", `{"ComponentIDs":["x1000c0s0b0n0","nonsense"]}`, `invalid xname \"nonsense\"`},
		{"BadEnum", `{"ComponentIDs":["all"],"state":["Asleep"]}`, "not a valid HMS State"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, s, "POST", "/hsm/v2/State/Components/Query", tc.body), http.StatusBadRequest, tc.detail)
		})
	}
}

func TestQueryComponentGet(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", "/hsm/v2/State/Components/Query/x1000c0s0?type=Node", "")
	assert.Equal(t, computes[:4], ids(decode[hsmapi.ComponentArray](t, r).Components))
	r = call(t, s, "GET", "/hsm/v2/State/Components/Query/x1000c0s0b0n0", "")
	assert.Equal(t, computes[:1], ids(decode[hsmapi.ComponentArray](t, r).Components))
	requireProblem(t, call(t, s, "GET", "/hsm/v2/State/Components/Query/junk", ""), http.StatusBadRequest, "invalid xname")
}

func TestByNID(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", "/hsm/v2/State/Components/ByNID/5", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "x1000c0s1b0n0", decode[hsmapi.Component](t, r).ID)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/State/Components/ByNID/77", ""), http.StatusNotFound, "no such NID.")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/State/Components/ByNID/five", ""), http.StatusBadRequest, "invalid NID")

	r = call(t, s, "POST", "/hsm/v2/State/Components/ByNID/Query", `{"NIDRanges":["1-2","7","200001-200009"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b1n0", "x3000c0s4b0n0", "x3000c0s5b0n0"},
		ids(decode[hsmapi.ComponentArray](t, r).Components))
	r = call(t, s, "POST", "/hsm/v2/State/Components/ByNID/Query", `{"NIDRanges":["1-8"],"partition":["p1"],"nidonly":true}`)
	assert.Len(t, decode[hsmapi.ComponentArray](t, r).Components, 8)
	requireProblem(t, call(t, s, "POST", "/hsm/v2/State/Components/ByNID/Query", `{"NIDRanges":[]}`), http.StatusBadRequest, "Missing NID ranges")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/State/Components/ByNID/Query", `{"NIDRanges":["3-"]}`), http.StatusBadRequest, "not a valid NID range")

	// A NID patch moves the index.
	require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/x1000c0s1b0n0/NID", `{"NID":555}`).status)
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/State/Components/ByNID/5", "").status)
	assert.Equal(t, "x1000c0s1b0n0", decode[hsmapi.Component](t, call(t, s, "GET", "/hsm/v2/State/Components/ByNID/555", "")).ID)
}

func TestSingleComponent(t *testing.T) {
	s, _ := MustServer(t)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/State/Components/x1000c0s7b0n0", ""), http.StatusNotFound, "no such xname.")
	// Leading zeros and case are normalized.
	assert.Equal(t, "x1000c0s0b0n0", mustGet(t, s, "X1000C00S0B0N0").ID)

	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/State/Components/x1000c0s7b0n0", ""), http.StatusNotFound, "no such xname.")
	r := call(t, s, "DELETE", "/hsm/v2/State/Components/x3000c0s4b0n0", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	// The delete cascades to groups and partitions.
	g := decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/uan", ""))
	assert.Equal(t, []string{"x3000c0s5b0n0"}, g.Members.IDs)
	p := decode[hsmapi.Partition](t, call(t, s, "GET", "/hsm/v2/partitions/p1", ""))
	assert.NotContains(t, p.Members.IDs, "x3000c0s4b0n0")
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/State/Components/ByNID/200001", "").status)
}

func TestDeleteAllComponents(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "DELETE", "/hsm/v2/State/Components", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"code":0,"message":"deleted 22 entries"}`, r.body)
	assert.JSONEq(t, `{"Components":[]}`, call(t, s, "GET", "/hsm/v2/State/Components", "").body)
	assert.Empty(t, decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/compute", "")).Members.IDs)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/State/Components", ""), http.StatusNotFound, "no entries to delete")
}

func TestPostComponents(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/State/Components",
		`{"Components":[{"ID":"x1001c0s0b0n0","State":"on","Flag":"warn","Role":"compute"},{"ID":"x1001c0s0b0","State":"Ready"}]}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	n := mustGet(t, s, "x1001c0s0b0n0")
	assert.Equal(t, "On", n.State)
	assert.Equal(t, "Warning", n.Flag)
	assert.Equal(t, "Compute", n.Role)
	assert.True(t, n.IsEnabled())
	assert.NotZero(t, n.NID, "nodes get a NID")
	assert.Equal(t, "X86", n.Arch)
	assert.Equal(t, "River", n.Class)
	assert.Equal(t, "NodeBMC", mustGet(t, s, "x1001c0s0b0").Type)

	// Upsert without force: State kept, Role and NID updated.
	r = call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"x1000c0s0b0n0","State":"Standby","Role":"Service","NID":4242}]}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	n = mustGet(t, s, "x1000c0s0b0n0")
	assert.Equal(t, "Off", n.State)
	assert.Equal(t, "Service", n.Role)
	assert.Equal(t, 4242, n.NID)
	// With force the State is overwritten too.
	r = call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"x1000c0s0b0n0","State":"Standby"}],"Force":true}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	n = mustGet(t, s, "x1000c0s0b0n0")
	assert.Equal(t, "Standby", n.State)
	assert.Equal(t, 4242, n.NID, "NID not given: kept")

	for _, tc := range []struct{ name, body, detail string }{
		{"NoComponents", `{"Components":[]}`, "Missing Components"},
		{"BadID", `{"Components":[{"ID":"x1001c0s0b0n1","State":"On"},{"ID":"zz","State":"On"}]}`, `invalid xname \"zz\"`},
		{"NoState", `{"Components":[{"ID":"x1001c0s0b0n1"}]}`, "missing State"},
		{"BadState", `{"Components":[{"ID":"x1001c0s0b0n1","State":"Lit"}]}`, "invalid State"},
		{"BadRole", `{"Components":[{"ID":"x1001c0s0b0n1","State":"On","Role":"Chef"}]}`, "invalid Role"},
		{"BadArch", `{"Components":[{"ID":"x1001c0s0b0n1","State":"On","Arch":"Z80"}]}`, "invalid Arch"},
		{"BadNID", `{"Components":[{"ID":"x1001c0s0b0n1","State":"On","NID":-3}]}`, "invalid NID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, s, "POST", "/hsm/v2/State/Components", tc.body), http.StatusBadRequest, tc.detail)
			assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/State/Components/x1001c0s0b0n1", "").status,
				"a rejected POST creates nothing")
		})
	}
}

func TestPutComponent(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "PUT", "/hsm/v2/State/Components/x1001c0s0b0n0", `{"component":{"State":"On","NID":99}}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, 99, mustGet(t, s, "x1001c0s0b0n0").NID)
	r = call(t, s, "PUT", "/hsm/v2/State/Components/x1001c0s0b0n0", `{"component":{"ID":"x1001c0s0b0n0","State":"Halt"},"force":true}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, "Halt", mustGet(t, s, "x1001c0s0b0n0").State)
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/State/Components/x1001c0s0b0n0", `{"component":{"ID":"x1001c0s0b0n1","State":"On"}}`),
		http.StatusBadRequest, "do not match")
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/State/Components/x1001c0s0b0n0", `{"component":{}}`), http.StatusBadRequest, "missing State")
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/State/Components/x1001c0s0b0n0", `{"State":"On"}`), http.StatusBadRequest, "missing State")
}

// TestTransitionRule walks every (current, target) pair of the rule in reference 2.3.
func TestTransitionRule(t *testing.T) {
	s, _ := MustServer(t)
	const id = "x1000c0s0b0n0"
	all := []string{"Unknown", "Empty", "Populated", "Off", "On", "Standby", "Halt", "Ready"}
	allowed := map[string][]string{
		"Off":     {"Off", "On", "Standby", "Halt", "Ready"},
		"On":      {"On", "Off", "Standby", "Halt"},
		"Standby": {"Standby", "Ready"},
		"Halt":    {"Halt", "Ready"},
		"Ready":   {"Ready", "On", "Off", "Standby", "Halt"},
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(from+"To"+to, func(t *testing.T) {
				require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/State/Components/"+id+"/StateData",
					`{"State":"`+from+`","Force":true}`).status)
				r := call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData", `{"ComponentIDs":["`+id+`"],"State":"`+to+`","Flag":"Alert"}`)
				rule, ruled := allowed[to]
				if !ruled {
					requireProblem(t, r, http.StatusBadRequest, "operation not allowed and not forced.")
					assert.Equal(t, from, mustGet(t, s, id).State)
					return
				}
				require.Equal(t, http.StatusNoContent, r.status, r.body)
				got := mustGet(t, s, id)
				if contains(rule, from) {
					assert.Equal(t, to, got.State)
					assert.Equal(t, "Alert", got.Flag)
				} else {
					assert.Equal(t, from, got.State, "silently skipped")
					assert.Equal(t, "OK", got.Flag)
				}
			})
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestBulkPatches(t *testing.T) {
	s, _ := MustServer(t)
	two := `"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1","x1999c0s0b0n0"]`
	for _, tc := range []struct {
		name, path, body string
		check            func(t *testing.T, c hsmapi.Component)
	}{
		{"StateDefaultsFlagOK", "BulkStateData", `{` + two + `,"State":"On"}`, func(t *testing.T, c hsmapi.Component) {
			assert.Equal(t, "On", c.State)
			assert.Equal(t, "OK", c.Flag)
		}},
		{"Flag", "BulkFlagOnly", `{` + two + `,"Flag":"alert"}`, func(t *testing.T, c hsmapi.Component) { assert.Equal(t, "Alert", c.Flag) }},
		{"Enabled", "BulkEnabled", `{` + two + `,"Enabled":false}`, func(t *testing.T, c hsmapi.Component) { assert.False(t, c.IsEnabled()) }},
		{"SoftwareStatus", "BulkSoftwareStatus", `{` + two + `,"SoftwareStatus":"DvsAvailable"}`, func(t *testing.T, c hsmapi.Component) {
			assert.Equal(t, "DvsAvailable", c.SoftwareStatus)
		}},
		{"Role", "BulkRole", `{` + two + `,"Role":"application","SubRole":"uan"}`, func(t *testing.T, c hsmapi.Component) {
			assert.Equal(t, "Application", c.Role)
			assert.Equal(t, "UAN", c.SubRole)
		}},
		{"RoleClearsSubRole", "BulkRole", `{` + two + `,"Role":"Compute"}`, func(t *testing.T, c hsmapi.Component) {
			assert.Equal(t, "Compute", c.Role)
			assert.Empty(t, c.SubRole)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "PATCH", "/hsm/v2/State/Components/"+tc.path, tc.body)
			require.Equal(t, http.StatusNoContent, r.status, r.body)
			tc.check(t, mustGet(t, s, "x1000c0s0b0n0"))
			tc.check(t, mustGet(t, s, "x1000c0s0b0n1"))
			assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/hsm/v2/State/Components/x1999c0s0b0n0", "").status,
				"unknown IDs are skipped, not created")
		})
	}
}

func TestBulkPatchErrorsChangeNothing(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct{ name, path, body, detail string }{
		{"NoIDs", "BulkStateData", `{"State":"On"}`, "Missing IDs"},
		{"OneBadID", "BulkStateData", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n9z"],"State":"On"}`, "invalid xname ID"},
		{"NoState", "BulkStateData", `{"ComponentIDs":["x1000c0s0b0n0"]}`, "Missing State"},
		{"BadState", "BulkStateData", `{"ComponentIDs":["x1000c0s0b0n0"],"State":"Lit"}`, "invalid State"},
		{"BadFlag", "BulkStateData", `{"ComponentIDs":["x1000c0s0b0n0"],"State":"On","Flag":"Meh"}`, "invalid Flag"},
		{"NoFlag", "BulkFlagOnly", `{"ComponentIDs":["x1000c0s0b0n0"]}`, "Missing Flag"},
		{"NoEnabled", "BulkEnabled", `{"ComponentIDs":["x1000c0s0b0n0"]}`, "Missing Enabled field"},
		{"NoSoftwareStatus", "BulkSoftwareStatus", `{"ComponentIDs":["x1000c0s0b0n0"]}`, "Missing SoftwareStatus"},
		{"NoRole", "BulkRole", `{"ComponentIDs":["x1000c0s0b0n0"],"SubRole":"Worker"}`, "Missing Role"},
		{"BadSubRole", "BulkRole", `{"ComponentIDs":["x1000c0s0b0n0"],"Role":"Compute","SubRole":"Boss"}`, "invalid SubRole"},
		{"Empty", "BulkStateData", ``, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/"+tc.path, tc.body), http.StatusBadRequest, tc.detail)
			assert.Equal(t, hsmapi.Component{ID: "x1000c0s0b0n0", Type: "Node", State: "Off", Flag: "OK", Enabled: boolPtr(true),
				Role: "Compute", NID: 1, NetType: "Sling", Arch: "X86", Class: "Mountain"}, mustGet(t, s, "x1000c0s0b0n0"))
		})
	}
}

func TestOversizedBody(t *testing.T) {
	s, err := New(Config{Topology: testTopology(t), MaxBodyBytes: 64})
	require.NoError(t, err)
	body := `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1","x1000c0s0b1n0","x1000c0s0b1n1"],"State":"On"}`
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkStateData", body), http.StatusRequestEntityTooLarge, "larger than 64 bytes")
	assert.Equal(t, "Off", mustGet(t, s, "x1000c0s0b0n0").State)
}

func TestSingleFieldPatches(t *testing.T) {
	s, _ := MustServer(t)
	const p = "/hsm/v2/State/Components/x1000c0s0b0n0/"
	for _, tc := range []struct {
		name, path, body string
		status           int
		detail           string
	}{
		{"State", "StateData", `{"State":"On","Flag":"Warning"}`, http.StatusNoContent, ""},
		{"StateWithMatchingID", "StateData", `{"ID":"x1000c0s0b0n0","State":"Ready"}`, http.StatusNoContent, ""},
		{"StateMismatchedID", "StateData", `{"ID":"x1000c0s0b0n1","State":"On"}`, http.StatusBadRequest, "do not match"},
		{"StateNotForced", "StateData", `{"State":"Empty"}`, http.StatusBadRequest, "not allowed and not forced"},
		{"Flag", "FlagOnly", `{"Flag":"Alert"}`, http.StatusNoContent, ""},
		{"Enabled", "Enabled", `{"Enabled":false}`, http.StatusNoContent, ""},
		{"SoftwareStatus", "SoftwareStatus", `{"SoftwareStatus":"AdminDown"}`, http.StatusNoContent, ""},
		{"Role", "Role", `{"Role":"Management","SubRole":"Worker"}`, http.StatusNoContent, ""},
		{"NID", "NID", `{"NID":77}`, http.StatusNoContent, ""},
		{"NIDMissing", "NID", `{}`, http.StatusBadRequest, "Missing NID"},
		{"NIDBad", "NID", `{"NID":0}`, http.StatusBadRequest, "invalid NID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "PATCH", p+tc.path, tc.body)
			if tc.status != http.StatusNoContent {
				requireProblem(t, r, tc.status, tc.detail)
				return
			}
			require.Equal(t, tc.status, r.status, r.body)
		})
	}
	assert.Equal(t, hsmapi.Component{ID: "x1000c0s0b0n0", Type: "Node", State: "Ready", Flag: "Alert", Enabled: boolPtr(false),
		SoftwareStatus: "AdminDown", Role: "Management", SubRole: "Worker", NID: 77, NetType: "Sling", Arch: "X86",
		Class: "Mountain"}, mustGet(t, s, "x1000c0s0b0n0"))
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/x1999c0s0b0n0/StateData", `{"State":"On"}`), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/x1999/StateData", `{"State":"On"}`), http.StatusNotFound, "no such xname.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/State/Components/what/StateData", `{"State":"On"}`), http.StatusBadRequest, "invalid xname")
}

func TestBulkNID(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "PATCH", "/hsm/v2/State/Components/BulkNID",
		`{"Components":[{"ID":"x1000c0s0b0n0","NID":1001},{"ID":"x1000c0s0b0n1","NID":"1002"},{"ID":"x1999c0s0b0n0","NID":3}]}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, 1001, mustGet(t, s, "x1000c0s0b0n0").NID)
	assert.Equal(t, 1002, mustGet(t, s, "x1000c0s0b0n1").NID)
	for _, body := range []string{`{"Components":[]}`, `{"Components":[{"ID":"x1000c0s0b0n0","NID":5},{"ID":"x1000c0s0b0n1"}]}`,
		`{"Components":[{"ID":"x1000c0s0b0n0","NID":5},{"ID":"bad","NID":6}]}`} {
		assert.Equal(t, http.StatusBadRequest, call(t, s, "PATCH", "/hsm/v2/State/Components/BulkNID", body).status, body)
	}
	assert.Equal(t, 1001, mustGet(t, s, "x1000c0s0b0n0").NID, "rejected BulkNID changed nothing")
}

func TestServiceEndpoints(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", "/hsm/v2/service/ready", "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"code":0,"message":"HSM is healthy"}`, r.body)
	assert.Equal(t, http.StatusNoContent, call(t, s, "GET", "/hsm/v2/service/liveness", "").status)
	all := decode[hsmapi.Values](t, call(t, s, "GET", "/hsm/v2/service/values", ""))
	assert.Equal(t, []string{"Unknown", "Empty", "Populated", "Off", "On", "Standby", "Halt", "Ready"}, all.State)
	assert.Contains(t, all.SubRole, "UAN")
	assert.Contains(t, all.Type, "NodeBMC")
	assert.JSONEq(t, `{"Class":["River","Mountain","Hill"]}`, call(t, s, "GET", "/hsm/v2/service/values/class", "").body)
	assert.JSONEq(t, `{"Arch":["X86","ARM","UNKNOWN","Other"]}`, call(t, s, "GET", "/hsm/v2/service/values/arch", "").body)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/service/values/colour", ""), http.StatusNotFound, "no such value list")
}

// TestFastXnameMatchesXname checks the fast path against xname.Parse.
func TestFastXnameMatchesXname(t *testing.T) {
	inputs := []string{"x1000c0s0b0n0", "x1000c0s0b0", "x3000c0s1b0n0", "x9999c7s7b1n1", "x10000c0s0b0n0",
		"x01000c0s0b0n0", "x1000c00s0b0n0", "X1000c0s0b0n0", " x1000c0s0b0n0", "x1000c0s0b0n", "x1000c0s0bn0",
		"x1000c0s0b0n0a0", "x1000c0s0", "x1000c0r0b0", "p1", "s0", "", "x", "x1000c0s0b0n0n0", "x1000c0s10b0n10",
		"x0c0s0b0n0", "x1000c0s0b0i0", "x1000c0s0e0"}
	for _, in := range inputs {
		wantID, wantType, wantErr := xname.Parse(in)
		gotID, gotType, gotErr := parseXname(in)
		assert.Equal(t, wantID, gotID, in)
		assert.Equal(t, wantType, gotType, in)
		assert.Equal(t, wantErr == nil, gotErr == nil, in)
	}
	// And over random token strings shaped like xnames (letter, digits), with leading
	// zeros, long cabinets and odd letters mixed in (fewer with -short: the race stage).
	rng := rand.New(rand.NewPCG(1, 2))
	valid, n := 0, 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		var b []byte
		shape := "xcsbn"[:1+rng.IntN(5)] // mostly real shapes...
		if rng.IntN(4) == 0 {
			shape += "xcsbnpie"[rng.IntN(8):][:1] // ...sometimes one more letter
		}
		for j := 0; j < len(shape); j++ {
			letter := shape[j]
			if rng.IntN(10) == 0 {
				letter = "xcsbnpie"[rng.IntN(8)]
			}
			b = append(b, letter)
			for k, d := 0, rng.IntN(6); k < d; k++ {
				b = append(b, byte('0'+rng.IntN(10)))
			}
		}
		in := string(b)
		wantID, wantType, _ := xname.Parse(in)
		gotID, gotType, _ := parseXname(in)
		require.Equal(t, wantType, gotType, in)
		require.Equal(t, wantID, gotID, in)
		if fastType(in) != xname.Invalid {
			valid++
		}
	}
	assert.Positive(t, valid, "the fast path was exercised")
}

// TestNewNodeDefaultsAsReal: a node (or virtual node) posted with only ID and State gets
// HSM's defaults: Role Compute, the GetBogusNID formula, Class River, NetType Sling,
// Arch X86, Flag OK, Enabled.
func TestNewNodeDefaultsAsReal(t *testing.T) {
	s, _ := MustServer(t)
	for id, nid := range map[string]int{
		"x3000c0s19b2n1":   (3000+1)*16384 + 0*2048 + 19*32 + 2*4 + 1,
		"x1001c7s3b1n0":    (1001+1)*16384 + 7*2048 + 3*32 + 1*4 + 0,
		"x9999c5s17b0n0v0": (9999+1)*16384 + 5*2048 + 17*32,
	} {
		r := call(t, s, "POST", "/hsm/v2/State/Components", `{"Components":[{"ID":"`+id+`","State":"On"}]}`)
		require.Equal(t, http.StatusNoContent, r.status, r.body)
		got := mustGet(t, s, id)
		assert.Equal(t, nid, got.NID, id)
		assert.Equal(t, hsmapi.Component{ID: id, Type: got.Type, State: "On", Flag: "OK", Enabled: boolPtr(true), Role: "Compute",
			NID: nid, NetType: "Sling", Arch: "X86", Class: "River"}, got)
	}
}
