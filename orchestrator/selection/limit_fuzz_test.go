package selection_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cray-bos/bos/orchestrator/selection"
)

// FuzzApplyLimit: a limit fails exactly when one of its items is empty; otherwise the
// result is a sorted, duplicate-free subset of the boot set, and appending an item acts as
// documented: ",all" gives the whole boot set, ",!all" nothing, ",&all" changes nothing.
func FuzzApplyLimit(f *testing.F) {
	for _, s := range []string{"", "all", "*", "g", "all,!g", "g,&p1", "!x1n0", "&g", "X01N01", "x1000c0s0b0n0,x1000c0s1b0n0",
		"all,,g", "g,", "&", " ! g ", "p1,Compute,!x1n2"} {
		f.Add(s)
	}
	bootSet := []string{"x1n0", "x1n1", "x1n2", "x1n3", "x1n4", "x1n1", "x1000c0s0b0n0"}
	want := []string{"x1000c0s0b0n0", "x1n0", "x1n1", "x1n2", "x1n3", "x1n4"}
	names := map[string][]string{"g": {"x1n0", "x1n1", "x9n9"}, "p1": {"x1n1", "x1n2"}, "Compute": {"x1n2", "x1n3"}}
	resolve := func(name string) ([]string, bool) { m, ok := names[name]; return m, ok }

	f.Fuzz(func(t *testing.T, limit string) {
		got, err := selection.ApplyLimit(limit, bootSet, resolve)
		emptyItem := false
		for _, item := range strings.Split(limit, ",") {
			item = strings.TrimSpace(item)
			if item != "" && (item[0] == '&' || item[0] == '!') {
				item = strings.TrimSpace(item[1:])
			}
			emptyItem = emptyItem || item == ""
		}
		if limit == "" {
			emptyItem = false
		}
		if (err != nil) != emptyItem {
			t.Fatalf("ApplyLimit(%q) error %v; has an empty item: %v", limit, err, emptyItem)
		}
		if err != nil {
			return
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("ApplyLimit(%q) = %q: not sorted and unique", limit, got)
		}
		for _, id := range got {
			if !slices.Contains(bootSet, id) {
				t.Fatalf("ApplyLimit(%q) = %q selects %q outside the boot set", limit, got, id)
			}
		}
		for suffix, wantAfter := range map[string][]string{",all": want, ",!all": {}, ",&all": got} {
			after, err := selection.ApplyLimit(limit+suffix, bootSet, resolve)
			if limit == "" {
				continue // ",x" starts with an empty item
			}
			if err != nil || !slices.Equal(after, wantAfter) {
				t.Fatalf("ApplyLimit(%q) = %q, %v; want %q", limit+suffix, after, err, wantAfter)
			}
		}
	})
}
