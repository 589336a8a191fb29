package hsm

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/hsmapi"
)

func lockStatus(t *testing.T, s *Server, id string) hsmapi.LockStatus {
	t.Helper()
	r := call(t, s, "POST", "/hsm/v2/locks/status", `{"ComponentIDs":["`+id+`"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	res := decode[hsmapi.LockStatusResult](t, r)
	require.Len(t, res.Components, 1)
	return res.Components[0]
}

func TestLockAndUnlock(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"Counts":{"Total":2,"Success":2,"Failure":0},"Success":{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"]},"Failure":[]}`, r.body)
	assert.True(t, mustGet(t, s, "x1000c0s0b0n0").Locked, "Locked shows on the component")
	assert.Equal(t, hsmapi.LockStatus{ID: "x1000c0s0b0n0", Locked: true}, lockStatus(t, s, "x1000c0s0b0n0"))

	// BOS's call: locked nodes only.
	r = call(t, s, "GET", "/hsm/v2/locks/status?type=Node&locked=True", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, []hsmapi.LockStatus{{ID: "x1000c0s0b0n0", Locked: true}, {ID: "x1000c0s0b0n1", Locked: true}},
		decode[hsmapi.LockStatusResult](t, r).Components)
	r = call(t, s, "GET", "/hsm/v2/State/Components?locked=true", "")
	assert.Equal(t, []string{"x1000c0s0b0n0", "x1000c0s0b0n1"}, ids(decode[hsmapi.ComponentArray](t, r).Components))

	// Rigid: one already locked fails the whole request, nothing changes.
	r = call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b1n0","x1000c0s0b0n0"]}`)
	requireProblem(t, r, http.StatusBadRequest, "Component is Locked")
	assert.False(t, lockStatus(t, s, "x1000c0s0b1n0").Locked)
	// Flexible: partial success.
	r = call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b1n0","x1000c0s0b0n0"],"ProcessingModel":"Flexible"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, hsmapi.LockUpdateResult{Counts: hsmapi.LockCounts{Total: 2, Success: 1, Failure: 1},
		Success: hsmapi.LockSuccess{ComponentIDs: []string{"x1000c0s0b1n0"}},
		Failure: []hsmapi.LockFailure{{ID: "x1000c0s0b0n0", Reason: "Locked"}}}, decode[hsmapi.LockUpdateResult](t, r))

	r = call(t, s, "POST", "/hsm/v2/locks/unlock", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1","x1000c0s0b1n0"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/unlock", `{"ComponentIDs":["x1000c0s0b0n0"]}`), http.StatusBadRequest, "Component is Unlocked")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/locks/status?type=Node&locked=True", ""), http.StatusBadRequest, "Component not found")
}

func TestLockByFilter(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/locks/lock", `{"Role":["Application"],"Type":["Node"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, uans, decode[hsmapi.LockUpdateResult](t, r).Success.ComponentIDs)
	r = call(t, s, "POST", "/hsm/v2/locks/lock", `{"Group":["uan"],"ProcessingModel":"flexible"}`)
	assert.Equal(t, 2, decode[hsmapi.LockUpdateResult](t, r).Counts.Failure)
}

func TestLockRequestErrors(t *testing.T) {
	s, _ := MustServer(t)
	for _, tc := range []struct{ name, path, body, detail string }{
		{"NoMatch", "lock", `{"ComponentIDs":["x1999c0s0b0n0"]}`, "Component not found"},
		{"BadModel", "lock", `{"ComponentIDs":["x1000c0s0b0n0"],"ProcessingModel":"loose"}`, "Invalid Processing Model"},
		{"LongDuration", "service/reservations", `{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":16}`, "Invalid Reservation Duration"},
		{"ZeroDuration", "service/reservations", `{"ComponentIDs":["x1000c0s0b0n0"]}`, "ReservationDuration must be greater than 0"},
		{"BadXname", "lock", `{"ComponentIDs":["x1000c0s0b0nX"]}`, "invalid xname"},
		{"BadType", "lock", `{"Type":["Toaster"]}`, "not a valid HMS Type"},
		{"ReleaseBadID", "reservations/release", `{"ReservationKeys":[{"ID":"bad","Key":"k"}]}`, "invalid xname ID"},
		{"RenewNoDuration", "service/reservations/renew", `{"ReservationKeys":[]}`, "ReservationDuration must be greater than 0"},
		{"RenewTooLong", "service/reservations/renew", `{"ReservationKeys":[],"ReservationDuration":20}`, "Invalid Reservation Duration"},
		{"CheckBadID", "service/reservations/check", `{"DeputyKeys":[{"ID":"x","Key":"k"}]}`, "invalid xname ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/"+tc.path, tc.body), http.StatusBadRequest, tc.detail)
		})
	}
	requireProblem(t, call(t, s, "GET", "/hsm/v2/locks/status?reserved=perhaps", ""), http.StatusBadRequest, "must be a boolean")
}

