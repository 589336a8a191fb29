// Package xname parses, normalizes and relates Cray component names (xnames) the way HSM
// does: lowercase, surrounding space trimmed, leading zeros stripped from every number run.
package xname

import (
	"fmt"
	"regexp"
	"strings"
)

// Type is the HMS type of a component, as HSM derives it from the xname.
type Type string

// The HMS types of hms-xname (xnametypes), with the patterns HSM recognises them by.
const (
	Invalid                  Type = ""
	CDU                      Type = "CDU"
	CDUMgmtSwitch            Type = "CDUMgmtSwitch"
	CabinetCDU               Type = "CabinetCDU"
	Cabinet                  Type = "Cabinet"
	CabinetBMC               Type = "CabinetBMC"
	CabinetPDUController     Type = "CabinetPDUController"
	CabinetPDU               Type = "CabinetPDU"
	CabinetPDUNic            Type = "CabinetPDUNic"
	CabinetPDUOutlet         Type = "CabinetPDUOutlet"
	CabinetPDUPowerConnector Type = "CabinetPDUPowerConnector"
	Chassis                  Type = "Chassis"
	ChassisBMC               Type = "ChassisBMC"
	ChassisBMCNic            Type = "ChassisBMCNic"
	CMMRectifier             Type = "CMMRectifier"
	CMMFpga                  Type = "CMMFpga"
	CEC                      Type = "CEC"
	ComputeModule            Type = "ComputeModule"
	RouterModule             Type = "RouterModule"
	NodeBMC                  Type = "NodeBMC"
	NodeBMCNic               Type = "NodeBMCNic"
	NodeEnclosure            Type = "NodeEnclosure"
	NodeEnclosurePowerSupply Type = "NodeEnclosurePowerSupply"
	NodePowerConnector       Type = "NodePowerConnector"
	Node                     Type = "Node"
	VirtualNode              Type = "VirtualNode"
	Processor                Type = "Processor"
	StorageGroup             Type = "StorageGroup"
	Drive                    Type = "Drive"
	NodeNic                  Type = "NodeNic"
	NodeHsnNic               Type = "NodeHsnNic"
	Memory                   Type = "Memory"
	NodeAccelerator          Type = "NodeAccel"
	NodeAccelRiser           Type = "NodeAccelRiser"
	NodeFpga                 Type = "NodeFpga"
	HSNAsic                  Type = "HSNAsic"
	RouterFpga               Type = "RouterFpga"
	RouterTOR                Type = "RouterTOR"
	RouterTORFpga            Type = "RouterTORFpga"
	RouterBMC                Type = "RouterBMC"
	RouterBMCNic             Type = "RouterBMCNic"
	RouterPowerConnector     Type = "RouterPowerConnector"
	HSNBoard                 Type = "HSNBoard"
	HSNLink                  Type = "HSNLink"
	HSNConnector             Type = "HSNConnector"
	HSNConnectorPort         Type = "HSNConnectorPort"
	MgmtSwitch               Type = "MgmtSwitch"
	MgmtHLSwitchEnclosure    Type = "MgmtHLSwitchEnclosure"
	MgmtHLSwitch             Type = "MgmtHLSwitch"
	MgmtSwitchConnector      Type = "MgmtSwitchConnector"
	SMSBox                   Type = "SMSBox"
	Partition                Type = "Partition"
)

// Prefixes of the patterns below: cabinet, chassis, slot, BMC, node.
const (
	cab  = `x\d{1,4}`
	cha  = cab + `c[0-7]`
	slot = cha + `s\d+`
	bmc  = slot + `b\d+`
	node = bmc + `n\d+`
	rtr  = cha + `r\d+`
	pdu  = cab + `m[0-3]`
	pos  = `[1-9]\d*` // a connector or switch number: no 0
)

