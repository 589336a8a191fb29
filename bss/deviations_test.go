package bss

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeliberateDeviations pins the differences from the real BSS that bss/doc.go lists
// under "Deviations" for the unknown-node script, DELETE and the cloud-init datasource, so
// that changing one is a visible decision.
func TestDeliberateDeviations(t *testing.T) {
	_, h := cloudServer(t)

	t.Run("ScriptEndsWithOneNewline", func(t *testing.T) {
		w := call(t, h, http.MethodGet, "/boot/v1/bootscript?name=x9c0s0b0n0", "")
		require.Equal(t, http.StatusOK, w.Code)
		assert.True(t, strings.HasSuffix(w.Body.String(), "\n") && !strings.HasSuffix(w.Body.String(), "\n\n"), w.Body.String())
	})
	t.Run("DeleteNothingSelectedIs400", func(t *testing.T) {
		w := call(t, h, http.MethodDelete, "/boot/v1/bootparameters", `{}`)
		assert.Equal(t, http.StatusBadRequest, w.Code, "the real BSS answers 200")
	})
	t.Run("UserDataYAMLIndentsListItems", func(t *testing.T) {
		w := from(t, h, ip1, "", http.MethodGet, "/user-data", "")
		assert.Contains(t, w.Body.String(), "packages:\n  - vim\n", "yaml.v2 would write \"packages:\\n- vim\"")
	})
	t.Run("MetaDataIsApplicationJSON", func(t *testing.T) {
		w := from(t, h, ip1, "", http.MethodGet, "/meta-data", "")
		assert.Equal(t, "application/json; charset=UTF-8", w.Header().Get("Content-Type"))
	})
	t.Run("ForwardedForEntriesTrimmed", func(t *testing.T) {
		w := from(t, h, "10.9.9.9", "10.1.1.1, "+ip1, http.MethodGet, "/meta-data?key=local-hostname", "")
		require.Equal(t, http.StatusOK, w.Code, "the real BSS would look up \" "+ip1+"\" and miss")
		assert.JSONEq(t, `"`+n1+`"`, w.Body.String())
	})
}
