package topology

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerate(t *testing.T) {
	topo, err := Generate(Options{Compute: 600, Application: 2, Management: 3, ARM: 4})
	require.NoError(t, err)
	require.Len(t, topo.Nodes, 605)

	first, last := topo.Nodes[0], topo.Nodes[599]
	assert.Equal(t, Node{Xname: "x1000c0s0b0n0", NID: 1, Name: "nid000001", Role: RoleCompute, Arch: ArchX86, Class: ClassMountain, MAC: "02:00:00:00:00:01"}, first)
	assert.Equal(t, "x1000c0s0b0n1", topo.Nodes[1].Xname)
	assert.Equal(t, "x1000c0s0b1n0", topo.Nodes[2].Xname)
	assert.Equal(t, "x1002c2s5b1n1", last.Xname, "node 600 is in the third cabinet (256 per cabinet)")
	assert.Equal(t, ArchARM, last.Arch)
	assert.Equal(t, ArchX86, topo.Nodes[595].Arch)

	ncn := topo.Nodes[600]
	assert.Equal(t, "x3000c0s1b0n0", ncn.Xname)
	assert.Equal(t, "ncn-m001", ncn.Name)
	assert.Equal(t, SubRoleMaster, ncn.SubRole)
	assert.Equal(t, "uan02", topo.Nodes[604].Name)
	assert.Equal(t, RoleApplication, topo.Nodes[604].Role)

	assert.Len(t, topo.BMCs, 300+5)
	assert.Equal(t, BMC{Xname: "x1000c0s0b0", Nodes: []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}}, topo.BMCs[0])
	labels := []string{}
	for _, g := range topo.Groups {
		labels = append(labels, g.Label)
	}
	assert.Equal(t, []string{"compute", "cabinet-x1000", "cabinet-x1001", "cabinet-x1002", "uan"}, labels)
	assert.Len(t, topo.Groups[0].Members, 600)
	assert.Len(t, topo.Groups[1].Members, 256)
	require.Len(t, topo.Partitions, 1)
	assert.Len(t, topo.Partitions[0].Members, 602)
}

func TestGenerateRejects(t *testing.T) {
	_, err := Generate(Options{Compute: 2, ARM: 3})
	assert.ErrorContains(t, err, "ARM")
	_, err = Generate(Options{Compute: -1})
	assert.Error(t, err)
}

func TestLoadRoundTrip(t *testing.T) {
	topo, err := Generate(DefaultOptions(8))
	require.NoError(t, err)
	raw, err := topo.YAML()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	back, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, topo, back)
}

func TestLoadFillsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(path, []byte(`{
	  "nodes": [{"xname": "X1000C0S0B0N00", "nid": 7}, {"xname": "x3000c0s3b0n0", "nid": 9, "role": "Application"}],
	  "bmcs": [{"xname": "x1000c0s0b0", "password": "secret"}],
	  "groups": [{"label": "blue", "members": ["x1000c0s0b0n0"]}]
	}`), 0o644))
	topo, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, Node{Xname: "x1000c0s0b0n0", NID: 7, Name: "nid000007", Role: RoleCompute, Arch: ArchX86, Class: ClassMountain, MAC: "02:00:00:00:00:07"}, topo.Nodes[0])
	assert.Equal(t, ClassRiver, topo.Nodes[1].Class)
	assert.Equal(t, []BMC{
		{Xname: "x1000c0s0b0", Password: "secret", Nodes: []string{"x1000c0s0b0n0"}},
		{Xname: "x3000c0s3b0", Nodes: []string{"x3000c0s3b0n0"}},
	}, topo.BMCs)
}

func TestLoadErrors(t *testing.T) {
	for name, body := range map[string]string{
		"bad xname":        `{"nodes":[{"xname":"nid1","nid":1}]}`,
		"duplicate nid":    `{"nodes":[{"xname":"x1000c0s0b0n0","nid":1},{"xname":"x1000c0s0b0n1","nid":1}]}`,
		"unknown member":   `{"nodes":[{"xname":"x1000c0s0b0n0","nid":1}],"groups":[{"label":"g","members":["x1000c0s0b0n1"]}]}`,
		"bad partition":    `{"nodes":[{"xname":"x1000c0s0b0n0","nid":1}],"partitions":[{"name":"blue","members":[]}]}`,
		"unknown field":    `{"nodes":[{"xname":"x1000c0s0b0n0","nid":1,"colour":"red"}]}`,
		"bmc without node": `{"nodes":[{"xname":"x1000c0s0b0n0","nid":1}],"bmcs":[{"xname":"x1000c0s1b0"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
			_, err := Load(path)
			assert.Error(t, err)
		})
	}
}

func TestSystemID(t *testing.T) {
	topo, err := Generate(DefaultOptions(4))
	require.NoError(t, err)
	for node, want := range map[string]string{"x1000c0s0b0n0": "Node0", "x1000c0s0b0n1": "Node1", "x1000c0s0b1n1": "Node1", "x3000c0s1b0n0": "Self"} {
		got, ok := topo.SystemID(node)
		assert.True(t, ok)
		assert.Equal(t, want, got, node)
	}
	_, ok := topo.SystemID("x9999c0s0b0n0")
	assert.False(t, ok)
	assert.Equal(t, "/redfish/v1/Systems/Node1", SystemPath("Node1"))
}
