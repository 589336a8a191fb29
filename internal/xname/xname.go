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

// The HMS types this project uses.
const (
	Invalid         Type = ""
	Cabinet         Type = "Cabinet"
	Chassis         Type = "Chassis"
	ChassisBMC      Type = "ChassisBMC"
	ComputeModule   Type = "ComputeModule"
	NodeBMC         Type = "NodeBMC"
	Node            Type = "Node"
	NodeBMCNic      Type = "NodeBMCNic"
	RouterModule    Type = "RouterModule"
	RouterBMC       Type = "RouterBMC"
	Partition       Type = "Partition"
	HSNBoard        Type = "HSNBoard"
	CabinetPDU      Type = "CabinetPDUController"
	MgmtSwitch      Type = "MgmtSwitch"
	MgmtHLSwitch    Type = "MgmtHLSwitch"
	NodeEnclosure   Type = "NodeEnclosure"
	NodeAccelerator Type = "NodeAccel"
)

var patterns = []struct {
	t  Type
	re *regexp.Regexp
}{
	{Node, regexp.MustCompile(`^x\d{1,4}c\d+s\d+b\d+n\d+$`)},
	{NodeBMC, regexp.MustCompile(`^x\d{1,4}c\d+s\d+b\d+$`)},
	{NodeBMCNic, regexp.MustCompile(`^x\d{1,4}c\d+s\d+b\d+i\d+$`)},
	{NodeAccelerator, regexp.MustCompile(`^x\d{1,4}c\d+s\d+b\d+n\d+a\d+$`)},
	{NodeEnclosure, regexp.MustCompile(`^x\d{1,4}c\d+s\d+e\d+$`)},
	{ComputeModule, regexp.MustCompile(`^x\d{1,4}c\d+s\d+$`)},
	{RouterBMC, regexp.MustCompile(`^x\d{1,4}c\d+r\d+b\d+$`)},
	{RouterModule, regexp.MustCompile(`^x\d{1,4}c\d+r\d+$`)},
	{ChassisBMC, regexp.MustCompile(`^x\d{1,4}c\d+b\d+$`)},
	{MgmtSwitch, regexp.MustCompile(`^x\d{1,4}c\d+w\d+$`)},
	{MgmtHLSwitch, regexp.MustCompile(`^x\d{1,4}c\d+h\d+s\d+$`)},
	{CabinetPDU, regexp.MustCompile(`^x\d{1,4}m\d+$`)},
	{Chassis, regexp.MustCompile(`^x\d{1,4}c\d+$`)},
	{Cabinet, regexp.MustCompile(`^x\d{1,4}$`)},
	{Partition, regexp.MustCompile(`^p\d+(\.\d+)?$`)},
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
