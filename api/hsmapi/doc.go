// Package hsmapi speaks the Cray Hardware State Manager (hms-smd 2.45, /hsm/v2): its wire
// types (components, groups and partitions, Redfish and component endpoints, locks and
// reservations, state changes) and a Go Client for a real or a simulated HSM. It holds no
// server; the simulator is package hsm, which serves these types.
package hsmapi
