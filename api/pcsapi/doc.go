// Package pcsapi speaks the Cray Power Control Service (hms-power-control, API v1,
// /power-control/v1): its wire types (transitions and their tasks, power-status) and a Go
// Client for a real or a simulated PCS, with the calls BOS makes (transitions, power-status)
// and a transition's read-back. It holds no server; the simulator is package pcs, which
// serves these types.
package pcsapi
