package conformance

import "testing"

// TestLoad: every document loads, routes, and has operations.
func TestLoad(t *testing.T) {
	for _, name := range []string{BOSv2, BOSv1, HSM, BSS, CFS, IMS, PCS} {
		s, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Operations()) == 0 {
			t.Errorf("%s: no operations", name)
		}
		t.Logf("%s: %s, %d operations", name, s.Base, len(s.Operations()))
	}
}
