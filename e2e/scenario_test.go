package e2e

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// TestScenario runs the scripts in testdata/scenarios (the language is in doc.go): each
// once per backend, in its own bubble, against the whole stack. `go test ./e2e -run
// Scenario -rewrite` rewrites the expected outputs; review the diff. With -short (CI's
// race detector stage) each script runs on one backend, the backends taken in turn in
// the scripts' order: the same orchestrator code twice costs the race detector minutes,
// and each backend still runs scripts of its own.
func TestScenario(t *testing.T) {
	script := 0
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		pinned, why := pinnedBackend(t, path), "the script runs on %s only"
		if pinned == "" && testing.Short() {
			pinned, why = storetest.Backends[script%len(storetest.Backends)], "-short: the script runs on %s, the backends in turn"
		}
		script++
		for _, b := range storetest.Backends {
			t.Run(b, func(t *testing.T) {
				if pinned != "" && pinned != b {
					t.Skipf(why, pinned)
				}
				if b == storetest.Redis { // skips here, outside the bubble, when there is no Redis
					storetest.Open(t, b, store.Config{})
				}
				bubble(t, func(t *testing.T) {
					s := &scenario{backend: b, byAlias: map[string]string{}}
					datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
						return s.run(t, d)
					})
				})
			})
		}
	})
}

// pinnedBackend is the backend argument of the script's cluster command, if any.
func pinnedBackend(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if cmd, args, err := datadriven.ParseLine(line); err == nil && cmd == "cluster" {
			for _, a := range args {
				if a.Key == "backend" && len(a.Vals) == 1 {
					return a.Vals[0]
				}
			}
			return ""
		}
	}
	return ""
}

// scenario is one script's state: the cluster it started and the sessions it created.
type scenario struct {
	backend string
	c       *cluster
	// byAlias maps the script's session names to BOS's; unnamed sessions get s1, s2...
	byAlias map[string]string
	aliases []string // in creation order
}

// scenarioCmd is one command: its handler and a line of help (doc.go has the details).
type scenarioCmd struct {
	run  func(s *scenario, t *testing.T, d *datadriven.TestData) string
	help string
}

var scenarioCmds map[string]scenarioCmd

func init() { // a table that refers to its own handlers' package-level functions
	scenarioCmds = map[string]scenarioCmd{
		"cluster":     {cmdCluster, "nodes=N [backend=B] [power=redfish|pcs] [faults=(fault=rate,...)] [cfs-fail=NODES] [options=(k=v,...)]"},
		"template":    {cmdTemplate, "name=T [image=IMAGE] [config=C]"},
		"session":     {cmdSession, "op=OP [name=S] [template=T] [limit=NODES] [stage] [takeover]"},
		"wait":        {cmdWait, "session=S [until=complete|setup|staged] [timeout=D]"},
		"sleep":       {cmdSleep, "D"},
		"status":      {cmdStatus, "session=S"},
		"sessions":    {cmdSessions, ""},
		"components":  {cmdComponents, "[nodes=NODES] [status=ST] [by=(field,...)] [list]"},
		"nodes":       {cmdNodes, "[nodes=NODES] [status=ST] [by=(field,...)] [list]"},
		"booted":      {cmdBooted, "[nodes=NODES] [status=ST] [config=C]"},
		"fault":       {cmdFault, "set|clear on=NODES fault=F"},
		"faults":      {cmdFaults, ""},
		"applystaged": {cmdApplyStaged, "nodes=NODES"},
		"transitions": {cmdTransitions, ""},
	}
}

func (s *scenario) run(t *testing.T, d *datadriven.TestData) string {
	cmd, ok := scenarioCmds[d.Cmd]
	if !ok {
		names := make([]string, 0, len(scenarioCmds))
		for n := range scenarioCmds {
			names = append(names, n)
		}
		sort.Strings(names)
		d.Fatalf(t, "unknown command %q; commands: %s", d.Cmd, strings.Join(names, ", "))
	}
	if s.c == nil && d.Cmd != "cluster" {
		d.Fatalf(t, "%s before cluster", d.Cmd)
	}
	if s.c != nil {
		s.c.t = t
	}
	return s.normalise(cmd.run(s, t, d))
}

