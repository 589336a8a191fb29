// Package hostlist expands and compresses Slurm host lists (nid00000[6-7],
// nid[000001-000003,000010], a[1-2]b[3-4]) the way Slurm 22.05's scontrol does with
// `show hostnames`, `show hostlist` and `show hostlistsorted`.
//
// Deviation: Slurm accepts an unclosed bracket ("nid[1-2") and mangles it; Expand rejects
// it. Everything else follows the reference behaviour, including the quirks that matter to
// callers: zero padding comes from the written lower bound, duplicates are kept, and
// Compress keeps input order (CompressSorted sorts without removing duplicates).
package hostlist

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Docstring explains the syntax; commands reuse it in their help text.
const Docstring = `Node lists use Slurm hostlist syntax: names separated by commas (or spaces), each
optionally carrying bracketed numeric ranges, e.g. nid00000[6-7], nid[000001-000003,000010],
nid[1-3],uan01. Zero padding follows the written lower bound (nid[098-101] gives nid098 to
nid101, nid[8-11] gives nid8 to nid11); two bracket groups multiply (a[1-2]b[3-4] gives a1b3
a1b4 a2b3 a2b4). Ranges must ascend and be numeric, and no text may follow the last bracket.`

// MaxHosts bounds one expansion, so a typo such as nid[1-999999999] fails instead of
// exhausting memory.
const MaxHosts = 1 << 20

// ErrSyntax is wrapped by every Expand error.
var ErrSyntax = errors.New("invalid hostlist")

// Expand returns every host name of a hostlist expression, in written order, duplicates
// kept. An empty expression expands to no names.
func Expand(expr string) ([]string, error) {
	items, err := splitTop(expr)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, item := range items {
		names, err := expandItem(item, MaxHosts-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
	}
	return out, nil
}

// MustExpand is Expand for constant expressions in tests and examples; it panics on error.
func MustExpand(expr string) []string {
	names, err := Expand(expr)
	if err != nil {
		panic(err)
	}
	return names
}

// splitTop splits at commas and spaces outside brackets, dropping empty items.
func splitTop(expr string) ([]string, error) {
	var items []string
	depth, start := 0, 0
	flush := func(end int) {
		if item := expr[start:end]; item != "" {
			items = append(items, item)
		}
		start = end + 1
	}
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '[':
			if depth > 0 {
				return nil, fmt.Errorf("%w: nested '[' in %q", ErrSyntax, expr)
			}
			depth++
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("%w: unmatched ']' in %q", ErrSyntax, expr)
			}
			depth--
		case ',', ' ', '\t', '\n':
			if depth == 0 {
				flush(i)
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: unclosed '[' in %q", ErrSyntax, expr)
	}
	flush(len(expr))
	return items, nil
}

// expandItem expands one item: literal text and bracket groups, the last thing written
// being a bracket group or the item having none.
func expandItem(item string, budget int) ([]string, error) {
	names := []string{""}
	rest := item
	for rest != "" {
		open := strings.IndexByte(rest, '[')
		if open < 0 {
			if len(names) > 1 || strings.Contains(item, "[") {
				return nil, fmt.Errorf("%w: text %q after the last bracket in %q", ErrSyntax, rest, item)
			}
			for i := range names {
				names[i] += rest
			}
			break
		}
		closing := strings.IndexByte(rest, ']') // splitTop guaranteed it exists after open
		literal, ranges := rest[:open], rest[open+1:closing]
		rest = rest[closing+1:]
		nums, err := expandRanges(ranges, item)
		if err != nil {
			return nil, err
		}
		if len(names)*len(nums) > budget {
			return nil, fmt.Errorf("%w: %q expands to more than %d names", ErrSyntax, item, MaxHosts)
		}
		next := make([]string, 0, len(names)*len(nums))
		for _, n := range names {
			for _, num := range nums {
				next = append(next, n+literal+num)
			}
		}
		names = next
	}
	return names, nil
}

// expandRanges turns "1-3,07" into "1","2","3","07"; width is the written lower bound's.
func expandRanges(spec, item string) ([]string, error) {
	if spec == "" {
		return nil, fmt.Errorf("%w: empty brackets in %q", ErrSyntax, item)
	}
	var out []string
	for _, r := range strings.Split(spec, ",") {
		loS, hiS, isRange := strings.Cut(r, "-")
		if !isRange {
			hiS = loS
		}
		lo, err1 := parseNum(loS)
		hi, err2 := parseNum(hiS)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: range %q in %q is not numeric", ErrSyntax, r, item)
		}
		if hi < lo {
			return nil, fmt.Errorf("%w: range %q in %q descends", ErrSyntax, r, item)
		}
		if hi-lo >= MaxHosts || len(out)+int(hi-lo) >= MaxHosts {
			return nil, fmt.Errorf("%w: %q expands to more than %d names", ErrSyntax, item, MaxHosts)
		}
		width := len(loS)
		for n := lo; n <= hi; n++ {
			out = append(out, pad(n, width))
		}
	}
	return out, nil
}

