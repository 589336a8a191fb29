// Package pcs simulates the Power Control Service (cray-power-control, PCS 2.12 API):
// power transitions (POST /transitions, GET /transitions and /transitions/{id}, abort with
// DELETE /transitions/{id}) and power status (GET and POST /power-status, with the xname,
// powerStateFilter and managementStateFilter filters), served under /power-control/v1 and
// the gateway prefix /apis/power-control/v1. Errors are RFC 7807 problems with PCS's texts.
// TestConformsToPCS validates every operation served against pcs-2.12.1-swagger.yaml.
//
// Like the real service, it acts on nodes through their BMCs' Redfish interfaces, found
// through HSM. That I/O sits behind Driver, which the caller supplies (internal/stack
// adapts the same HSM-and-Redfish driver BOS's reconciler uses); this package keeps the
// transitions, their tasks and their deadlines.
//
// A transition plans each node as PCS's sequenceComponents does, from its power state and
// the ResetTypes its BMC allows (HSM's ComponentEndpoints; the node's
// supportedPowerTransitions derive from them as in PCS): On and Force-Off act on nodes not
// already there; Off is a GracefulShutdown followed by a ForceOff at the task deadline,
// Soft-Off the GracefulShutdown alone; Hard-Restart (the node must be on) is an Off then On;
// Soft-Restart (on too) a GracefulRestart, or an Off then On where the BMC lacks it; Init
// powers on a node that is off and restarts one that is on. Actions go out in PCS's
// sequence (every node's GracefulShutdown, ForceOff, GracefulRestart, then On), each
// confirmed by the power state within taskDeadlineMinutes (0: not confirmed, -1: no limit).
//
// With Config.Reservations (HSM's service reservations) the nodes are reserved before
// any action, flexibly, for a minute renewed every 30 s; a node given with a valid
// deputyKey is acted on under the caller's reservation instead, and rechecked before each
// stage. A node reserved by someone else fails untouched. One deliberate difference: a
// node's reservation is given back once its last action is sent, where PCS keeps every
// reservation until the transition ends; BOS reads a node off and sends On before PCS
// confirms the Soft-Off, and PCS's own reservation would refuse that On.
//
// DELETE /transitions/{id} aborts: the tasks not finished fail "Transition aborted" and the
// transition ends aborted. Records are kept 24 hours. Not simulated: power capping,
// non-node components, and PCS's restart of transitions abandoned by a dead instance.
package pcs