// normalise replaces BOS's session names by the script's.
func (s *scenario) normalise(out string) string {
	for _, alias := range s.aliases {
		if name := s.byAlias[alias]; name != alias {
			out = strings.ReplaceAll(out, name, alias)
		}
	}
	return out
}

// session resolves the script's session name.
func (s *scenario) session(t *testing.T, d *datadriven.TestData) string {
	var alias string
	d.ScanArgs(t, "session", &alias)
	name, ok := s.byAlias[alias]
	if !ok {
		d.Fatalf(t, "no session %q in this script", alias)
	}
	return name
}

// arg returns the values of key joined with commas ("" when absent): a node list may be
// written nodes=a,b or nodes=(a, b).
func arg(d *datadriven.TestData, key string) string {
	a, ok := d.Arg(key)
	if !ok {
		return ""
	}
	return strings.Join(a.Vals, ",")
}

func argOr(d *datadriven.TestData, key, def string) string {
	if v := arg(d, key); v != "" {
		return v
	}
	return def
}

// nodes expands a node list: comma-separated xnames, all (every simulated node) and
// ranges of the compute nodes in xname order, computes (all), computes[i], computes[a:b] and computes[a:b:step] (a or b
// may be left out, as in Go and Python). A leading ! or & (BOS limit syntax) is kept.
func (s *scenario) nodes(t *testing.T, spec string) []string {
	var out []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "all" {
			for _, n := range s.c.st.Sim.Nodes() {
				out = append(out, n.Xname)
			}
			continue
		}
		prefix := item[:len(item)-len(strings.TrimLeft(item, "!&"))]
		ids, err := expandComputes(s.c.computes, item[len(prefix):])
		if err != nil {
			t.Fatalf("node list %q: %v", spec, err)
		}
		for _, id := range ids {
			out = append(out, prefix+id)
		}
	}
	return out
}

func expandComputes(computes []string, item string) ([]string, error) {
	rest, ok := strings.CutPrefix(item, "computes")
	if !ok {
		return []string{item}, nil
	}
	if rest == "" {
		return computes, nil
	}
	inner, ok := strings.CutPrefix(rest, "[")
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return nil, fmt.Errorf("%q: want computes[i] or computes[a:b(:step)]", item)
	}
	parts := strings.Split(inner, ":")
	bound := func(s string, def int) (int, error) {
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > len(computes) {
			return 0, fmt.Errorf("%q: index %q outside 0..%d", item, s, len(computes))
		}
		return n, nil
	}
	if len(parts) == 1 {
		i, err := bound(parts[0], -1)
		if err != nil || i >= len(computes) {
			return nil, fmt.Errorf("%q: no such compute node", item)
		}
		return computes[i : i+1], nil
	}
	lo, err := bound(parts[0], 0)
	if err != nil {
		return nil, err
	}
	hi, err := bound(parts[1], len(computes))
	if err != nil {
		return nil, err
	}
	step := 1
	if len(parts) == 3 {
		if step, err = strconv.Atoi(parts[2]); err != nil || step < 1 {
			return nil, fmt.Errorf("%q: bad step", item)
		}
	}
	var out []string
	for i := lo; i < hi; i += step {
		out = append(out, computes[i])
	}
	return out, nil
}

// imageName names the seeded image whose id the artifact path holds: "none" when empty.
func imageName(path string) string {
	if path == "" {
		return "none"
	}
	for _, name := range []string{ims.ImageCompute, ims.ImageComputeNext, ims.ImageComputeARM, ims.ImageComputeNextARM} {
		if strings.Contains(path, ims.ImageID(name)) {
			return name
		}
	}
	return "other"
}

// groups prints "key: count" lines sorted by key.
func groups(keys []string) string {
	counts := map[string]int{}
	for _, k := range keys {
		counts[k]++
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "%s: %d\n", k, counts[k])
	}
	return b.String()
}

// pct prints a percentage without trailing zeros.
func pct(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) + "%" }