func TestServiceReservationsExpire(t *testing.T) {
	s, clock := MustServer(t)
	start := clock.Now()
	r := call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"],"ReservationDuration":2}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	res := decode[hsmapi.ReservationResult](t, r)
	require.Len(t, res.Success, 2)
	assert.Empty(t, res.Failure)
	got := res.Success[0]
	assert.Equal(t, "x1000c0s0b0n0", got.ID)
	assert.True(t, strings.HasPrefix(got.DeputyKey, "x1000c0s0b0n0:dk:"), got.DeputyKey)
	assert.True(t, strings.HasPrefix(got.ReservationKey, "x1000c0s0b0n0:rk:"), got.ReservationKey)
	assert.Empty(t, got.CreationTime, "not in a create reply")
	assert.Equal(t, start.Add(2*time.Minute).Format(time.RFC3339), got.ExpirationTime)

	st := lockStatus(t, s, "x1000c0s0b0n0")
	assert.True(t, st.Reserved)
	assert.Equal(t, got.ExpirationTime, st.ExpirationTime)
	// A second reservation is refused while the first lives.
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":1}`),
		http.StatusBadRequest, "Component is Reserved")
	// Locking a reserved component fails.
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b0n0"]}`), http.StatusBadRequest, "Component is Reserved")

	// Deputy keys check out until expiry.
	check := `{"DeputyKeys":[{"ID":"x1000c0s0b0n0","Key":"` + strings.ToUpper(got.DeputyKey) + `"},{"ID":"x1000c0s0b0n1","Key":"wrong"}]}`
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/check", check)
	require.Equal(t, http.StatusOK, r.status, r.body)
	chk := decode[hsmapi.ReservationResult](t, r)
	assert.Equal(t, []hsmapi.Reservation{{ID: "x1000c0s0b0n0", DeputyKey: got.DeputyKey, CreationTime: start.Format(time.RFC3339), ExpirationTime: got.ExpirationTime}}, chk.Success)
	assert.Equal(t, []hsmapi.LockFailure{{ID: "x1000c0s0b0n1", Reason: "NotFound"}}, chk.Failure)

	clock.Advance(2*time.Minute - time.Second)
	assert.True(t, lockStatus(t, s, "x1000c0s0b0n0").Reserved)
	clock.Advance(time.Second)
	assert.Equal(t, hsmapi.LockStatus{ID: "x1000c0s0b0n0"}, lockStatus(t, s, "x1000c0s0b0n0"), "expired at the deadline")
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/check", check)
	assert.Empty(t, decode[hsmapi.ReservationResult](t, r).Success)
	// After expiry it can be reserved again.
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":15}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
}

func TestRenewAndRelease(t *testing.T) {
	s, clock := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"],"ReservationDuration":1}`)
	res := decode[hsmapi.ReservationResult](t, r)
	k0, k1 := res.Success[0].ReservationKey, res.Success[1].ReservationKey

	clock.Advance(50 * time.Second)
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/renew",
		`{"ReservationKeys":[{"ID":"x1000c0s0b0n0","Key":"`+k0+`"}],"ReservationDuration":3}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 1, decode[hsmapi.LockUpdateResult](t, r).Counts.Success)
	clock.Advance(time.Minute)
	assert.True(t, lockStatus(t, s, "x1000c0s0b0n0").Reserved, "renewed: 3 minutes from the renewal")
	assert.False(t, lockStatus(t, s, "x1000c0s0b0n1").Reserved, "not renewed: expired")

	// Release: a wrong key fails (rigid: nothing released), the right key works.
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/release",
		`{"ReservationKeys":[{"ID":"x1000c0s0b0n0","Key":"`+k0+`"},{"ID":"x1000c0s0b0n1","Key":"`+k1+`"}]}`)
	requireProblem(t, r, http.StatusBadRequest, "Component not found")
	assert.True(t, lockStatus(t, s, "x1000c0s0b0n0").Reserved)
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations/release",
		`{"ReservationKeys":[{"ID":"x1000c0s0b0n0","Key":"`+k0+`"},{"ID":"x1000c0s0b0n1","Key":"`+k1+`"}],"ProcessingModel":"flexible"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, hsmapi.LockUpdateResult{Counts: hsmapi.LockCounts{Total: 2, Success: 1, Failure: 1},
		Success: hsmapi.LockSuccess{ComponentIDs: []string{"x1000c0s0b0n0"}},
		Failure: []hsmapi.LockFailure{{ID: "x1000c0s0b0n1", Reason: "NotFound"}}}, decode[hsmapi.LockUpdateResult](t, r))
	assert.False(t, lockStatus(t, s, "x1000c0s0b0n0").Reserved)
}

