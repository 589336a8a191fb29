package hsm

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/hwfacts"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/internal/xname"
)

// hwStore is the hardware inventory. What discovery of the topology's BMCs found (a
// NodeBMC, a NodeEnclosure, and per node the Node, its Processors and Memory) is not
// stored: it is built on demand from the topology and internal/hwfacts, the facts the
// BMC simulator serves, so 10,000 nodes cost an index entry each. Stored entries
// (POST, PutHardware) override built ones; deletions of built ones are remembered.
// Guarded by Server.mu.
type hwStore struct {
	seeded time.Time // when discovery "found" the built entries (their Added events)
	bmcs   []string  // topology BMCs, sorted: the order entries are built in

	locs    map[string]*HWInvByLoc // stored locations
	frus    map[string]*HWInvByFRU // stored FRUs
	locGone map[string]bool        // built locations deleted
	fruGone map[string]bool        // built FRUs deleted
	// allLocsGone and allFRUsGone: every built location / FRU deleted.
	allLocsGone, allFRUsGone bool
	// fruLoc maps the trackable FRUID of a built node or enclosure to its location (the
	// other built FRUIDs are FRUIDfor<xname>).
	fruLoc map[string]string

	hist        []HWInvHist     // events after seeding, in order
	histGone    map[string]bool // built Added events deleted, by location
	fruHistGone map[string]bool // built Added events deleted, by FRUID
	allHistGone bool
}

func newHWStore() hwStore {
	return hwStore{locs: map[string]*HWInvByLoc{}, frus: map[string]*HWInvByFRU{}, locGone: map[string]bool{},
		fruGone: map[string]bool{}, fruLoc: map[string]string{}, histGone: map[string]bool{}, fruHistGone: map[string]bool{}}
}

// seedHW indexes the topology's hardware. Call with s.mu held.
func (s *Server) seedHW(t *topology.Topology) {
	s.hw.seeded = s.now()
	s.hw.bmcs = s.hw.bmcs[:0]
	for _, b := range t.BMCs {
		s.hw.bmcs = append(s.hw.bmcs, b.Xname)
		mountain := s.mountain(b.Xname)
		if mountain { // the rack server's enclosure has its node's serial: indexed below
			id, err := fruID(string(xname.NodeEnclosure), "", hwfacts.Manufacturer, "", hwfacts.ForEnclosure(b.Xname).SerialNumber)
			if err == nil {
				s.hw.fruLoc[id] = enclosureOf(b.Xname)
			}
		}
		for _, nodeID := range b.Nodes {
			hw := hwfacts.ForNode(nodeID, s.topoNodes[nodeID].Arch, mountain)
			if id, err := fruID(string(xname.Node), nodeID, hwfacts.Manufacturer, hw.PartNumber, hw.SerialNumber); err == nil {
				s.hw.fruLoc[id] = nodeID
			}
			if !mountain {
				if id, err := fruID(string(xname.NodeEnclosure), "", hwfacts.Manufacturer, "", hw.SerialNumber); err == nil {
					s.hw.fruLoc[id] = enclosureOf(b.Xname)
				}
			}
		}
	}
	slices.Sort(s.hw.bmcs)
}

// mountain reports whether BMC id is an HPE Cray EX blade controller.
func (s *Server) mountain(bmcID string) bool {
	b := s.topoBMCs[bmcID]
	return len(b.Nodes) > 0 && s.topoNodes[b.Nodes[0]].Class == topology.ClassMountain
}

// The location and FRU info objects of built entries, in hms-smd's field order.
type (
	chassisLocInfo struct{ Id, Name, Description string }
	chassisFRUInfo struct{ ChassisType, Model, Manufacturer, PartNumber, SerialNumber string }
	managerLocInfo struct{ Id, Name, Description, FirmwareVersion string }
	managerFRUInfo struct{ ManagerType, Model, Manufacturer, PartNumber, SerialNumber string }
	systemLocInfo  struct {
		Id, Name, Description, Hostname string
		ProcessorSummary                struct {
			Count int
			Model string
		}
		MemorySummary struct{ TotalSystemMemoryGiB int }
	}
	systemFRUInfo struct {
		AssetTag, BiosVersion, Model, Manufacturer, PartNumber, SerialNumber, SKU, SystemType, UUID string
	}
	processorLocInfo struct{ Id, Name, Description, Socket string }
	processorFRUInfo struct {
		InstructionSet, Manufacturer string
		MaxSpeedMHz                  int
		Model, ProcessorArchitecture string
		ProcessorType                string
		TotalCores, TotalThreads     int
	}
	memoryLocInfo struct {
		Id, Name, Description string
		MemoryLocation        struct{ Socket, Slot int }
	}
	memoryFRUInfo struct {
		CapacityMiB                  int
		MemoryDeviceType, MemoryType string
		OperatingSpeedMhz            int
	}
)

