package hsm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

// TestLockStatusAsReal: hms-smd's status answers 400 "Component not found" when nothing
// matches, lists the requested IDs it did not find under NotFound (POST), and leaves
// NotFound null on GET.
func TestLockStatusAsReal(t *testing.T) {
	s, _ := MustServer(t)
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/status", `{"ComponentIDs":["x1999c0s0b0n0"]}`),
		http.StatusBadRequest, "Component not found")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/locks/status?type=CDU", ""), http.StatusBadRequest, "Component not found")
	r := call(t, s, "POST", "/hsm/v2/locks/status", `{"ComponentIDs":["x1000c0s0b0n0","x1999c0s0b0n0"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"Components":[{"ID":"x1000c0s0b0n0","Locked":false,"Reserved":false,"ReservationDisabled":false}],
		"NotFound":["x1999c0s0b0n0"]}`, r.body)
	r = call(t, s, "GET", "/hsm/v2/locks/status?type=NodeBMC&locked=true", "")
	require.Equal(t, http.StatusBadRequest, r.status, r.body) // no locked BMC
	r = call(t, s, "GET", "/hsm/v2/locks/status?type=NodeBMC", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	var got map[string]any
	got = decode[map[string]any](t, r)
	assert.Contains(t, got, "NotFound")
	assert.Nil(t, got["NotFound"], "GET leaves NotFound null")
}

// TestLockKeysNoneAsReal: release, renew and check with no keys change nothing and
// answer 200 with empty results.
func TestLockKeysNoneAsReal(t *testing.T) {
	s, _ := MustServer(t)
	empty := `{"Counts":{"Total":0,"Success":0,"Failure":0},"Success":{"ComponentIDs":[]},"Failure":[]}`
	for _, p := range []string{"reservations/release", "service/reservations/release"} {
		r := call(t, s, "POST", "/hsm/v2/locks/"+p, `{}`)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", p, r.body)
		assert.JSONEq(t, empty, r.body, p)
	}
	r := call(t, s, "POST", "/hsm/v2/locks/service/reservations/renew", `{"ReservationDuration":2}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, empty, r.body)
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/check", `{}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"Success":[],"Failure":[]}`, r.body)
}

// TestReservationCreateHasNoCreationTime: hms-smd's create replies carry ID, keys and
// (service reservations) ExpirationTime, not CreationTime; check replies carry both.
func TestReservationCreateHasNoCreationTime(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":1}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	res := decode[hsmapi.ReservationResult](t, r)
	require.Len(t, res.Success, 1)
	assert.NotContains(t, r.body, "CreationTime")
	assert.NotEmpty(t, res.Success[0].ExpirationTime)
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b0n1"]}`).status)
	r = call(t, s, "POST", "/hsm/v2/locks/reservations", `{"ComponentIDs":["x1000c0s0b0n1"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.NotContains(t, r.body, "CreationTime")
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/check",
		`{"DeputyKeys":[{"ID":"x1000c0s0b0n0","Key":"`+res.Success[0].DeputyKey+`"}]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, "CreationTime")
}
