package orchestrator

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goodTemplate = `{
  "description": "compute nodes",
  "cfs": {"configuration": "compute-config"},
  "boot_sets": {
    "compute": {
      "name": "compute",
      "path": "s3://boot-images/abc/manifest.json",
      "type": "s3",
      "node_list": ["x0003000c0s01b0n0", "X3000c0s2b0n0"],
      "cfs": {"configuration": ""}
    }
  }
}`

func TestTemplateNormalize(t *testing.T) {
	tpl, err := DecodeTemplate([]byte(goodTemplate))
	require.NoError(t, err)
	warnings, err := tpl.Normalize("tpl-1", "blue", DefaultOptions())
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, "tpl-1", tpl.Name)
	assert.Equal(t, "blue", tpl.Tenant)
	assert.True(t, tpl.EnableCFS, "enable_cfs defaults to true")
	bs := tpl.BootSets["compute"]
	assert.Equal(t, "", bs.Name, "boot-set names are dropped before storing")
	assert.Equal(t, ArchX86, bs.Arch)
	assert.Nil(t, bs.CFS, "empty cfs removed")
	assert.Equal(t, []string{"x3000c0s1b0n0", "x3000c0s2b0n0"}, bs.NodeList)
}

func TestTemplateNormalizeErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		opts func(*Options)
		warn bool
	}{
		{"NoBootSets", `{"boot_sets":{}}`, nil, false},
		{"MissingBootSets", `{"description":"x"}`, nil, false},
		{"NameMismatch", `{"boot_sets":{"a":{"name":"b","path":"p","type":"s3","node_list":["x1c0s0b0n0"]}}}`, nil, false},
		{"NoNodes", `{"boot_sets":{"a":{"path":"p","type":"s3","node_groups":[]}}}`, nil, false},
		{"MissingPath", `{"boot_sets":{"a":{"type":"s3","node_list":["x1c0s0b0n0"]}}}`, nil, false},
		{"MissingType", `{"boot_sets":{"a":{"path":"p","node_list":["x1c0s0b0n0"]}}}`, nil, false},
		{"BadArch", `{"boot_sets":{"a":{"path":"p","type":"s3","arch":"RISCV","node_list":["x1c0s0b0n0"]}}}`, nil, false},
		{"BadBootSetKey", `{"boot_sets":{"a b":{"path":"p","type":"s3","node_list":["x1c0s0b0n0"]}}}`, nil, false},
		{"EmptyNodeListWithGroups", `{"boot_sets":{"a":{"path":"p","type":"s3","node_list":[],"node_groups":["g"]}}}`, nil, false},
		{"LongDescription", `{"description":"` + longString(1024) + `","boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1c0s0b0n0"]}}}`, nil, false},
		{"NIDRejected", `{"boot_sets":{"a":{"path":"p","type":"s3","node_list":["nid000001"]}}}`, func(o *Options) { o.RejectNIDs = true }, false},
		{"NIDWarned", `{"boot_sets":{"a":{"path":"p","type":"s3","node_list":["nid000001"]}}}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			tpl, err := DecodeTemplate([]byte(tt.body))
			require.NoError(t, err)
			warnings, err := tpl.Normalize("t", "", o)
			if tt.warn {
				require.NoError(t, err)
				assert.Len(t, warnings, 1)
				return
			}
			assert.Equal(t, EINVALID, ErrorCode(err), "%v", err)
			assert.Contains(t, ErrorMessage(err), "The session template could not be created")
		})
	}
}

func TestDecodeTemplateStrict(t *testing.T) {
	for name, body := range map[string]string{
		"UnknownTop":     `{"bootsets":{}}`,
		"UnknownBootSet": `{"boot_sets":{"a":{"path":"p","type":"s3","nodes":["x"]}}}`,
		"WrongType":      `{"enable_cfs":"yes","boot_sets":{}}`,
		"NotJSON":        `{boot_sets}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeTemplate([]byte(body))
			assert.Equal(t, EINVALID, ErrorCode(err))
		})
	}
}

func TestMergeTemplatePatch(t *testing.T) {
	cur, err := DecodeTemplate([]byte(`{
	  "description": "d",
	  "enable_cfs": true,
	  "cfs": {"configuration": "top"},
	  "boot_sets": {
	    "a": {"path": "pa", "type": "s3", "node_list": ["x1c0s0b0n0"], "kernel_parameters": "ka", "cfs": {"configuration": "ca"}},
	    "b": {"path": "pb", "type": "s3", "node_groups": ["g"]}
	  }}`))
	require.NoError(t, err)
	_, err = cur.Normalize("tpl", "red", DefaultOptions())
	require.NoError(t, err)

	got, err := MergeTemplatePatch(cur, []byte(`{
	  "name": "ignored", "tenant": "ignored",
	  "enable_cfs": false,
	  "cfs": {"configuration": "top2"},
	  "boot_sets": {
	    "a": {"kernel_parameters": "ka2", "node_list": ["x2c0s0b0n0"]},
	    "c": {"path": "pc", "type": "s3", "node_roles_groups": ["Compute"]}
	  }}`))
	require.NoError(t, err)
	_, err = got.Normalize(got.Name, got.Tenant, DefaultOptions())
	require.NoError(t, err)
	assert.Equal(t, "tpl", got.Name)
	assert.Equal(t, "red", got.Tenant)
	assert.Equal(t, "d", got.Description, "untouched top-level key kept")
	assert.False(t, got.EnableCFS)
	assert.Equal(t, "top2", got.CFS.Configuration)
	require.Len(t, got.BootSets, 3, "boot sets are never removed by PATCH")
	a := got.BootSets["a"]
	assert.Equal(t, "pa", a.Path)
	assert.Equal(t, "ka2", a.KernelParameters)
	assert.Equal(t, []string{"x2c0s0b0n0"}, a.NodeList, "other boot-set keys replaced")
	assert.Equal(t, "ca", a.CFS.Configuration, "boot-set cfs merged")
	assert.Equal(t, []string{"Compute"}, got.BootSets["c"].NodeRolesGroups, "new boot set added whole")

	// boot_sets may be left out; a patch that breaks a boot set is refused after the merge.
	_, err = MergeTemplatePatch(cur, []byte(`{"description":"only"}`))
	require.NoError(t, err)
	_, err = MergeTemplatePatch(cur, []byte(`{"boot_sets":{"a":{"colour":"red"}}}`))
	assert.Equal(t, EINVALID, ErrorCode(err))
	bad, err := MergeTemplatePatch(cur, []byte(`{"boot_sets":{"a":{"node_list":[]}}}`))
	require.NoError(t, err)
	_, err = bad.Normalize(bad.Name, bad.Tenant, DefaultOptions())
	assert.Equal(t, EINVALID, ErrorCode(err))
}

