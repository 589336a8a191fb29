package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

func TestSeededGroupsAndPartitions(t *testing.T) {
	s, _ := MustServer(t)
	groups := decode[[]hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups", ""))
	require.Len(t, groups, 3)
	assert.Equal(t, hsmapi.Group{Label: "cabinet-x1000", Description: "Compute nodes in cabinet x1000", ExclusiveGroup: "cabinets",
		Members: hsmapi.Members{IDs: computes}}, groups[0])
	assert.Equal(t, "compute", groups[1].Label)
	assert.Equal(t, []string{"compute"}, groups[1].Tags)
	assert.Equal(t, hsmapi.Group{Label: "uan", Description: "User access nodes", Members: hsmapi.Members{IDs: uans}}, groups[2])

	parts := decode[[]hsmapi.Partition](t, call(t, s, "GET", "/hsm/v2/partitions", ""))
	require.Len(t, parts, 1)
	assert.Equal(t, "p1", parts[0].Name)
	assert.Equal(t, append(append([]string{}, computes...), uans...), parts[0].Members.IDs)

	assert.JSONEq(t, `["cabinet-x1000","compute","uan"]`, call(t, s, "GET", "/hsm/v2/groups/labels", "").body)
	assert.JSONEq(t, `["p1"]`, call(t, s, "GET", "/hsm/v2/partitions/names", "").body)
}

func TestGroupsList(t *testing.T) {
	s, _ := MustServer(t)
	require.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/groups",
		`{"label":"ncn","tags":["infra"],"members":{"ids":["x3000c0s1b0n0","x3000c0s4b0n0"]}}`).status)
	labels := func(gs []hsmapi.Group) []string {
		out := []string{}
		for _, g := range gs {
			out = append(out, g.Label)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"group=uan&group=NCN", []string{"ncn", "uan"}},
		{"tag=INFRA", []string{"ncn"}},
		{"tag=none", []string{}},
	} {
		r := call(t, s, "GET", "/hsm/v2/groups?"+tc.query, "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, tc.want, labels(decode[[]hsmapi.Group](t, r)), tc.query)
	}
	// partition restricts the members shown.
	gs := decode[[]hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups?group=ncn&partition=p1", ""))
	assert.Equal(t, []string{"x3000c0s4b0n0"}, gs[0].Members.IDs)
	gs = decode[[]hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups?group=ncn&partition=NULL", ""))
	assert.Equal(t, []string{"x3000c0s1b0n0"}, gs[0].Members.IDs)
	g := decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/ncn?partition=p1", ""))
	assert.Equal(t, []string{"x3000c0s4b0n0"}, g.Members.IDs)

	requireProblem(t, call(t, s, "GET", "/hsm/v2/groups?tag=a%20b", ""), http.StatusBadRequest, "Invalid tag.")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/groups?partition=px", ""), http.StatusBadRequest, "Invalid partition name.")
}

func TestGroupCreate(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		detail     string
	}{
		{"OK", `{"label":"Blue","description":"d","tags":["A"],"members":{"ids":["x1000c0s0b0n0","X1000C0S0B0N0","x3000c0s1b0n0"]}}`, http.StatusCreated, ""},
		{"NoMembers", `{"label":"empty"}`, http.StatusCreated, ""},
		{"DuplicateLabel", `{"label":"UAN"}`, http.StatusConflict, "same name"},
		{"ExclusiveClash", `{"label":"cab2","exclusiveGroup":"Cabinets","members":{"ids":["x1000c0s0b0n0"]}}`, http.StatusConflict, "another exclusive group"},
		{"ExclusiveNoClash", `{"label":"cab2","exclusiveGroup":"cabinets","members":{"ids":["x3000c0s1b0n0"]}}`, http.StatusCreated, ""},
		{"BadLabel", `{"label":"no spaces"}`, http.StatusBadRequest, "invalid group name"},
		{"EmptyLabel", `{"description":"x"}`, http.StatusBadRequest, "invalid group name"},
		{"BadTag", `{"label":"x","tags":["a/b"]}`, http.StatusBadRequest, "Invalid tag."},
		{"BadExclusive", `{"label":"x","exclusiveGroup":"a@b"}`, http.StatusBadRequest, "invalid exclusiveGroup"},
		{"BadMember", `{"label":"x","members":{"ids":["x1000c0s0b0n0","nope"]}}`, http.StatusBadRequest, `invalid xname \"nope\"`},
		{"MissingComponent", `{"label":"x","members":{"ids":["x1999c0s0b0n0"]}}`, http.StatusBadRequest, "linked component does not exist"},
		{"NameIsForPartitions", `{"label":"x","name":"p2"}`, http.StatusBadRequest, "not a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := MustServer(t)
			r := call(t, s, "POST", "/hsm/v2/groups", tc.body)
			if tc.status != http.StatusCreated {
				requireProblem(t, r, tc.status, tc.detail)
				assert.JSONEq(t, `["cabinet-x1000","compute","uan"]`, call(t, s, "GET", "/hsm/v2/groups/labels", "").body)
				return
			}
			require.Equal(t, http.StatusCreated, r.status, r.body)
			uri := decode[[]hsmapi.ResourceURI](t, r)[0].URI
			assert.Equal(t, uri, r.header.Get("Location"))
			assert.Equal(t, http.StatusOK, call(t, s, "GET", uri, "").status)
		})
	}
	s, _ := MustServer(t)
	require.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/groups",
		`{"label":"Blue","tags":["A"],"members":{"ids":["x3000c0s1b0n0","X1000C0S0B0N0"]}}`).status)
	g := decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/blue", ""))
	assert.Equal(t, hsmapi.Group{Label: "blue", Tags: []string{"a"}, Members: hsmapi.Members{IDs: []string{"x1000c0s0b0n0", "x3000c0s1b0n0"}}}, g)
	assert.JSONEq(t, `{"label":"blue","description":"","tags":["a"],"members":{"ids":["x1000c0s0b0n0","x3000c0s1b0n0"]}}`,
		call(t, s, "GET", "/hsm/v2/groups/blue", "").body)
}

