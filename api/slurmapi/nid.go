package slurmapi

import (
	"strconv"
	"strings"
)

// NIDOf reads the NID of a Cray node name: "nid" and digits (nid000042 → 42), in any case.
func NIDOf(name string) (int, bool) {
	digits, ok := strings.CutPrefix(strings.ToLower(name), "nid")
	if !ok || digits == "" {
		return 0, false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	nid, err := strconv.Atoi(digits)
	return nid, err == nil && nid > 0
}
