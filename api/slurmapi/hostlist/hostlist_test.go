package hostlist

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"", nil},
		{"nid000001", []string{"nid000001"}},
		{"nid00000[6-7]", []string{"nid000006", "nid000007"}},
		{"nid[000001-000003,000010]", []string{"nid000001", "nid000002", "nid000003", "nid000010"}},
		{"nid[1-3],foo,bar[7,9]", []string{"nid1", "nid2", "nid3", "foo", "bar7", "bar9"}},
		{"nid[098-101]", []string{"nid098", "nid099", "nid100", "nid101"}},
		{"nid[01-10]", []string{"nid01", "nid02", "nid03", "nid04", "nid05", "nid06", "nid07", "nid08", "nid09", "nid10"}},
		{"nid[8-11]", []string{"nid8", "nid9", "nid10", "nid11"}},
		{"a[1-2]b[3-4]", []string{"a1b3", "a1b4", "a2b3", "a2b4"}},
		{"nid1 nid2,,nid3", []string{"nid1", "nid2", "nid3"}},
		{"nid[1,1]", []string{"nid1", "nid1"}},
		{"[1-2]", []string{"1", "2"}},
		{"ncn-w001,x1000c0s0b0n[0-1]", []string{"ncn-w001", "x1000c0s0b0n0", "x1000c0s0b0n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := Expand(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestExpandErrors(t *testing.T) {
	for _, expr := range []string{
		"nid[1-3]x",          // text after the bracket
		"x3000c0s19b[1-4]n0", // the BOS CLI style is not a Slurm hostlist
		"nid[3-1]",           // descending
		"nid[a-b]",           // not numeric
		"nid[1-2",            // unclosed (Slurm mangles it; we refuse)
		"nid1-2]",            // unmatched
		"nid[[1]]",           // nested
		"nid[]",              // empty
		"nid[-3]",
		"nid[1-2-3]",
		"nid[1-9999999]", // more than MaxHosts names
		"a[1-2000]b[1-2000]",
	} {
		t.Run(expr, func(t *testing.T) {
			_, err := Expand(expr)
			require.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func TestCompress(t *testing.T) {
	tests := []struct {
		in           string // comma-separated names
		want, sorted string
	}{
		{"nid000001,nid000002,nid000004", "nid[000001-000002,000004]", "nid[000001-000002,000004]"},
		{"nid9,nid10,nid11", "nid[9-11]", "nid[9-11]"},
		{"nid1,nid01", "nid[1,01]", "nid[1,01]"},
		{"nid1,nid1", "nid[1,1]", "nid[1,1]"},
		{"b,a,nid3,nid1,nid2", "b,a,nid[3,1-2]", "a,b,nid[1-3]"},
		{"nid000006", "nid000006", "nid000006"},
		{"nid098,nid099,nid100,nid101", "nid[098-101]", "nid[098-101]"},
		{"nid2,uan01,nid1", "nid2,uan01,nid1", "nid[1-2],uan01"},
		{"x1000c0s0b0n0,x1000c0s0b0n1,x1000c0s0b1n0", "x1000c0s0b0n[0-1],x1000c0s0b1n0", "x1000c0s0b0n[0-1],x1000c0s0b1n0"},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var names []string
			if tt.in != "" {
				names = strings.Split(tt.in, ",")
			}
			assert.Equal(t, tt.want, Compress(names))
			assert.Equal(t, tt.sorted, CompressSorted(names))
			assert.Equal(t, names, MustExpand(Compress(names)), "round trip keeps order")
		})
	}
}

func TestSort(t *testing.T) {
	assert.Equal(t, []string{"a", "b", "nid1", "nid2", "nid10"}, Sort([]string{"nid10", "b", "nid2", "a", "nid1"}))
}

// group is one randomly generated bracket group: the oracle knows its names directly.
type group struct {
	prefix string
	ranges [][2]uint64
	width  int
}

func (g group) names() []string {
	var out []string
	for _, r := range g.ranges {
		for n := r[0]; n <= r[1]; n++ {
			out = append(out, g.prefix+pad(n, g.width))
		}
	}
	return out
}

func (g group) String() string {
	parts := make([]string, len(g.ranges))
	for i, r := range g.ranges {
		parts[i] = pad(r[0], g.width)
		if r[1] != r[0] {
			parts[i] += "-" + pad(r[1], g.width)
		}
	}
	return g.prefix + "[" + strings.Join(parts, ",") + "]"
}

// naiveCompress is the oracle for fixed-width names: join a name to the previous run when
// it has the same prefix and the next number, and group runs of one prefix.
func naiveCompress(names []string, width int) string {
	type run struct {
		prefix string
		lo, hi uint64
	}
	var runs []run
	for _, name := range names {
		prefix, num := name[:len(name)-width], name[len(name)-width:]
		n, _ := strconv.ParseUint(num, 10, 64)
		if k := len(runs); k > 0 && runs[k-1].prefix == prefix && runs[k-1].hi+1 == n {
			runs[k-1].hi = n
			continue
		}
		runs = append(runs, run{prefix, n, n})
	}
	var out []string
	for i := 0; i < len(runs); {
		j := i
		var parts []string
		for ; j < len(runs) && runs[j].prefix == runs[i].prefix; j++ {
			p := pad(runs[j].lo, width)
			if runs[j].hi != runs[j].lo {
				p += "-" + pad(runs[j].hi, width)
			}
			parts = append(parts, p)
		}
		if len(parts) == 1 && runs[i].lo == runs[i].hi {
			out = append(out, runs[i].prefix+parts[0])
		} else {
			out = append(out, runs[i].prefix+"["+strings.Join(parts, ",")+"]")
		}
		i = j
	}
	return strings.Join(out, ",")
}

// TestPropertyRoundTrip checks, on random expressions, Expand against the generator's own
// name list, Compress against the naive oracle (fixed widths) and Expand(Compress(x)) == x
// (any widths, including unpadded ones that cross a power of ten).
func TestPropertyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	prefixes := []string{"nid", "uan", "x1000c0s0b0n", ""}
	for iter := 0; iter < 5000; iter++ {
		fixed := iter%2 == 0
		var groups []group
		var want []string
		for g := rng.Intn(4); g >= 0; g-- {
			gr := group{prefix: prefixes[rng.Intn(len(prefixes))], width: 6}
			if !fixed {
				gr.width = 1 + rng.Intn(3)
			}
			max := uint64(1)
			for i := 0; i < gr.width; i++ {
				max *= 10
			}
			for r := rng.Intn(4); r >= 0; r-- {
				lo := uint64(rng.Int63n(int64(max)))
				if !fixed && rng.Intn(2) == 0 {
					lo = uint64(rng.Intn(20)) // small, often unpadded
				}
				hi := lo + uint64(rng.Intn(5))
				if fixed && hi >= max {
					hi = max - 1 // keep every name six digits for the oracle
				}
				gr.ranges = append(gr.ranges, [2]uint64{lo, hi})
			}
			groups = append(groups, gr)
			want = append(want, gr.names()...)
		}
		parts := make([]string, len(groups))
		for i, g := range groups {
			parts[i] = g.String()
		}
		expr := strings.Join(parts, ",")

		got, err := Expand(expr)
		require.NoError(t, err, expr)
		require.Equal(t, want, got, expr)

		compressed := Compress(got)
		require.Equal(t, want, MustExpand(compressed), "expr %s compressed %s", expr, compressed)
		if fixed {
			require.Equal(t, naiveCompress(got, 6), compressed, expr)
		}
		sorted := MustExpand(CompressSorted(got))
		require.ElementsMatch(t, want, sorted, expr)
		require.Equal(t, Sort(got), sorted, expr)
	}
}

func ExampleExpand() {
	names, _ := Expand("nid00000[6-7],uan01")
	fmt.Println(names)
	fmt.Println(Compress(names))
	// Output:
	// [nid000006 nid000007 uan01]
	// nid[000006-000007],uan01
}