func TestCheckBootSets(t *testing.T) {
	tpl := SessionTemplate{Name: "t", BootSets: map[string]BootSet{
		"a": {Path: "p", Type: "s3", NodeList: []string{"nid001"}, RootfsProvider: "cpss3"},
	}}
	warnings, err := CheckBootSets(&tpl, OpBoot, DefaultOptions(), nil)
	require.NoError(t, err)
	require.Len(t, warnings, 2)
	assert.Contains(t, warnings[0], "Session template: 't' boot set: 'a': ")
	assert.Contains(t, ValidityMessage(warnings, nil), "; ")

	o := DefaultOptions()
	o.RejectNIDs = true
	_, err = CheckBootSets(&tpl, OpShutdown, o, nil)
	assert.Equal(t, EINVALID, ErrorCode(err))

	tpl.BootSets["a"] = BootSet{Path: "p", Type: "nfs", NodeGroups: []string{"g"}}
	_, err = CheckBootSets(&tpl, OpReboot, DefaultOptions(), nil)
	assert.Error(t, err, "boot needs type s3")
	_, err = CheckBootSets(&tpl, OpShutdown, DefaultOptions(), nil)
	assert.NoError(t, err, "shutdown does not look at artifacts")

	tpl.BootSets["a"] = BootSet{Path: "p", Type: "s3", NodeGroups: []string{"g"}}
	calls := 0
	extra := func(name string, bs BootSet) ([]string, error) {
		calls++
		return []string{"initrd missing"}, nil
	}
	warnings, err = CheckBootSets(&tpl, OpBoot, DefaultOptions(), extra)
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, []string{"Session template: 't' boot set: 'a': initrd missing"}, warnings)
	assert.Equal(t, "Valid", ValidityMessage(nil, nil))

	_, err = CheckBootSets(&SessionTemplate{Name: "e"}, OpBoot, DefaultOptions(), nil)
	assert.Error(t, err)
}

func TestExampleTemplate(t *testing.T) {
	ex := ExampleTemplate()
	raw, err := json.Marshal(ex)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.NotContains(t, m, "name")
	assert.Equal(t, true, m["enable_cfs"])
	tpl, err := DecodeTemplate(raw)
	require.NoError(t, err)
	_, err = tpl.Normalize("example", "", DefaultOptions())
	assert.NoError(t, err, "the example is itself a valid template")
}

func TestDecodeTemplateRefusesTrailingData(t *testing.T) {
	_, err := DecodeTemplate([]byte(`{"boot_sets": {}} {"boot_sets": {}}`))
	require.Error(t, err)
	assert.Equal(t, EINVALID, ErrorCode(err))
	assert.Contains(t, err.Error(), "single JSON value")
	_, err = DecodeTemplate([]byte("{\"boot_sets\": {}}\n"))
	assert.NoError(t, err, "trailing white space is fine")
}

// TestCheckTemplateBody: what BOS's request schema refuses before any merge.
func TestCheckTemplateBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		patch bool
		want  string // "" for no error
	}{
		{"Good", goodTemplate, false, ""},
		{"NotAnObject", `[1]`, false, ""},
		{"Name", `{"name":"a","boot_sets":{}}`, false, "The session template could not be created: name: is read-only"},
		{"TenantNull", `{"tenant":null}`, false, "The session template could not be created: tenant: is read-only"},
		{"Links", `{"links":[]}`, true, "The session template could not be patched: links: is read-only"},
		{"EmptyDescription", `{"description":""}`, false, "The session template could not be created: description: must be 1 to 1023 characters, not empty"},
		{"Description", `{"description":"x"}`, true, ""},
		{"PartialBootSetOnPut", `{"boot_sets":{"b":{"node_list":["x1c0s0b0n0"]}}}`, false, ""},
		{"PartialBootSetOnPatch", `{"boot_sets":{"b":{"type":"s3"},"a":{}}}`, true,
			"The session template could not be patched: boot_sets.a.path: is required; boot_sets.a.type: is required; boot_sets.b.path: is required"},
		{"WholeBootSetOnPatch", `{"boot_sets":{"b":{"path":"s3://x/manifest.json","type":"s3"}}}`, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTemplateBody([]byte(tc.body), tc.patch)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, EINVALID, ErrorCode(err))
			assert.Equal(t, tc.want, ErrorMessage(err))
		})
	}
}