func TestGroupSingle(t *testing.T) {
	s, _ := MustServer(t)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/groups/nope", ""), http.StatusNotFound, "No such group: nope")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/groups/bad@label", ""), http.StatusBadRequest, "Invalid group label.")
	assert.Equal(t, uans, decode[hsmapi.Members](t, call(t, s, "GET", "/hsm/v2/groups/uan/members", "")).IDs)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/groups/nope/members", ""), http.StatusNotFound, "No such group")

	r := call(t, s, "PATCH", "/hsm/v2/groups/uan", `{"description":"UANs","tags":["Login"]}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	g := decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/uan", ""))
	assert.Equal(t, "UANs", g.Description)
	assert.Equal(t, []string{"login"}, g.Tags)
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/groups/uan", `{}`), http.StatusBadRequest, "at least one patch field")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/groups/uan", `{"members":{"ids":[]}}`), http.StatusBadRequest, "at least one patch field")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/groups/uan", `{"tags":["x y"]}`), http.StatusBadRequest, "Invalid tag.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/groups/nope", `{"description":"x"}`), http.StatusNotFound, "no such group.")

	r = call(t, s, "DELETE", "/hsm/v2/groups/uan", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"code":0,"message":"deleted 1 entry"}`, r.body)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/groups/uan", ""), http.StatusNotFound, "no such group.")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/groups/bad@label", ""), http.StatusBadRequest, "Invalid group label.")
}

func TestGroupMembers(t *testing.T) {
	s, _ := MustServer(t)
	require.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/groups", `{"label":"cabinet-x3000","exclusiveGroup":"cabinets"}`).status)
	for _, tc := range []struct {
		name, path, body string
		status           int
		detail           string
	}{
		{"Add", "/hsm/v2/groups/uan/members", `{"id":"x3000c0s1b0n0"}`, http.StatusCreated, ""},
		{"AddNormalizes", "/hsm/v2/groups/uan/members", `{"id":"X3000C0S02B0N0"}`, http.StatusCreated, ""},
		{"AlreadyMember", "/hsm/v2/groups/uan/members", `{"id":"x3000c0s4b0n0"}`, http.StatusConflict, "same group"},
		{"ExclusiveClash", "/hsm/v2/groups/cabinet-x3000/members", `{"id":"x1000c0s0b0n0"}`, http.StatusConflict, "another exclusive group"},
		{"ExclusiveOK", "/hsm/v2/groups/cabinet-x3000/members", `{"id":"x3000c0s4b0n0"}`, http.StatusCreated, ""},
		{"NoGroup", "/hsm/v2/groups/nope/members", `{"id":"x3000c0s1b0n0"}`, http.StatusNotFound, "No such group: nope"},
		{"BadXname", "/hsm/v2/groups/uan/members", `{"id":"x3000c0s1b0n"}`, http.StatusBadRequest, "invalid xname ID"},
		{"NotAComponent", "/hsm/v2/groups/uan/members", `{"id":"x3001c0s1b0n0"}`, http.StatusBadRequest, "linked component does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "POST", tc.path, tc.body)
			if tc.status != http.StatusCreated {
				requireProblem(t, r, tc.status, tc.detail)
				return
			}
			require.Equal(t, http.StatusCreated, r.status, r.body)
			assert.Contains(t, decode[[]hsmapi.ResourceURI](t, r)[0].URI, "/hsm/v2/groups/")
		})
	}
	assert.Equal(t, []string{"x3000c0s1b0n0", "x3000c0s2b0n0", "x3000c0s4b0n0", "x3000c0s5b0n0"},
		decode[hsmapi.Members](t, call(t, s, "GET", "/hsm/v2/groups/uan/members", "")).IDs)

	r := call(t, s, "DELETE", "/hsm/v2/groups/uan/members/x3000c0s1b0n0", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/groups/uan/members/x3000c0s1b0n0", ""), http.StatusNotFound, "group has no such member.")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/groups/nope/members/x3000c0s1b0n0", ""), http.StatusNotFound, "No such group")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/groups/uan/members/junk", ""), http.StatusBadRequest, "invalid xname")
	// Once out of the exclusive group, a member may join another one of the set.
	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/groups/cabinet-x1000/members/x1000c0s0b0n0", "").status)
	assert.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/groups/cabinet-x3000/members", `{"id":"x1000c0s0b0n0"}`).status)
}

