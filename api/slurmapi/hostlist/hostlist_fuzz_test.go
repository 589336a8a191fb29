package hostlist

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzExpand: an expression either fails with ErrSyntax or expands to at most MaxHosts
// names free of separators and brackets, and compressing those names (in given or sorted
// order) expands back to exactly them: Expand∘Compress is the identity on Expand's output.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"nid00000[6-7]", "nid[000001-000003,000010]", "a[1-2]b[3-4]", "nid[098-101]",
		"nid[8-11],uan01", "nid[1-999999999]", "nid[1-2", "a]b", "a[1]b", "x[]", "n[3-1]", "9,10,010",
		"a1 a2\ta3\na4", "n[000000000000000001-000000000000000003]", "n1234567890123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := Expand(expr)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Expand(%q) error %v does not wrap ErrSyntax", expr, err)
			}
			return
		}
		if len(names) > MaxHosts {
			t.Fatalf("Expand(%q) gave %d names, more than MaxHosts", expr, len(names))
		}
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, "[], \t\n") {
				t.Fatalf("Expand(%q) gave name %q", expr, n)
			}
		}
		if len(names) > 4096 {
			return // the round trip below is quadratic in places; large lists add nothing
		}
		roundTrip(t, Compress(names), names)
		roundTrip(t, CompressSorted(names), Sort(names))
	})
}

// FuzzCompress: any list of names a hostlist can hold (no separators or brackets)
// compresses to an expression that expands back to the same list.
func FuzzCompress(f *testing.F) {
	for _, s := range []string{"nid000001,nid000002,nid000004", "a9,a10,a010", "x1,x01,x001", "9,10", "a,a1,a", "n0,n18446744073709551615,n1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		var names []string
		for _, n := range strings.Split(list, ",") {
			if n != "" && !strings.ContainsAny(n, "[] \t\n") {
				names = append(names, n)
			}
		}
		roundTrip(t, Compress(names), names)
		roundTrip(t, CompressSorted(names), Sort(names))
	})
}

func roundTrip(t *testing.T, compressed string, want []string) {
	t.Helper()
	got, err := Expand(compressed)
	if err != nil {
		t.Fatalf("compressed form %q of %q does not expand: %v", compressed, want, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("compressed form %q of %q expands to %q", compressed, want, got)
	}
}
