// Package topology describes a simulated cluster: its nodes (xname, NID, name, role, arch),
// the BMCs they sit behind, HSM groups and partitions. One description feeds every
// simulator, so hsm, bss, the BMCs and slurmsim agree on what exists.
//
// A topology is generated (Generate) or loaded from a YAML or JSON file a user writes
// (Load). Generated clusters follow CSM conventions: compute nodes on liquid-cooled
// blades in x1000-series cabinets (x1000c0s0b0n0 and n1 behind BMC x1000c0s0b0; two node
// cards b0, b1 per slot; 8 slots per chassis; 8 chassis per cabinet), application (UAN)
// and management (NCN) nodes on air-cooled x3000-series racks (x3000c0s1b0n0), one node
// per BMC.
package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cray-bos/bos/internal/xname"
)

// Roles and subroles, spelled as HSM returns them.
const (
	RoleCompute     = "Compute"
	RoleApplication = "Application"
	RoleManagement  = "Management"

	SubRoleMaster  = "Master"
	SubRoleWorker  = "Worker"
	SubRoleStorage = "Storage"
	SubRoleUAN     = "UAN"

	ArchX86 = "X86"
	ArchARM = "ARM"

	ClassMountain = "Mountain"
	ClassRiver    = "River"
)

// Node is one compute, application or management node.
type Node struct {
	Xname   string `json:"xname" yaml:"xname"`
	NID     int    `json:"nid" yaml:"nid"`
	Name    string `json:"name" yaml:"name"` // host name, e.g. nid000001 or ncn-w001
	Role    string `json:"role" yaml:"role"`
	SubRole string `json:"subrole,omitempty" yaml:"subrole,omitempty"`
	Arch    string `json:"arch" yaml:"arch"`
	Class   string `json:"class" yaml:"class"`
	MAC     string `json:"mac" yaml:"mac"`
	// Disabled nodes are in HSM with Enabled=false.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
}

// BMC returns the xname of the node's BMC.
func (n Node) BMC() string { return xname.Parent(n.Xname) }

// BMC is a node controller. Its nodes are the topology nodes whose xname starts with it.
type BMC struct {
	Xname string `json:"xname" yaml:"xname"`
	// Username and Password override the simulator's default credentials for this BMC.
	Username string `json:"username,omitempty" yaml:"username,omitempty"`
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// Address is the loopback IP the BMC listens on; empty means "assign one".
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
	// Nodes lists the node xnames behind this BMC, in Systems collection order (Node0...).
	Nodes []string `json:"nodes" yaml:"nodes"`
}

// Group is an HSM group.
type Group struct {
	Label          string   `json:"label" yaml:"label"`
	Description    string   `json:"description,omitempty" yaml:"description,omitempty"`
	ExclusiveGroup string   `json:"exclusiveGroup,omitempty" yaml:"exclusiveGroup,omitempty"`
	Tags           []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Members        []string `json:"members" yaml:"members"`
}