func TestPartitions(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct {
		name, body string
		status     int
		detail     string
	}{
		{"OK", `{"name":"P2","description":"NCNs","tags":["infra"],"members":{"ids":["x3000c0s1b0n0"]}}`, http.StatusCreated, ""},
		{"Duplicate", `{"name":"p1"}`, http.StatusConflict, "same name"},
		{"MemberInAnother", `{"name":"p3","members":{"ids":["x1000c0s0b0n0"]}}`, http.StatusConflict, "another partition"},
		{"BadName", `{"name":"part1"}`, http.StatusBadRequest, "invalid partition name"},
		{"LabelNotAllowed", `{"name":"p4","label":"x"}`, http.StatusBadRequest, "not a label"},
		{"MissingComponent", `{"name":"p4","members":{"ids":["x1999c0s0b0n0"]}}`, http.StatusBadRequest, "linked component does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "POST", "/hsm/v2/partitions", tc.body)
			if tc.status != http.StatusCreated {
				requireProblem(t, r, tc.status, tc.detail)
				return
			}
			require.Equal(t, http.StatusCreated, r.status, r.body)
			assert.Equal(t, "/hsm/v2/partitions/p2", decode[[]hsmapi.ResourceURI](t, r)[0].URI)
		})
	}
	assert.Equal(t, hsmapi.Partition{Name: "p2", Description: "NCNs", Tags: []string{"infra"}, Members: hsmapi.Members{IDs: []string{"x3000c0s1b0n0"}}},
		decode[hsmapi.Partition](t, call(t, s, "GET", "/hsm/v2/partitions/p2", "")))
	assert.Len(t, decode[[]hsmapi.Partition](t, call(t, s, "GET", "/hsm/v2/partitions?partition=p2", "")), 1)
	assert.Len(t, decode[[]hsmapi.Partition](t, call(t, s, "GET", "/hsm/v2/partitions?tag=infra", "")), 1)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/partitions/p9", ""), http.StatusNotFound, "No such partition: p9")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/partitions/bad%20name", ""), http.StatusBadRequest, "Invalid partition name.")

	// Members: one partition per component.
	requireProblem(t, call(t, s, "POST", "/hsm/v2/partitions/p2/members", `{"id":"x1000c0s0b0n0"}`), http.StatusConflict, "another partition")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/partitions/p2/members", `{"id":"x3000c0s1b0n0"}`), http.StatusConflict, "same partition")
	require.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/partitions/p2/members", `{"id":"x3000c0s2b0n0"}`).status)
	assert.Equal(t, []string{"x3000c0s1b0n0", "x3000c0s2b0n0"}, decode[hsmapi.Members](t, call(t, s, "GET", "/hsm/v2/partitions/p2/members", "")).IDs)
	r := call(t, s, "GET", "/hsm/v2/State/Components?partition=p2", "")
	assert.Equal(t, []string{"x3000c0s1b0n0", "x3000c0s2b0n0"}, ids(decode[hsmapi.ComponentArray](t, r).Components))

	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/partitions/p1/members/x1000c0s0b0n0", "").status)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/partitions/p1/members/x1000c0s0b0n0", ""), http.StatusNotFound, "partition has no such member.")
	require.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/partitions/p2/members", `{"id":"x1000c0s0b0n0"}`).status)

	require.Equal(t, http.StatusNoContent, call(t, s, "PATCH", "/hsm/v2/partitions/p2", `{"description":"mixed"}`).status)
	assert.Equal(t, "mixed", decode[hsmapi.Partition](t, call(t, s, "GET", "/hsm/v2/partitions/p2", "")).Description)

	// Deleting a partition frees its members for another.
	require.Equal(t, http.StatusOK, call(t, s, "DELETE", "/hsm/v2/partitions/p1", "").status)
	require.Equal(t, http.StatusCreated, call(t, s, "POST", "/hsm/v2/partitions", `{"name":"p1.1","members":{"ids":["x1000c0s0b0n1"]}}`).status)
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/partitions/p1", ""), http.StatusNotFound, "no such partition.")
}

