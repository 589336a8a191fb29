package pcs

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cray-bos/bos/api/pcsapi"
	"github.com/cray-bos/bos/internal/conformance"
)

// pcsDeviations are the differences from PCS 2.12.1's published document that we mean,
// each with its reason.
var pcsDeviations = []conformance.Deviation{
	{Op: "*", Contains: `response header Content-Type has unexpected value: "application/problem+json"`,
		Reason: "the document says application/error; PCS's WriteHeaders sends errors as application/problem+json"},
	{Op: "POST /transitions", Contains: `request body /operation: value is not one of the allowed values`,
		Reason: "BOS 2.50 sends On, Soft-Off and Force-Off; the document's enum is lower case, but its description says the operation is not case sensitive and PCS's ToOperationFilter lower-cases it"},
	{Op: "GET /transitions/{transitionID}", Contains: "status is not supported",
		Reason: "the document lists no 404 here; PCS's GetTransition answers 404 for an unknown ID (as DELETE's entry documents)"},
}

// TestConformsToPCS validates every PCS operation we serve (transitions: create, list,
// get, abort; power-status: GET and POST; liveness and readiness), on success and error
// paths, against PCS 2.12.1's document through the gateway paths (/apis/power-control/v1):
// what BOS 2.50 sends and what cray power (the CLI) sends.
func TestConformsToPCS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const a, b = "x1000c0s0b0n0", "x1000c0s0b0n1"
		f := newFake(map[string]string{a: "off", b: "on"})
		f.stuck[b] = true
		s, err := New(Config{Driver: f, PollInterval: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		c := conformance.New(t, conformance.PCS, s.Handler(), pcsDeviations...)

		c.Do("GET", "/liveness", nil)
		c.Do("GET", "/readiness", nil)
		// What BOS 2.50 sends.
		var on pcsapi.TransitionStart
		c.Do("POST", "/transitions", map[string]any{"operation": "On", "taskDeadlineMinutes": 1,
			"location": []map[string]any{{"xname": a}}}).JSON(t, &on)
		c.Do("POST", "/power-status", map[string]any{"xname": []string{a, b}})
		// cray power transition soft-off / describe / list / abort.
		var off pcsapi.TransitionStart
		c.Do("POST", "/transitions", map[string]any{"operation": "soft-off",
			"location": []map[string]any{{"xname": b, "deputyKey": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}}}).JSON(t, &off)
		c.DoInvalid("POST", "/transitions", map[string]any{"operation": "explode", "location": []map[string]any{{"xname": a}}})
		c.DoInvalid("POST", "/transitions", map[string]any{"operation": "on", "location": []map[string]any{{"xname": "node7"}}})
		time.Sleep(time.Minute)
		c.Do("GET", "/transitions", nil)
		c.Do("GET", "/transitions/"+on.TransitionID, nil)
		c.Do("GET", "/transitions/"+off.TransitionID, nil)
		c.Do("GET", "/transitions/3fa85f64-5717-4562-b3fc-2c963f66afa6", nil)
		c.Do("DELETE", "/transitions/"+off.TransitionID, nil)
		synctest.Wait()
		c.Do("GET", "/transitions/"+off.TransitionID, nil)
		c.Do("DELETE", "/transitions/"+on.TransitionID, nil)
		c.Do("DELETE", "/transitions/3fa85f64-5717-4562-b3fc-2c963f66afa6", nil)
		c.Do("DELETE", "/transitions/42", nil) // the document's uuid format is not checked: 400 from us
		// cray power status list.
		c.Do("GET", "/power-status", nil)
		c.Do("GET", "/power-status?xname="+a+"&xname="+b+"&powerStateFilter=on&managementStateFilter=available", nil)
		c.DoInvalid("GET", "/power-status?powerStateFilter=sideways", nil)
		c.DoInvalid("POST", "/power-status", map[string]any{"xname": []string{a}, "colour": "red"})
		c.RequireAll("/", map[string]string{
			"GET /health":              "not served: a diagnostic of PCS's own dependencies (etcd, Vault, TRS)",
			"GET /power-cap":           "power capping is not simulated",
			"PATCH /power-cap":         "power capping is not simulated",
			"POST /power-cap/snapshot": "power capping is not simulated",
			"GET /power-cap/{taskID}":  "power capping is not simulated",
		})
		if code := c.Do("GET", "/transitions/"+on.TransitionID, nil).Status; code != http.StatusOK {
			t.Errorf("GET transition: %d", code)
		}
	})
}