// parseNum accepts 1 to 18 decimal digits (no sign), so values never overflow.
func parseNum(s string) (uint64, error) {
	if s == "" || len(s) > 18 {
		return 0, ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

func pad(n uint64, width int) string {
	s := strconv.FormatUint(n, 10)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// hostRange is Slurm's unit of compression: prefix plus lo..hi printed with width digits,
// or a name without a numeric suffix (single).
type hostRange struct {
	prefix string
	lo, hi uint64
	width  int
	single bool // no numeric suffix: the whole name is prefix
}

// parseHost splits a name into prefix and trailing number (at most 18 digits, so a
// longer digit run stays part of the prefix).
func parseHost(name string) hostRange {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' && len(name)-i < 18 {
		i--
	}
	if i == len(name) || (i > 0 && name[i-1] >= '0' && name[i-1] <= '9') {
		return hostRange{prefix: name, single: true}
	}
	n, _ := strconv.ParseUint(name[i:], 10, 64)
	return hostRange{prefix: name[:i], lo: n, hi: n, width: len(name) - i}
}

// zeroPadded is how many leading zeros n gets when printed in width digits.
func zeroPadded(n uint64, width int) int {
	if d := len(strconv.FormatUint(n, 10)); width > d {
		return width - d
	}
	return 0
}

// widthEquiv says whether numbers n (written in *wn digits) and m (in *wm) can share one
// range, adjusting one width to the other when they can (Slurm's rule: 9 and 10 can, 1 and
// 01 cannot).
func widthEquiv(n uint64, wn *int, m uint64, wm *int) bool {
	if *wn == *wm {
		return true
	}
	npad, nmpad := zeroPadded(n, *wn), zeroPadded(n, *wm)
	mpad, mnpad := zeroPadded(m, *wm), zeroPadded(m, *wn)
	switch {
	case npad != nmpad && mpad != mnpad:
		return false
	case npad != nmpad:
		*wm = *wn
		return true
	default:
		*wn = *wm
		return true
	}
}

// push appends host h to ranges, extending the last range when h directly follows it.
func push(ranges []hostRange, h hostRange) []hostRange {
	if k := len(ranges); k > 0 {
		last := &ranges[k-1]
		if !last.single && !h.single && last.prefix == h.prefix && last.hi+1 == h.lo {
			wn, wm := last.width, h.width
			if widthEquiv(last.lo, &wn, h.lo, &wm) { // Slurm compares the range's lower bound
				last.width = wn
				last.hi = h.hi
				return ranges
			}
		}
	}
	return append(ranges, h)
}

// Compress returns the ranged form of names in their given order, like
// `scontrol show hostlist`: nid000001,nid000002,nid000004 gives nid[000001-000002,000004].
func Compress(names []string) string {
	var ranges []hostRange
	for _, n := range names {
		ranges = push(ranges, parseHost(n))
	}
	return format(ranges)
}

// CompressSorted is Compress after sorting by prefix then number, like
// `scontrol show hostlistsorted`; duplicates are kept.
func CompressSorted(names []string) string {
	hosts := make([]hostRange, len(names))
	for i, n := range names {
		hosts[i] = parseHost(n)
	}
	sort.SliceStable(hosts, func(i, j int) bool { return less(hosts[i], hosts[j]) })
	var ranges []hostRange
	for _, h := range hosts {
		ranges = push(ranges, h)
	}
	return format(ranges)
}

// less orders hosts as Slurm's hostlist_sort does: by prefix, names without a number
// first, then by number among compatible widths and by width otherwise.
func less(a, b hostRange) bool {
	if a.prefix != b.prefix {
		return a.prefix < b.prefix
	}
	if a.single != b.single {
		return a.single
	}
	wa, wb := a.width, b.width
	if widthEquiv(a.lo, &wa, b.lo, &wb) {
		return a.lo < b.lo
	}
	return a.width < b.width
}

// Sort returns names in CompressSorted order.
func Sort(names []string) []string {
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return less(parseHost(out[i]), parseHost(out[j])) })
	return out
}

// format prints ranges, grouping consecutive numeric ranges of one prefix in one bracket
// pair; a group holding a single host is printed without brackets.
func format(ranges []hostRange) string {
	var b strings.Builder
	for i := 0; i < len(ranges); {
		if i > 0 {
			b.WriteByte(',')
		}
		r := ranges[i]
		if r.single {
			b.WriteString(r.prefix)
			i++
			continue
		}
		j := i + 1
		for j < len(ranges) && !ranges[j].single && ranges[j].prefix == r.prefix {
			j++
		}
		b.WriteString(r.prefix)
		if j == i+1 && r.lo == r.hi {
			b.WriteString(pad(r.lo, r.width))
			i = j
			continue
		}
		b.WriteByte('[')
		for k := i; k < j; k++ {
			if k > i {
				b.WriteByte(',')
			}
			b.WriteString(pad(ranges[k].lo, ranges[k].width))
			if ranges[k].hi != ranges[k].lo {
				b.WriteByte('-')
				b.WriteString(pad(ranges[k].hi, ranges[k].width))
			}
		}
		b.WriteByte(']')
		i = j
	}
	return b.String()
}