func TestMemberships(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "GET", "/hsm/v2/memberships/x1000c0s0b0n0", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"id":"x1000c0s0b0n0","groupLabels":["cabinet-x1000","compute"],"partitionName":"p1"}`, r.body)
	assert.JSONEq(t, `{"id":"x3000c0s1b0n0","groupLabels":[],"partitionName":""}`, call(t, s, "GET", "/hsm/v2/memberships/x3000c0s1b0n0", "").body)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/memberships/x1999c0s0b0n0", ""), http.StatusNotFound, "No such xname")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/memberships/nonsense", ""), http.StatusBadRequest, "invalid xname")

	ms := decode[[]hsmapi.Membership](t, call(t, s, "GET", "/hsm/v2/memberships?role=Application", ""))
	assert.Equal(t, []hsmapi.Membership{{ID: "x3000c0s4b0n0", GroupLabels: []string{"uan"}, PartitionName: "p1"},
		{ID: "x3000c0s5b0n0", GroupLabels: []string{"uan"}, PartitionName: "p1"}}, ms)
	assert.Len(t, decode[[]hsmapi.Membership](t, call(t, s, "GET", "/hsm/v2/memberships", "")), 22)
}

// TestGroupPatchLabelInBody: ochami sends the label with a group update; HSM's patch
// reads only description and tags, so the update applies.
func TestGroupPatchLabelInBody(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "PATCH", "/hsm/v2/groups/uan", `{"label":"uan","description":"UANs"}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, "UANs", decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/uan", "")).Description)
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/groups/uan", `{"label":"uan"}`), http.StatusBadRequest,
		"Request must have at least one patch field.")
}

// PUT /groups/{label}/members replaces the member list; a list with one bad member
// changes nothing.
func TestPutGroupMembersReplaces(t *testing.T) {
	s, _ := MustServer(t)
	path := "/hsm/v2/groups/compute/members"
	r := call(t, s, "PUT", path, `{"ids":["x1000c0s0b0n1","X1000C0S0B0N0","x1000c0s0b0n0"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"ids":["x1000c0s0b0n0","x1000c0s0b0n1"]}`, r.body)
	assert.JSONEq(t, r.body, call(t, s, "GET", path, "").body)
	group := decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/compute", ""))
	assert.NotEmpty(t, group.Description, "description and tags are kept")

	requireProblem(t, call(t, s, "PUT", path, `{"ids":["x1000c0s0b0n2","bogus"]}`), 400, "invalid xname ID")
	requireProblem(t, call(t, s, "PUT", path, `{"ids":["x1000c0s1b0n0","x9c0s0b0n0"]}`), 400, "linked component does not exist: x9c0s0b0n0")
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/groups/nosuch/members", `{"ids":[]}`), 404, "No such group: nosuch")
	requireProblem(t, call(t, s, "PUT", path, `{"ids":"x1000c0s0b0n2"}`), 500, "error decoding JSON")
	assert.JSONEq(t, `{"ids":["x1000c0s0b0n0","x1000c0s0b0n1"]}`, call(t, s, "GET", path, "").body, "refused PUTs changed nothing")

	// Exclusive groups: a node of another group of the same exclusiveGroup is a 409.
	require.Equal(t, 201, call(t, s, "POST", "/hsm/v2/groups", `{"label":"cab2","exclusiveGroup":"cabinets","members":{"ids":[]}}`).status)
	requireProblem(t, call(t, s, "PUT", "/hsm/v2/groups/cab2/members", `{"ids":["x1000c0s0b0n0"]}`), 409,
		"operation would conflict with an existing member in another exclusive group.")
	r = call(t, s, "PUT", "/hsm/v2/groups/cabinet-x1000/members", `{"ids":[]}`)
	require.Equal(t, 200, r.status, r.body)
	assert.JSONEq(t, `{"ids":[]}`, r.body)
	require.Equal(t, 200, call(t, s, "PUT", "/hsm/v2/groups/cab2/members", `{"ids":["x1000c0s0b0n0"]}`).status, "free once its old group let it go")
}

// A group PATCH reads only description and tags, as hms-smd's GroupPatch: a label in
// the body (ochami sends one) neither renames the group nor counts as a patch field.
func TestPatchGroupIgnoresLabel(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "PATCH", "/hsm/v2/groups/compute", `{"label":"renamed","description":"new words"}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	assert.Equal(t, "new words", decode[hsmapi.Group](t, call(t, s, "GET", "/hsm/v2/groups/compute", "")).Description)
	requireProblem(t, call(t, s, "GET", "/hsm/v2/groups/renamed", ""), 404, "No such group: renamed")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/groups/compute", `{"label":"renamed"}`), 400,
		"Request must have at least one patch field.")
}
