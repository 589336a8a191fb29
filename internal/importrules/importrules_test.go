package importrules

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cray-bos/bos"

// simulatorServers are the packages that serve simulated services, and the launcher that
// starts them. Product code must reach the services only through api/... clients.
var simulatorServers = []string{"bss", "cfs", "hsm", "ims", "pcs", "simulator", "slurmsim", "internal/stack"}

// serving are the libraries of BOS's own server: its HTTP framework and its store.
var serving = []string{"github.com/gin-gonic/gin", "github.com/redis/go-redis/v9", "github.com/alicebob/miniredis/v2"}

// rule forbids every package matching a root pattern to depend on any package under one
// of forbidden (a path, or a path prefix ending in "/").
type rule struct {
	name      string
	roots     func(path string) bool
	forbidden []string
}

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

func ours(rel ...string) []string {
	out := make([]string, len(rel))
	for i, r := range rel {
		out[i] = module + "/" + r
	}
	return out
}

var rules = []rule{
	{
		name:      "BOS's product code imports no simulator server",
		roots:     func(p string) bool { return under(p, module+"/orchestrator") || under(p, module+"/slurmreboot") },
		forbidden: ours(simulatorServers...),
	},
	{
		name:      "the service API packages hold no server",
		roots:     func(p string) bool { return under(p, module+"/api") },
		forbidden: append(ours(append(slices.Clone(simulatorServers), "orchestrator/api", "orchestrator/store")...), serving...),
	},
	{
		name:      "bos slurm-reboot links neither gin nor go-redis",
		roots:     func(p string) bool { return under(p, module+"/slurmreboot") },
		forbidden: serving,
	},
}

type pkg struct {
	ImportPath string
	Imports    []string
	DepOnly    bool
}

// listDeps runs `go list -deps -json` on the module's packages.
func listDeps(t *testing.T) map[string]pkg {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,DepOnly", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// violations returns, for each root package the rule covers, the import chain to the
// first forbidden package it reaches ("a -> b -> c"), shortest chains first.
func violations(pkgs map[string]pkg, r rule) []string {
	var out []string
	var roots []string
	for path, p := range pkgs {
		if !p.DepOnly && r.roots(path) {
			roots = append(roots, path)
		}
	}
	slices.Sort(roots)
	for _, root := range roots {
		parent := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			if slices.ContainsFunc(r.forbidden, func(f string) bool { return under(cur, f) }) {
				var chain []string
				for p := cur; p != ""; p = parent[p] {
					chain = append(chain, strings.TrimPrefix(p, module+"/"))
				}
				slices.Reverse(chain)
				out = append(out, strings.Join(chain, " -> "))
				break
			}
			for _, imp := range pkgs[cur].Imports {
				if _, seen := parent[imp]; !seen {
					parent[imp] = cur
					queue = append(queue, imp)
				}
			}
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	pkgs := listDeps(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			n := 0
			for path, p := range pkgs {
				if !p.DepOnly && r.roots(path) {
					n++
				}
			}
			if n == 0 {
				t.Fatal("the rule covers no package: its root pattern is stale")
			}
			for _, v := range violations(pkgs, r) {
				t.Errorf("forbidden import chain: %s", v)
			}
		})
	}
}

// TestViolationsNamesTheChain: a forbidden package reached through another is reported
// with the chain that reaches it.
func TestViolationsNamesTheChain(t *testing.T) {
	pkgs := map[string]pkg{
		module + "/orchestrator/a": {ImportPath: module + "/orchestrator/a", Imports: []string{"fmt", module + "/orchestrator/b"}},
		module + "/orchestrator/b": {ImportPath: module + "/orchestrator/b", Imports: []string{module + "/hsm"}},
		module + "/orchestrator/c": {ImportPath: module + "/orchestrator/c", Imports: []string{module + "/api/hsmapi"}},
		module + "/hsm":            {ImportPath: module + "/hsm", DepOnly: true},
		module + "/api/hsmapi":     {ImportPath: module + "/api/hsmapi", DepOnly: true},
		"fmt":                      {ImportPath: "fmt", DepOnly: true},
	}
	got := violations(pkgs, rules[0])
	want := []string{"orchestrator/a -> orchestrator/b -> hsm", "orchestrator/b -> hsm"}
	if !slices.Equal(got, want) {
		t.Fatalf("violations = %q, want %q", got, want)
	}
}
