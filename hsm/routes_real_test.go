package hsm

import (
	"net/http"
	"testing"
)

// TestServiceWrongMethod404: HSM answers other methods on /service/* with 404, not 405.
func TestServiceWrongMethod404(t *testing.T) {
	s, _ := MustServer(t)
	for _, p := range []string{"/hsm/v2/service/ready", "/hsm/v2/service/liveness", "/hsm/v2/service/values",
		"/hsm/v2/service/values/arch", "/apis/smd/hsm/v2/service/ready"} {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			requireProblem(t, call(t, s, m, p, ""), http.StatusNotFound, "no such resource")
		}
	}
}

// TestPartitionPatchAsReal: the name is checked before the body; an unknown partition
// is 404 "no such partition.".
func TestPartitionPatchAsReal(t *testing.T) {
	s, _ := MustServer(t)
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/partitions/bad%20name", `{"description":"x"}`), http.StatusBadRequest, "Invalid partition name.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/partitions/bad%20name", `not json`), http.StatusBadRequest, "Invalid partition name.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/partitions/p9", `{"description":"x"}`), http.StatusNotFound, "no such partition.")
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/partitions/p1", `{}`), http.StatusBadRequest, "Request must have at least one patch field.")
}

// TestPartitionPathNamesAsReal: HSM checks a partition path name as a group label, so
// a label that is not pN[.M] names no partition: 404, not 400.
func TestPartitionPathNamesAsReal(t *testing.T) {
	s, _ := MustServer(t)
	requireProblem(t, call(t, s, "PATCH", "/hsm/v2/partitions/foo", `{"description":"x"}`), http.StatusNotFound, "no such partition.")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/partitions/foo", ""), http.StatusNotFound, "No such partition: foo")
	requireProblem(t, call(t, s, "GET", "/hsm/v2/partitions/foo/members", ""), http.StatusNotFound, "No such partition: foo")
	requireProblem(t, call(t, s, "DELETE", "/hsm/v2/partitions/p1x", ""), http.StatusNotFound, "")
}
