package hsm

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/conformance"
)

// ComponentEndpoints carry only the keys hms-smd 2.45's document defines for their
// subtype (ComponentEndpointComputerSystem for nodes, ComponentEndpointManager for
// BMCs), at every level: no key of ours that the real service lacks.
func TestComponentEndpointKeysAsDocumented(t *testing.T) {
	spec, err := conformance.Load(conformance.HSM)
	require.NoError(t, err)
	s, _ := MustServer(t)
	for id, schema := range map[string]string{
		"x1000c0s0b0n0": "ComponentEndpointComputerSystem",
		"x1000c0s0b0":   "ComponentEndpointManager",
	} {
		ref, ok := spec.Doc.Components.Schemas[schema]
		require.True(t, ok, schema)
		r := call(t, s, "GET", "/hsm/v2/Inventory/ComponentEndpoints/"+id, "")
		require.Equal(t, 200, r.status, r.body)
		var got any
		require.NoError(t, json.Unmarshal([]byte(r.body), &got))
		assert.Empty(t, undocumentedKeys(ref.Value, got, id), "keys of %s not in %s", id, schema)
	}
}

// undocumentedKeys lists the keys of v (at any depth) that schema does not define.
func undocumentedKeys(schema *openapi3.Schema, v any, at string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.SchemaRef{}
		collectProps(schema, props)
		for k, sub := range v {
			p, ok := props[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, undocumentedKeys(p.Value, sub, at+"."+k)...)
		}
	case []any:
		if schema.Items != nil {
			for _, e := range v {
				out = append(out, undocumentedKeys(schema.Items.Value, e, at+"[]")...)
			}
		}
	}
	sort.Strings(out)
	return out
}

func collectProps(schema *openapi3.Schema, into map[string]*openapi3.SchemaRef) {
	for k, p := range schema.Properties {
		into[k] = p
	}
	for _, sub := range schema.AllOf {
		collectProps(sub.Value, into)
	}
}
