package hsm

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/cray-bos/bos/internal/xname"
)

// The hardware inventory a Discover reads, as hms-smd's pkg/rf: each system becomes a
// Node, the CPUs of its ProcessorCollection Processors <node>pN and its GPUs and
// accelerators NodeAccels <node>aN, the members of its MemoryCollection Memory
// <node>dN, and the BMC's own Manager its NodeBMC. A DIMM's N is its index in the
// collection (hms-smd's RawOrdinal). A processor's N counts the readable processors
// of its kind, absent ones included, in collection order: hms-smd's
// getProcessorOrdinal means that order but counts in its map's iteration order (and
// names an "Accelerator" pN); here the order is fixed. Absent members take their
// ordinal but are not stored (HSM stores an Empty location without a FRU). Each Redfish resource is decoded into its location and FRU info objects
// as hms-smd's *LocationInfoRF and *FRUInfoRF pass its properties through; the FRUID
// is <Type>.<Manufacturer>.<PartNumber>.<SerialNumber>, or FRUIDfor<xname> when the
// FRU is untrackable, which discovery keeps (a POST refuses it).

// The info objects discovery stores, with the fields (and field order) the seeded
// entries have; numbers are kept as the BMC wrote them.
type (
	discSystemLoc struct {
		Id, Name, Description string
		Hostname              string // Redfish's HostName: keys match case-insensitively
		ProcessorSummary      struct {
			Count json.Number
			Model string
		}
		MemorySummary struct{ TotalSystemMemoryGiB json.Number }
	}
	discSystemFRU struct {
		AssetTag, BiosVersion, Model, Manufacturer, PartNumber, SerialNumber, SKU, SystemType, UUID string
	}
	discProcessorLoc struct{ Id, Name, Description, Socket string }
	discProcessorFRU struct {
		InstructionSet, Manufacturer string
		MaxSpeedMHz                  json.Number
		Model                        string
		PartNumber                   string `json:",omitempty"`
		SerialNumber                 string `json:",omitempty"`
		ProcessorArchitecture        string
		ProcessorType                string
		TotalCores, TotalThreads     json.Number
	}
	discMemoryLoc struct {
		Id, Name, Description string
		MemoryLocation        struct{ Socket, Slot json.Number }
	}
	discMemoryFRU struct {
		CapacityMiB                  json.Number
		Manufacturer                 string `json:",omitempty"`
		MemoryDeviceType, MemoryType string
		OperatingSpeedMhz            json.Number
		PartNumber                   string `json:",omitempty"`
		SerialNumber                 string `json:",omitempty"`
	}
	discManagerLoc struct{ Id, Name, Description, FirmwareVersion string }
	discManagerFRU struct{ ManagerType, Model, Manufacturer, PartNumber, SerialNumber string }
)

// rfStatus is a Redfish resource's Status; an Absent one has no FRU.
type rfStatus struct {
	Status struct{ State string }
}

// readHW reads the hardware inventory of a successful discovery of BMC bmcID: each
// system's Node, Processors and Memory, and the NodeBMC. A collection or member that
// cannot be read or decoded is left out, as hms-smd goes on without it.
func (b *bmcReader) readHW(ctx context.Context, bmcID string, rd bmcReading) []*HWInvByLoc {
	var out []*HWInvByLoc
	for i, sys := range rd.systems {
		node := systemXname(bmcID, i)
		if xname.TypeOf(node) != xname.Node {
			continue // hms-smd: "Bad xname ID", nothing stored
		}
		var v struct {
			discSystemLoc
			discSystemFRU
			Processors, Memory odataLink
		}
		if !decodeRF(sys.raw, &v) {
			continue
		}
		out = append(out, builtLoc(node, xname.Node, v.discSystemLoc, v.discSystemFRU,
			v.Manufacturer, v.PartNumber, v.SerialNumber))
		var cpus, accels int
		for _, raw := range b.members(ctx, v.Processors.ID) {
			var p struct {
				discProcessorLoc
				discProcessorFRU
				rfStatus
			}
			if raw == nil || !decodeRF(raw, &p) {
				continue
			}
			id, t := node+"p"+strconv.Itoa(cpus), xname.Processor
			if p.ProcessorType == "GPU" || p.ProcessorType == "Accelerator" {
				id, t = node+"a"+strconv.Itoa(accels), xname.NodeAccelerator
				accels++
			} else {
				cpus++
			}
			if p.Status.State == "Absent" {
				continue // an empty socket still takes its ordinal
			}
			out = append(out, builtLoc(id, t, p.discProcessorLoc, p.discProcessorFRU,
				p.Manufacturer, p.PartNumber, p.SerialNumber))
		}
		for ordinal, raw := range b.members(ctx, v.Memory.ID) {
			var m struct {
				discMemoryLoc
				discMemoryFRU
				rfStatus
			}
			if raw == nil || !decodeRF(raw, &m) || m.Status.State == "Absent" {
				continue
			}
			out = append(out, builtLoc(node+"d"+strconv.Itoa(ordinal), xname.Memory, m.discMemoryLoc, m.discMemoryFRU,
				m.Manufacturer, m.PartNumber, m.SerialNumber))
		}
	}
	if t := xname.TypeOf(bmcID); t == xname.NodeBMC || t == xname.RouterBMC {
		for i, m := range rd.managers {
			if i > 0 || m.ManagerType != "" && m.ManagerType != "BMC" {
				continue // as applyReading: the first manager, the BMC's own
			}
			var v struct {
				discManagerLoc
				discManagerFRU
			}
			if decodeRF(m.raw, &v) {
				out = append(out, builtLoc(bmcID, t, v.discManagerLoc, v.discManagerFRU,
					v.Manufacturer, v.PartNumber, v.SerialNumber))
			}
		}
	}
	return out
}

// decodeRF decodes a Redfish resource as hms-smd does: a property of an unexpected
// type is skipped, only undecodable JSON fails.
func decodeRF(raw json.RawMessage, v any) bool {
	err := json.Unmarshal(raw, v)
	var typeErr *json.UnmarshalTypeError
	return err == nil || errors.As(err, &typeErr)
}

// maxHWMembers bounds the processors or DIMMs read from one system, so that a BMC
// listing millions of members costs no more than a large real node.
const maxHWMembers = 1024

// members reads a collection's members in collection order (the order hms-smd takes
// ordinals from); a member that cannot be read is nil.
func (b *bmcReader) members(ctx context.Context, collection string) []json.RawMessage {
	if collection == "" {
		return nil
	}
	raw, err := b.get(ctx, collection)
	if err != nil {
		return nil
	}
	var coll rfCollection
	if json.Unmarshal(raw, &coll) != nil {
		return nil
	}
	if len(coll.Members) > maxHWMembers {
		coll.Members = coll.Members[:maxHWMembers]
	}
	out := make([]json.RawMessage, 0, len(coll.Members))
	for _, m := range coll.Members {
		raw, err := b.get(ctx, m.ID)
		if err != nil {
			raw = nil
		}
		out = append(out, raw)
	}
	return out
}