func TestAdminReservations(t *testing.T) {
	s, clock := MustServer(t)
	// Admin reservations need the component locked.
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/reservations", `{"ComponentIDs":["x1000c0s0b0n0"]}`), http.StatusBadRequest, "Component is Unlocked")
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b0n0"]}`).status)
	r := call(t, s, "POST", "/hsm/v2/locks/reservations", `{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":5}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	res := decode[hsmapi.ReservationResult](t, r)
	require.Len(t, res.Success, 1)
	assert.Empty(t, res.Success[0].ExpirationTime, "admin reservations never expire")
	clock.Advance(24 * time.Hour)
	assert.True(t, lockStatus(t, s, "x1000c0s0b0n0").Reserved)
	// Service reservations need it unlocked.
	r = call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"],"ReservationDuration":1,"ProcessingModel":"flexible"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, []hsmapi.LockFailure{{ID: "x1000c0s0b0n0", Reason: "Locked"}}, decode[hsmapi.ReservationResult](t, r).Failure)

	// Remove force-releases by filter; rigid fails if one target has none.
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/reservations/remove", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b1n0"]}`),
		http.StatusBadRequest, "Component not found")
	r = call(t, s, "POST", "/hsm/v2/locks/reservations/remove", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 2, decode[hsmapi.LockUpdateResult](t, r).Counts.Success)
	assert.False(t, lockStatus(t, s, "x1000c0s0b0n0").Reserved)
	assert.False(t, lockStatus(t, s, "x1000c0s0b0n1").Reserved)
}

func TestDisableAndRepair(t *testing.T) {
	s, _ := MustServer(t)
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/locks/service/reservations",
		`{"ComponentIDs":["x1000c0s0b0n0"],"ReservationDuration":5}`).status)
	r := call(t, s, "POST", "/hsm/v2/locks/disable", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, 2, decode[hsmapi.LockUpdateResult](t, r).Counts.Success)
	assert.Equal(t, hsmapi.LockStatus{ID: "x1000c0s0b0n0", ReservationDisabled: true}, lockStatus(t, s, "x1000c0s0b0n0"),
		"disable releases the reservation")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n1"],"ReservationDuration":5}`),
		http.StatusBadRequest, "Component reservations are disabled")
	requireProblem(t, call(t, s, "POST", "/hsm/v2/locks/lock", `{"ComponentIDs":["x1000c0s0b0n1"]}`), http.StatusBadRequest, "Component reservations are disabled")
	r = call(t, s, "GET", "/hsm/v2/locks/status?ReservationDisabled=true", "")
	assert.Len(t, decode[hsmapi.LockStatusResult](t, r).Components, 2)

	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/locks/repair", `{"ComponentIDs":["x1000c0s0b0n0","x1000c0s0b0n1"]}`).status)
	assert.Equal(t, hsmapi.LockStatus{ID: "x1000c0s0b0n1"}, lockStatus(t, s, "x1000c0s0b0n1"))
	assert.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/locks/service/reservations",
		`{"ComponentIDs":["x1000c0s0b0n1"],"ReservationDuration":5}`).status)
}

func TestLockStatusPost(t *testing.T) {
	s, _ := MustServer(t)
	r := call(t, s, "POST", "/hsm/v2/locks/status", `{"ComponentIDs":["x1000c0s0b0n0","x1999c0s0b0n0"]}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"Components":[{"ID":"x1000c0s0b0n0","Locked":false,"Reserved":false,"ReservationDisabled":false}],"NotFound":["x1999c0s0b0n0"]}`, r.body)
	require.Equal(t, http.StatusOK, call(t, s, "POST", "/hsm/v2/locks/service/reservations", `{"ComponentIDs":["x1000c0s0b0n1"],"ReservationDuration":5}`).status)
	r = call(t, s, "GET", "/hsm/v2/locks/status?Reserved=True&type=node", "")
	assert.Equal(t, "x1000c0s0b0n1", decode[hsmapi.LockStatusResult](t, r).Components[0].ID)
	assert.Len(t, decode[hsmapi.LockStatusResult](t, r).Components, 1)
}