// buildHW returns what discovering topology BMC bmcID finds, sorted by ID: the facts of
// internal/hwfacts, shaped as hms-smd stores them. Call with s.mu held (read).
func (s *Server) buildHW(bmcID string) []*HWInvByLoc {
	b, ok := s.topoBMCs[bmcID]
	if !ok {
		return nil
	}
	mountain := s.mountain(bmcID)
	bmcHW := hwfacts.ForBMC(bmcID, mountain)
	mgr := "BMC"
	if !mountain {
		mgr = "Self"
	}
	out := []*HWInvByLoc{builtLoc(bmcID, xname.NodeBMC,
		managerLocInfo{Id: mgr, Name: "BMC " + bmcID, FirmwareVersion: bmcHW.FirmwareVersion},
		managerFRUInfo{ManagerType: "BMC", Model: bmcHW.Model, Manufacturer: hwfacts.Manufacturer}, hwfacts.Manufacturer, "", "")}

	// The enclosure: the blade of an EX BMC, else the rack server's own chassis.
	encID := enclosureOf(bmcID)
	if mountain {
		enc := hwfacts.ForEnclosure(bmcID)
		out = append(out, builtLoc(encID, xname.NodeEnclosure, chassisLocInfo{Id: "Enclosure", Name: "Enclosure"},
			chassisFRUInfo{ChassisType: "Enclosure", Model: enc.Model, Manufacturer: hwfacts.Manufacturer, SerialNumber: enc.SerialNumber},
			hwfacts.Manufacturer, "", enc.SerialNumber))
	} else if len(b.Nodes) > 0 {
		n := s.topoNodes[b.Nodes[0]]
		hw := hwfacts.ForNode(n.Xname, n.Arch, false)
		sysID := topology.SystemIDOf(n, 0)
		out = append(out, builtLoc(encID, xname.NodeEnclosure, chassisLocInfo{Id: sysID, Name: sysID},
			chassisFRUInfo{ChassisType: "RackMount", Model: hw.Model, Manufacturer: hwfacts.Manufacturer, SerialNumber: hw.SerialNumber},
			hwfacts.Manufacturer, "", hw.SerialNumber))
	}

	for ordinal, nodeID := range b.Nodes {
		n := s.topoNodes[nodeID]
		hw := hwfacts.ForNode(nodeID, n.Arch, mountain)
		sysID := topology.SystemIDOf(n, ordinal)
		loc := systemLocInfo{Id: sysID, Name: sysID, Description: "Node " + nodeID, Hostname: n.Name}
		loc.ProcessorSummary.Count, loc.ProcessorSummary.Model = hw.CPUs, hw.CPUModel
		loc.MemorySummary.TotalSystemMemoryGiB = hw.MemoryGiB
		fru := systemFRUInfo{BiosVersion: hw.BIOSVersion, Model: hw.Model, Manufacturer: hwfacts.Manufacturer,
			PartNumber: hw.PartNumber, SerialNumber: hw.SerialNumber, SystemType: "Physical", UUID: hw.UUID}
		out = append(out, builtLoc(nodeID, xname.Node, loc, fru, hwfacts.Manufacturer, hw.PartNumber, hw.SerialNumber))
		cpu := processorFRUInfo{InstructionSet: hwfacts.InstructionSet(n.Arch), Manufacturer: hw.CPUManufacturer,
			MaxSpeedMHz: hw.MaxSpeedMHz, Model: hw.CPUModel, ProcessorArchitecture: hwfacts.CPUArchitecture(n.Arch),
			ProcessorType: "CPU", TotalCores: hw.CoresPerCPU, TotalThreads: hw.CoresPerCPU * hw.ThreadsPerCore}
		for i := range hw.CPUs {
			num := strconv.Itoa(i + 1)
			out = append(out, builtLoc(nodeID+"p"+strconv.Itoa(i), xname.Processor,
				processorLocInfo{Id: "CPU" + num, Name: "Processor " + num, Socket: "CPU " + num}, cpu, hw.CPUManufacturer, "", ""))
		}
		dimm := memoryFRUInfo{CapacityMiB: hw.DIMMGiB * 1024, MemoryDeviceType: hw.MemoryDeviceType, MemoryType: "DRAM",
			OperatingSpeedMhz: hw.MemorySpeedMHz}
		for i := range hw.DIMMs {
			num := strconv.Itoa(i + 1)
			loc := memoryLocInfo{Id: "DIMM" + num, Name: "DIMM " + num}
			loc.MemoryLocation.Socket, loc.MemoryLocation.Slot = hw.DIMMLocation(i)
			out = append(out, builtLoc(nodeID+"d"+strconv.Itoa(i), xname.Memory, loc, dimm, "", "", ""))
		}
	}
	slices.SortFunc(out, func(a, b *HWInvByLoc) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// builtLoc shapes one built entry; its FRUID is hms-smd's from the FRU's facts.
func builtLoc(id string, t xname.Type, loc, fru any, manufacturer, partNumber, serial string) *HWInvByLoc {
	k := hwKinds[t]
	locRaw, _ := json.Marshal(loc) // structs of strings and numbers always marshal
	fruRaw, _ := json.Marshal(fru)
	e := &HWInvByLoc{ID: id, Type: string(t), Ordinal: trailingOrdinal(id), Status: "Populated",
		HWInventoryByLocationType: "HWInvByLoc" + k.kind, LocationInfo: locRaw}
	f := &HWInvByFRU{Type: string(t), HWInventoryByFRUType: "HWInvByFRU" + k.kind, FRUInfo: fruRaw,
		manufacturer: manufacturer, partNumber: partNumber, serial: serial}
	f.FRUID, _ = fruID(string(t), id, manufacturer, partNumber, serial) // untrackable: FRUIDfor<id>, as discovery keeps it
	e.PopulatedFRU = f
	return e
}

// enclosureOf is the NodeEnclosure of a NodeBMC (x1000c0s0b1 → x1000c0s0e1).
func enclosureOf(bmcID string) string {
	i := strings.LastIndexByte(bmcID, 'b')
	return bmcID[:i] + "e" + bmcID[i+1:]
}

// builtOwner returns the topology BMC whose discovery builds location id, or "".
func (s *Server) builtOwner(id string) string {
	switch xname.TypeOf(id) {
	case xname.NodeBMC:
		return id
	case xname.NodeEnclosure:
		i := strings.LastIndexByte(id, 'e')
		return id[:i] + "b" + id[i+1:]
	case xname.Node:
		return xname.Parent(id)
	case xname.Processor, xname.Memory:
		return xname.Parent(xname.Parent(id))
	}
	return ""
}

// hwLoc returns location id (stored, else built and not deleted), or nil. Call with
// s.mu held.
func (s *Server) hwLoc(id string) *HWInvByLoc {
	if e, ok := s.hw.locs[id]; ok {
		return e
	}
	if s.hw.allLocsGone || s.hw.locGone[id] {
		return nil
	}
	for _, e := range s.buildHW(s.builtOwner(id)) {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// hwLocs returns the locations of the given topology BMCs' discovery (all when bmcs is
// nil) that are not deleted or overridden, and every stored location accepted by keep,
// sorted by ID. Call with s.mu held.
func (s *Server) hwLocs(bmcs []string, keep func(id string) bool) []*HWInvByLoc {
	if bmcs == nil {
		bmcs = s.hw.bmcs
	}
	var out []*HWInvByLoc
	if !s.hw.allLocsGone {
		for _, b := range bmcs {
			for _, e := range s.buildHW(b) {
				if _, stored := s.hw.locs[e.ID]; !stored && !s.hw.locGone[e.ID] && keep(e.ID) {
					out = append(out, e)
				}
			}
		}
	}
	for id, e := range s.hw.locs {
		if keep(id) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *HWInvByLoc) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// hwFRU returns FRU fruID (stored, else built and not deleted), or nil. Call with s.mu
// held.
func (s *Server) hwFRU(fruID string) *HWInvByFRU {
	if f, ok := s.hw.frus[fruID]; ok {
		return f
	}
	if s.hw.allFRUsGone || s.hw.fruGone[fruID] {
		return nil
	}
	locID, ok := s.hw.fruLoc[fruID]
	if !ok {
		locID, ok = strings.CutPrefix(fruID, "FRUIDfor")
		if !ok {
			return nil
		}
	}
	for _, e := range s.buildHW(s.builtOwner(locID)) {
		if e.ID == locID && e.PopulatedFRU.FRUID == fruID {
			return e.PopulatedFRU
		}
	}
	return nil
}

// hwFRUs returns every FRU (stored, and built ones not deleted), sorted by FRUID.
// Call with s.mu held.
func (s *Server) hwFRUs() []*HWInvByFRU {
	var out []*HWInvByFRU
	if !s.hw.allFRUsGone {
		for _, b := range s.hw.bmcs {
			for _, e := range s.buildHW(b) {
				f := e.PopulatedFRU
				if _, stored := s.hw.frus[f.FRUID]; !stored && !s.hw.fruGone[f.FRUID] {
					out = append(out, f)
				}
			}
		}
	}
	for _, f := range s.hw.frus {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *HWInvByFRU) int { return strings.Compare(a.FRUID, b.FRUID) })
	return out
}

// putHW stores checked entries and records their history as hms-smd's
// GenerateHWInvHist does: Added for a FRU new at its location (and Removed for the FRU
// it replaces), Scanned for the same FRU seen again. Call with s.mu held.
func (s *Server) putHW(entries []*HWInvByLoc) {
	now := histStamp(s.now())
	for _, e := range entries {
		old := s.hwLoc(e.ID)
		switch {
		case old == nil:
			s.hw.hist = append(s.hw.hist, HWInvHist{ID: e.ID, FRUID: e.PopulatedFRU.FRUID, Timestamp: now, EventType: HWInvHistAdded})
		case old.PopulatedFRU != nil && old.PopulatedFRU.FRUID == e.PopulatedFRU.FRUID:
			s.hw.hist = append(s.hw.hist, HWInvHist{ID: e.ID, FRUID: e.PopulatedFRU.FRUID, Timestamp: now, EventType: HWInvHistScanned})
		default:
			if old.PopulatedFRU != nil {
				s.hw.hist = append(s.hw.hist, HWInvHist{ID: e.ID, FRUID: old.PopulatedFRU.FRUID, Timestamp: now, EventType: HWInvHistRemoved})
			}
			s.hw.hist = append(s.hw.hist, HWInvHist{ID: e.ID, FRUID: e.PopulatedFRU.FRUID, Timestamp: now, EventType: HWInvHistAdded})
		}
		s.hw.locs[e.ID] = e
		s.hw.frus[e.PopulatedFRU.FRUID] = e.PopulatedFRU
	}
}

// hwHistory returns every history event accepted by keep: the Added events of the
// built entries at seeding time (unless deleted) and the recorded ones, in time order.
// Call with s.mu held.
func (s *Server) hwHistory(keep func(HWInvHist) bool) []HWInvHist {
	var out []HWInvHist
	if !s.hw.allHistGone {
		seeded := histStamp(s.hw.seeded)
		for _, b := range s.hw.bmcs {
			for _, e := range s.buildHW(b) {
				ev := HWInvHist{ID: e.ID, FRUID: e.PopulatedFRU.FRUID, Timestamp: seeded, EventType: HWInvHistAdded}
				if !s.hw.histGone[e.ID] && !s.hw.fruHistGone[ev.FRUID] && keep(ev) {
					out = append(out, ev)
				}
			}
		}
	}
	for _, ev := range s.hw.hist {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// PutHardware stores hardware inventory read from a BMC, as HSM's discovery does:
// every entry is validated first (the error is hms-smd's text and nothing is stored),
// then stored over what was there, with Added/Removed/Scanned history events. A
// location's subcomponents are separate entries.
func (s *Server) PutHardware(items []HWInvByLoc) error {
	entries := make([]*HWInvByLoc, 0, len(items))
	for _, it := range items {
		e, err := checkHWLoc(it)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putHW(entries)
	return nil
}
