// Package simulator runs Redfish BMCs, one loopback address each, with a virtual node
// behind every ComputerSystem that boots from BSS and reports to BOS and CFS.
package simulator