// Partition is an HSM partition (name pN or pN.M).
type Partition struct {
	Name        string   `json:"name" yaml:"name"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Members     []string `json:"members" yaml:"members"`
}

// Topology is a whole cluster. BMCs may be omitted in a file: Normalize derives them.
type Topology struct {
	Nodes      []Node      `json:"nodes" yaml:"nodes"`
	BMCs       []BMC       `json:"bmcs,omitempty" yaml:"bmcs,omitempty"`
	Groups     []Group     `json:"groups,omitempty" yaml:"groups,omitempty"`
	Partitions []Partition `json:"partitions,omitempty" yaml:"partitions,omitempty"`
}

// Options say what Generate builds.
type Options struct {
	Compute     int // liquid-cooled compute nodes, NIDs 1..Compute, names nid000001...
	Application int // air-cooled UANs (uan01...), subrole UAN
	Management  int // air-cooled NCNs, cycling master, worker, storage subroles
	// ARM is how many of the compute nodes (the last ones) have Arch ARM; the rest are X86.
	ARM int
}

// DefaultOptions is the cluster `--nodes N` builds: N computes, 2 UANs, 3 NCNs.
func DefaultOptions(compute int) Options {
	return Options{Compute: compute, Application: 2, Management: 3}
}

// Liquid-cooled geometry: nodes per BMC, BMCs per slot, slots per chassis, chassis per cabinet.
const (
	nodesPerBMC     = 2
	bmcsPerSlot     = 2
	slotsPerChassis = 8
	chassisPerCab   = 8
	nodesPerCabinet = nodesPerBMC * bmcsPerSlot * slotsPerChassis * chassisPerCab
)

// Generate builds a cluster following CSM naming conventions. It is deterministic.
func Generate(o Options) (*Topology, error) {
	if o.Compute < 0 || o.Application < 0 || o.Management < 0 || o.ARM < 0 {
		return nil, errors.New("topology: node counts must not be negative")
	}
	if o.ARM > o.Compute {
		return nil, fmt.Errorf("topology: %d ARM nodes requested but only %d compute nodes", o.ARM, o.Compute)
	}
	if o.Compute > 9000*nodesPerCabinet {
		return nil, fmt.Errorf("topology: %d compute nodes exceed the xname space", o.Compute)
	}
	t := &Topology{}
	for i := 0; i < o.Compute; i++ {
		n, b, s, c, cab := i%nodesPerBMC, i/nodesPerBMC%bmcsPerSlot, i/(nodesPerBMC*bmcsPerSlot)%slotsPerChassis,
			i/(nodesPerBMC*bmcsPerSlot*slotsPerChassis)%chassisPerCab, i/nodesPerCabinet
		arch := ArchX86
		if i >= o.Compute-o.ARM {
			arch = ArchARM
		}
		t.Nodes = append(t.Nodes, Node{
			Xname: fmt.Sprintf("x%dc%ds%db%dn%d", 1000+cab, c, s, b, n),
			NID:   i + 1, Name: fmt.Sprintf("nid%06d", i+1),
			Role: RoleCompute, Arch: arch, Class: ClassMountain,
		})
	}
	// Air-cooled nodes: one per 1U slot, slots s1..s40 of rack x3000, then x3001...
	slot := 0
	river := func(name, role, sub string, nid int) {
		rack, u := slot/40, slot%40+1
		slot++
		t.Nodes = append(t.Nodes, Node{
			Xname: fmt.Sprintf("x%dc0s%db0n0", 3000+rack, u), NID: nid, Name: name,
			Role: role, SubRole: sub, Arch: ArchX86, Class: ClassRiver,
		})
	}
	ncnSubroles := []string{SubRoleMaster, SubRoleWorker, SubRoleStorage}
	ncnPrefix := map[string]string{SubRoleMaster: "ncn-m", SubRoleWorker: "ncn-w", SubRoleStorage: "ncn-s"}
	ncnCount := map[string]int{}
	for i := 0; i < o.Management; i++ {
		sub := ncnSubroles[i%len(ncnSubroles)]
		ncnCount[sub]++
		river(fmt.Sprintf("%s%03d", ncnPrefix[sub], ncnCount[sub]), RoleManagement, sub, 100001+i)
	}
	for i := 0; i < o.Application; i++ {
		river(fmt.Sprintf("uan%02d", i+1), RoleApplication, SubRoleUAN, 200001+i)
	}

	var compute, uans, all []string
	cabinets := map[string][]string{}
	for _, n := range t.Nodes {
		switch n.Role {
		case RoleCompute:
			compute = append(compute, n.Xname)
			cab := n.Xname[:strings.IndexByte(n.Xname, 'c')]
			cabinets[cab] = append(cabinets[cab], n.Xname)
			all = append(all, n.Xname)
		case RoleApplication:
			uans = append(uans, n.Xname)
			all = append(all, n.Xname)
		}
	}
	if len(compute) > 0 {
		t.Groups = append(t.Groups, Group{Label: "compute", Description: "All compute nodes", Tags: []string{"compute"}, Members: compute})
		cabs := make([]string, 0, len(cabinets))
		for c := range cabinets {
			cabs = append(cabs, c)
		}
		sort.Strings(cabs)
		for _, c := range cabs {
			t.Groups = append(t.Groups, Group{Label: "cabinet-" + c, Description: "Compute nodes in cabinet " + c,
				ExclusiveGroup: "cabinets", Members: cabinets[c]})
		}
	}
	if len(uans) > 0 {
		t.Groups = append(t.Groups, Group{Label: "uan", Description: "User access nodes", Members: uans})
	}
	if len(all) > 0 {
		t.Partitions = append(t.Partitions, Partition{Name: "p1", Description: "Compute and user access nodes", Members: all})
	}
	if err := t.Normalize(); err != nil {
		return nil, err
	}
	return t, nil
}

// Load reads a topology from a .yaml, .yml or .json file and normalizes it.
func Load(path string) (*Topology, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	t := &Topology{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		err = dec.Decode(t)
	default:
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		err = dec.Decode(t)
	}
	if err != nil {
		return nil, fmt.Errorf("topology: %s: %w", path, err)
	}
	if err := t.Normalize(); err != nil {
		return nil, fmt.Errorf("topology: %s: %w", path, err)
	}
	return t, nil
}

// Normalize validates the topology and fills what a file may leave out: normalized
// xnames, names (nid%06d), Arch (X86), Class (by cabinet number), MACs, and the BMC list.
func (t *Topology) Normalize() error {
	seenX, seenNID, seenName := map[string]bool{}, map[int]bool{}, map[string]bool{}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		id, typ, err := xname.Parse(n.Xname)
		if err != nil || typ != xname.Node {
			return fmt.Errorf("node %d: %q is not a node xname", i, n.Xname)
		}
		n.Xname = id
		if seenX[id] {
			return fmt.Errorf("node %s is listed twice", id)
		}
		seenX[id] = true
		if n.NID <= 0 {
			return fmt.Errorf("node %s: nid must be a positive number", id)
		}
		if seenNID[n.NID] {
			return fmt.Errorf("node %s: nid %d is used twice", id, n.NID)
		}
		seenNID[n.NID] = true
		if n.Name == "" {
			n.Name = fmt.Sprintf("nid%06d", n.NID)
		}
		if seenName[n.Name] {
			return fmt.Errorf("node %s: name %s is used twice", id, n.Name)
		}
		seenName[n.Name] = true
		if n.Role == "" {
			n.Role = RoleCompute
		}
		if n.Arch == "" {
			n.Arch = ArchX86
		}
		if n.Class == "" {
			n.Class = ClassRiver
			if strings.HasPrefix(id, "x1") || strings.HasPrefix(id, "x9") {
				n.Class = ClassMountain
			}
		}
		if n.MAC == "" {
			n.MAC = macFor(n.NID)
		}
	}
	for gi, g := range t.Groups {
		for mi, m := range g.Members {
			id := xname.Normalize(m)
			if !seenX[id] {
				return fmt.Errorf("group %s: member %q is not a node of this topology", g.Label, m)
			}
			t.Groups[gi].Members[mi] = id
		}
	}
	inPartition := map[string]string{}
	for pi, p := range t.Partitions {
		if xname.TypeOf(p.Name) != xname.Partition {
			return fmt.Errorf("partition %q: name must be pN or pN.M", p.Name)
		}
		for mi, m := range p.Members {
			id := xname.Normalize(m)
			if !seenX[id] {
				return fmt.Errorf("partition %s: member %q is not a node of this topology", p.Name, m)
			}
			if other, dup := inPartition[id]; dup {
				return fmt.Errorf("node %s is in partitions %s and %s; a node may be in one", id, other, p.Name)
			}
			inPartition[id] = p.Name
			t.Partitions[pi].Members[mi] = id
		}
	}
	return t.deriveBMCs()
}

// deriveBMCs rebuilds the BMC list from the nodes, keeping credentials and addresses a
// file gave for BMCs that still have nodes.
func (t *Topology) deriveBMCs() error {
	given := map[string]BMC{}
	for _, b := range t.BMCs {
		id := xname.Normalize(b.Xname)
		if xname.TypeOf(id) != xname.NodeBMC {
			return fmt.Errorf("bmc %q is not a node BMC xname", b.Xname)
		}
		b.Xname = id
		given[id] = b
	}
	byID := map[string]*BMC{}
	var order []string
	for _, n := range t.Nodes {
		id := n.BMC()
		b, ok := byID[id]
		if !ok {
			g := given[id]
			b = &BMC{Xname: id, Username: g.Username, Password: g.Password, Address: g.Address}
			byID[id] = b
			order = append(order, id)
		}
		b.Nodes = append(b.Nodes, n.Xname)
	}
	for id := range given {
		if byID[id] == nil {
			return fmt.Errorf("bmc %s has no nodes", id)
		}
	}
	t.BMCs = t.BMCs[:0]
	for _, id := range order {
		b := byID[id]
		sort.Slice(b.Nodes, func(i, j int) bool { return b.Nodes[i] < b.Nodes[j] })
		t.BMCs = append(t.BMCs, *b)
	}
	return nil
}

// macFor derives a stable, locally administered MAC from a NID.
func macFor(nid int) string {
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(nid>>24), byte(nid>>16), byte(nid>>8), byte(nid))
}

// Node returns the node with the given xname.
func (t *Topology) Node(id string) (Node, bool) {
	for _, n := range t.Nodes {
		if n.Xname == id {
			return n, true
		}
	}
	return Node{}, false
}

// ByRole returns the xnames of nodes with the given role.
func (t *Topology) ByRole(role string) []string {
	var ids []string
	for _, n := range t.Nodes {
		if n.Role == role {
			ids = append(ids, n.Xname)
		}
	}
	return ids
}

// YAML renders the topology as YAML (what `bos sim --dump-topology` prints).
func (t *Topology) YAML() ([]byte, error) { return yaml.Marshal(t) }

// ResetTypes are the ComputerSystem.Reset values a simulated BMC allows, in the order it
// lists them in ResetType@Redfish.AllowableValues. HSM's ComponentEndpoints repeat them.
var ResetTypes = []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle", "PushPowerButton", "Nmi"}

// SystemID is the Redfish ComputerSystem Id of a node on its BMC: HPE Cray EX blades
// (Mountain) name their systems Node0, Node1 in node order; air-cooled servers (River)
// have one system, Self. The second result is false when the node is not in t.
func (t *Topology) SystemID(node string) (string, bool) {
	n, ok := t.Node(node)
	if !ok {
		return "", false
	}
	return SystemIDOf(n, t.ordinal(n)), true
}

// SystemIDOf is SystemID for a node whose ordinal on its BMC (its position in BMC.Nodes) is known.
func SystemIDOf(n Node, ordinal int) string {
	if n.Class == ClassMountain {
		return fmt.Sprintf("Node%d", ordinal)
	}
	return "Self"
}

// SystemPath is the node's ComputerSystem path relative to its BMC (HSM's OdataID).
func SystemPath(systemID string) string { return "/redfish/v1/Systems/" + systemID }

func (t *Topology) ordinal(n Node) int {
	bmc := n.BMC()
	for _, b := range t.BMCs {
		if b.Xname == bmc {
			for i, id := range b.Nodes {
				if id == n.Xname {
					return i
				}
			}
		}
	}
	return 0
}
