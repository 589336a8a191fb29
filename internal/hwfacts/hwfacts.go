// Package hwfacts is the one source of the hardware a simulated machine reports: the
// BMC simulator serves these facts over Redfish (ComputerSystem, Processors, Memory,
// Chassis, Manager) and HSM's hardware inventory lists the same ones, so the two agree.
// Everything is derived from a node's or BMC's xname and class, nothing is stored.
package hwfacts

import (
	"crypto/sha1" //nolint:gosec // name-based UUIDs (RFC 4122 version 5) and serials are defined on SHA-1
	"fmt"
	"strings"

	"github.com/cray-bos/bos/internal/uuid"
)

// Manufacturer of every simulated system, enclosure and BMC.
const Manufacturer = "HPE"

// Node is the hardware of one node.
type Node struct {
	Model, BIOSVersion, PartNumber, SerialNumber, UUID string

	CPUModel, CPUManufacturer string
	CPUs, CoresPerCPU         int
	ThreadsPerCore            int
	MaxSpeedMHz               int

	MemoryGiB int
	// The memory is DIMMs of DIMMGiB each (LPDDR5 packages, one per CPU, on Grace).
	DIMMs, DIMMGiB   int
	MemoryDeviceType string
	MemorySpeedMHz   int
}

// ForNode returns the hardware of node xname: an HPE Cray EX blade node (mountain,
// Grace on arch ARM) or a ProLiant rack server.
func ForNode(xname, arch string, mountain bool) Node {
	var n Node
	switch {
	case mountain && strings.EqualFold(arch, "ARM"):
		n = Node{Model: "EX254n", BIOSVersion: "ex254n.bios-1.2.0", CPUModel: "NVIDIA Grace CPU", PartNumber: "P59700-001",
			SerialNumber: Serial("HF", xname), CPUs: 2, MemoryGiB: 480, CoresPerCPU: 72, MaxSpeedMHz: 3400}
	case mountain:
		n = Node{Model: "EX425", BIOSVersion: "wnc.bios-1.7.3", CPUModel: "AMD EPYC 7763 64-Core Processor", PartNumber: "P43436-001",
			SerialNumber: Serial("HF", xname), CPUs: 2, MemoryGiB: 256, CoresPerCPU: 64, MaxSpeedMHz: 3500}
	default:
		n = Node{Model: "ProLiant DL325 Gen10 Plus", BIOSVersion: "A43 v2.72 (06/29/2023)", CPUModel: "AMD EPYC 7502P 32-Core Processor",
			PartNumber: "P18606-B21", SerialNumber: Serial("MXQ", xname), CPUs: 1, MemoryGiB: 512, CoresPerCPU: 32, MaxSpeedMHz: 3350}
	}
	n.UUID = UUID(xname)
	n.CPUManufacturer, n.ThreadsPerCore = "AMD", 2 // SMT on the AMD parts
	if strings.HasPrefix(n.CPUModel, "NVIDIA") {
		n.CPUManufacturer, n.ThreadsPerCore = "NVIDIA", 1
	}
	n.DIMMGiB, n.DIMMs, n.MemoryDeviceType, n.MemorySpeedMHz = 32, n.MemoryGiB/32, "DDR4", 3200
	if n.CPUManufacturer == "NVIDIA" {
		n.DIMMGiB, n.DIMMs, n.MemoryDeviceType = n.MemoryGiB/n.CPUs, n.CPUs, "LPDDR5"
	}
	return n
}

// DIMMLocation is the CPU socket and slot of the node's i-th DIMM (from 0), as the
// BMC serves them in Memory.MemoryLocation.
func (n Node) DIMMLocation(i int) (socket, slot int) { return i * n.CPUs / n.DIMMs, i }

// CPUArchitecture and InstructionSet are the Redfish Processor values for a node arch.
func CPUArchitecture(arch string) string {
	if strings.EqualFold(arch, "ARM") {
		return "ARM"
	}
	return "x86"
}

// InstructionSet is the Redfish Processor InstructionSet for a node arch.
func InstructionSet(arch string) string {
	if strings.EqualFold(arch, "ARM") {
		return "ARM-A64"
	}
	return "x86-64"
}

// BMC is the hardware of one node controller.
type BMC struct {
	Model, FirmwareVersion, UUID string
}

// ForBMC returns the hardware of BMC xname: an EX blade's nC or a rack server's iLO.
func ForBMC(xname string, mountain bool) BMC {
	b := BMC{Model: "nC", FirmwareVersion: "nc.1.9.13", UUID: UUID(xname)}
	if !mountain {
		b.Model, b.FirmwareVersion = "iLO 5", "2.78"
	}
	return b
}

// Enclosure is the chassis an EX blade BMC serves as "Enclosure" (the blade).
type Enclosure struct {
	Model, SerialNumber string
}

// ForEnclosure returns the blade enclosure behind mountain BMC xname.
func ForEnclosure(bmcXname string) Enclosure {
	return Enclosure{Model: "EX425 blade", SerialNumber: Serial("HF", bmcXname)}
}

// UUID is a stable RFC 4122 version 5 UUID for a name (a node or BMC xname).
func UUID(name string) string { return uuid.FromName([]byte("cray-bos-simulator:"), name) }

// Serial is a stable serial number in the vendor's style: prefix and ten digits.
func Serial(prefix, name string) string {
	sum := sha1.Sum([]byte("serial:" + name)) //nolint:gosec // see import
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	return fmt.Sprintf("%s%010d", prefix, v%10_000_000_000)
}
