package api

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

// TestOpenAPIMatchesRoutes walks the route table and the served descriptions (v2 and v1):
// every route is described and every described operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, storetest.Mini)
	var routes []string
	for _, r := range e.api.engine.Routes() {
		routes = append(routes, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	var described []string
	for _, raw := range [][]byte{OpenAPI(), OpenAPIV1()} { // v2 and v1 are described apart
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		require.NoError(t, json.Unmarshal(raw, &doc))
		for path, ops := range doc.Paths {
			for method := range ops {
				if method == "parameters" {
					continue
				}
				described = append(described, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(routes)
	sort.Strings(described)
	assert.Equal(t, routes, described)
}

// TestOpenAPIOptionsSchema keeps the options schema in step with the domain type.
func TestOpenAPIOptionsSchema(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Default any `json:"default"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
	props := doc.Components.Schemas["Options"].Properties
	var names []string
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	assert.Equal(t, orchestrator.OptionNames(), names)
	raw, err := json.Marshal(orchestrator.DefaultOptions())
	require.NoError(t, err)
	var defaults map[string]any
	require.NoError(t, json.Unmarshal(raw, &defaults))
	for n, p := range props {
		assert.Equal(t, defaults[n], p.Default, "default of %s", n)
	}
}
