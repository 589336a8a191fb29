// Package power is how BOS reads and changes node power: the PowerControl port the
// reconciler and the v1 agent act through (power.go), and its two drivers. Redfish
// (redfish.go) resets BMCs itself through gofish, finds them through HSM's Redfish
// endpoints (HSMEndpoints), keeps one client and a context-aware lock per BMC, subscribes
// to the BMCs' power events (Subscribe) and takes them on EventsHandler, so that a
// subscribed BMC's states come from its events and the others' from GETs; Credentials (credentials.go) stands in for the Vault secrets PCS reads. PCS
// (pcs.go) powers nodes as BOS 2.50 does, through the Power Control Service's transitions
// and power-status, with the api/pcsapi client.
package power
