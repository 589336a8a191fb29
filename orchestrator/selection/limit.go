package selection

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cray-bos/bos/internal/xname"
)

// ApplyLimit narrows a boot set's nodes by a session limit (reference 4.4, "Limit").
//
// An empty limit keeps every boot-set node. Otherwise the comma-separated items are
// applied left to right to a set that starts empty: an item prefixed "&" intersects,
// one prefixed "!" subtracts, any other item adds. The operand of an item is every
// boot-set node for "all" or "*", the members resolve returns for a group, partition or
// role name, and otherwise the item itself taken as an xname (normalised when it is
// one). The result is finally intersected with the boot-set nodes, so "!x" or "&g" as the
// first item selects nothing: limits should start with "all".
//
// Deviations from BOS: an empty item ("a,,b", a trailing comma, or an operator with no
// name after it such as "&") is an error naming its position, where BOS crashes the
// setup with an IndexError; surrounding spaces of an item are ignored.
//
// The result is sorted and free of duplicates. resolve must not be nil.
func ApplyLimit(limit string, bootSetNodes []string, resolve func(name string) ([]string, bool)) ([]string, error) {
	if limit == "" {
		return sortedSet(toSet(bootSetNodes)), nil
	}
	all := toSet(bootSetNodes)
	sel := map[string]struct{}{}
	for i, raw := range strings.Split(limit, ",") {
		item := strings.TrimSpace(raw)
		op := byte(0)
		if item != "" && (item[0] == '&' || item[0] == '!') {
			op, item = item[0], strings.TrimSpace(item[1:])
		}
		if item == "" {
			return nil, fmt.Errorf("limit %q: item %d is empty; items are comma-separated names, each optionally prefixed by '&' (intersect) or '!' (remove)", limit, i+1)
		}
		operand := limitOperand(item, all, resolve)
		switch op {
		case '&':
			for id := range sel {
				if _, ok := operand[id]; !ok {
					delete(sel, id)
				}
			}
		case '!':
			for id := range operand {
				delete(sel, id)
			}
		default:
			for id := range operand {
				sel[id] = struct{}{}
			}
		}
	}
	for id := range sel {
		if _, ok := all[id]; !ok {
			delete(sel, id)
		}
	}
	return sortedSet(sel), nil
}

// limitOperand is the node set one limit item names.
func limitOperand(item string, all map[string]struct{}, resolve func(string) ([]string, bool)) map[string]struct{} {
	if item == "all" || item == "*" {
		return all
	}
	if members, ok := resolve(item); ok {
		return toSet(members)
	}
	if xname.Valid(item) {
		item = xname.Normalize(item)
	}
	return map[string]struct{}{item: {}}
}

func toSet(ids []string) map[string]struct{} {
	s := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	return s
}

func sortedSet(s map[string]struct{}) []string {
	out := make([]string, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