// patterns are hms-xname's recognition table (the number ranges its regexes allow),
// plus VirtualNode (x…n<N>v<N>) of later hms-xname releases. They are disjoint.
var patterns = []struct {
	t  Type
	re *regexp.Regexp
}{
	{Node, re(node)},
	{NodeBMC, re(bmc)},
	{VirtualNode, re(node + `v\d+`)},
	{NodeBMCNic, re(bmc + `i[0-3]`)},
	{NodeNic, re(node + `i[0-3]`)},
	{NodeHsnNic, re(node + `h[0-3]`)},
	{NodeAccelerator, re(node + `a\d+`)},
	{NodeAccelRiser, re(node + `r[0-7]`)},
	{Memory, re(node + `d\d+`)},
	{Processor, re(node + `p[0-3]`)},
	{StorageGroup, re(node + `g\d+`)},
	{Drive, re(node + `g\d+k\d+`)},
	{NodeFpga, re(bmc + `f0`)},
	{NodeEnclosure, re(slot + `e\d+`)},
	{NodeEnclosurePowerSupply, re(slot + `e\d+t\d+`)},
	{NodePowerConnector, re(slot + `[jv][1-2]`)},
	{ComputeModule, re(slot)},
	{RouterModule, re(rtr)},
	{RouterBMC, re(rtr + `b\d+`)},
	{RouterBMCNic, re(rtr + `b\d+i[0-3]`)},
	{RouterFpga, re(rtr + `f[01]`)},
	{RouterTOR, re(rtr + `t\d+`)},
	{RouterTORFpga, re(rtr + `t\d+f[01]`)},
	{RouterPowerConnector, re(rtr + `v[1-2]`)},
	{HSNBoard, re(rtr + `e\d+`)},
	{HSNAsic, re(rtr + `a[0-3]`)},
	{HSNLink, re(rtr + `a[0-3]l\d+`)},
	{HSNConnector, re(rtr + `j` + pos)},
	{HSNConnectorPort, re(rtr + `j` + pos + `p[012]`)},
	{ChassisBMC, re(cha + `b0`)},
	{ChassisBMCNic, re(cha + `b0i[0-3]`)},
	{CMMFpga, re(cha + `f0`)},
	{CMMRectifier, re(cha + `t\d`)},
	{MgmtSwitch, re(cha + `w` + pos)},
	{MgmtSwitchConnector, re(cha + `w` + pos + `j` + pos)},
	{MgmtHLSwitchEnclosure, re(cha + `h` + pos)},
	{MgmtHLSwitch, re(cha + `h` + pos + `s[1-9]`)},
	{Chassis, re(cha)},
	{CabinetPDUController, re(pdu)},
	{CabinetPDU, re(pdu + `p[0-7]`)},
	{CabinetPDUNic, re(pdu + `i[0-3]`)},
	{CabinetPDUOutlet, re(pdu + `p[0-7]j` + pos)},
	{CabinetPDUPowerConnector, re(pdu + `p[0-7]v` + pos)},
	{CabinetCDU, re(cab + `d[01]`)},
	{CabinetBMC, re(cab + `b0`)},
	{CEC, re(cab + `e[01]`)},
	{Cabinet, re(cab)},
	{CDU, re(`d\d+`)},
	{CDUMgmtSwitch, re(`d\d+w\d+`)},
	{SMSBox, re(`sms\d+`)},
	{Partition, re(`p\d+(\.\d+)?`)},
}

func re(pattern string) *regexp.Regexp { return regexp.MustCompile("^" + pattern + "$") }

// Types lists every HMS type an xname can have, in the order of the table above.
func Types() []Type {
	out := make([]Type, len(patterns))
	for i, p := range patterns {
		out[i] = p.t
	}
	return out
}

var numberRun = regexp.MustCompile(`\d+`)

// Normalize lowercases id, trims surrounding space and strips leading zeros from every
// number run ("x03000c00s01b0n0" → "x3000c0s1b0n0"). It does not validate.
func Normalize(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	return numberRun.ReplaceAllStringFunc(id, func(run string) string {
		trimmed := strings.TrimLeft(run, "0")
		if trimmed == "" {
			return "0"
		}
		return trimmed
	})
}

// TypeOf returns the HMS type of a normalized xname, or Invalid.
func TypeOf(id string) Type {
	for _, p := range patterns {
		if p.re.MatchString(id) {
			return p.t
		}
	}
	return Invalid
}

// Valid reports whether id, once normalized, is a known xname.
func Valid(id string) bool { return TypeOf(Normalize(id)) != Invalid }

// Parse normalizes id and checks it is a valid xname; the error names the bad input.
func Parse(id string) (string, Type, error) {
	n := Normalize(id)
	t := TypeOf(n)
	if t == Invalid {
		return "", Invalid, fmt.Errorf("invalid xname %q", id)
	}
	return n, t, nil
}

// Parent normalizes id (case, space, leading zeros) and drops the last token (trailing
// digits, then trailing letters), so the parent of node x1000c0s0b0n1 (or X1000C0S0B0N1)
// is its BMC x1000c0s0b0. A cabinet has no parent ("").
func Parent(id string) string {
	id = Normalize(id)
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	for i > 0 && id[i-1] >= 'a' && id[i-1] <= 'z' {
		i--
	}
	if i == 0 {
		return ""
	}
	return id[:i]
}

// BMCOf returns the BMC xname of a node xname (x3000c0s1b0n0 → x3000c0s1b0).
func BMCOf(node string) (string, error) {
	if TypeOf(node) != Node {
		return "", fmt.Errorf("%q is not a node xname", node)
	}
	return Parent(node), nil
}
