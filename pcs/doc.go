// Package pcs simulates the Power Control Service (cray-power-control, PCS 2.12 API)
// as far as BOS 2.50 uses it: power transitions (POST /transitions, GET /transitions and
// /transitions/{id}) and power status (GET and POST /power-status), served under
// /power-control/v1 and the gateway prefix /apis/power-control/v1. Errors are RFC 7807
// problems.
//
// Like the real service, it acts on nodes through their BMCs' Redfish interfaces, found
// through HSM. That I/O sits behind Driver, which the caller supplies (internal/stack
// adapts the same HSM-and-Redfish driver BOS's reconciler uses); this package keeps the
// transitions, their tasks and their deadlines.
package pcs
