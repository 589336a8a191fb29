package xname

import (
	"strings"
	"testing"
)

// FuzzXname: Normalize is idempotent; Valid, Parse and TypeOf agree; a valid name's parent
// is a prefix of it, and a node's BMC is its parent and a NodeBMC.
func FuzzXname(f *testing.F) {
	for _, s := range []string{"x3000c0s1b0n0", "X03000C00S01B0N0", " x1000c0s0b0 ", "p0.1", "x1c0r1b0",
		"x3000m0", "x1000c0s0b0n0a1", "ncn-w001", "x1\nx2", "x99999c0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", s, n, again)
		}
		typ := TypeOf(n)
		if Valid(s) != (typ != Invalid) {
			t.Fatalf("Valid(%q) = %v but TypeOf(%q) = %q", s, Valid(s), n, typ)
		}
		p, pt, err := Parse(s)
		if (err == nil) != (typ != Invalid) {
			t.Fatalf("Parse(%q) error %v, TypeOf %q", s, err, typ)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "invalid xname") {
				t.Fatalf("Parse(%q) error %q does not say what is wrong", s, err)
			}
			return
		}
		if p != n || pt != typ {
			t.Fatalf("Parse(%q) = %q, %q; want %q, %q", s, p, pt, n, typ)
		}
		if strings.ToLower(p) != p || strings.TrimSpace(p) != p || strings.ContainsAny(p, " \t\r\n") {
			t.Fatalf("valid %q is not lower-case and space-free", p)
		}
		parent := Parent(s)
		if !strings.HasPrefix(n, parent) || len(parent) >= len(n) {
			t.Fatalf("Parent(%q) = %q is not a proper prefix of %q", s, parent, n)
		}
		if typ == Node {
			bmc, err := BMCOf(n)
			if err != nil || bmc != parent || TypeOf(bmc) != NodeBMC {
				t.Fatalf("BMCOf(%q) = %q, %v; parent %q", n, bmc, err, parent)
			}
		} else if _, err := BMCOf(n); err == nil {
			t.Fatalf("BMCOf(%q) of a %s succeeded", n, typ)
		}
	})
}
