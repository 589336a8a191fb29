package cfs

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNullBodyRefused: null is not {} on any body-taking endpoint, and changes nothing.
func TestNullBodyRefused(t *testing.T) {
	s := mustServer(t, Config{Components: nodeIDs(2)})
	h := s.Handler()
	putConfig(t, h, "c1")
	id := nodeIDs(1)[0]
	snap := func() string {
		return call(t, h, http.MethodGet, "/v3/components", "").Body.String() +
			call(t, h, http.MethodGet, "/v3/configurations", "").Body.String()
	}
	before := snap()
	for _, ep := range [][2]string{
		{http.MethodPut, "/v3/components"}, {http.MethodPatch, "/v3/components"},
		{http.MethodPut, "/v3/components/" + id}, {http.MethodPatch, "/v3/components/" + id},
		{http.MethodPut, "/v3/configurations/c1"}, // PATCH configurations takes no body
	} {
		w := call(t, h, ep[0], ep[1], "null")
		require.Equal(t, http.StatusBadRequest, w.Code, "%s %s: %s", ep[0], ep[1], w.Body.String())
		_, detail := problemOf(t, w)
		assert.Contains(t, detail, "null", "%s %s", ep[0], ep[1])
	}
	assert.Equal(t, before, snap())
}
