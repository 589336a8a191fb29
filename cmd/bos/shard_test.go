package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/ims"
	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/testwait"
	"github.com/cray-bos/bos/internal/topology"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

// process is a bos command running as its own process (the test binary running main).
type process struct {
	name   string
	cmd    *exec.Cmd
	stderr syncBuffer
	done   chan error
}

func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(os.Args[0], args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), reexecEnv+"=1")
	p.cmd.Stderr = &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() }) // if it never stopped
	return p
}

// waitFor waits until the process has written the URLs file at path, and reads it.
func (p *process) waitFor(t *testing.T, path string) stack.URLs {
	t.Helper()
	var u stack.URLs
	testwait.Until(t, p.name+" writes "+path, func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("%s ended: %v\n%s", p.name, err, p.stderr.String())
		default:
		}
		raw, err := os.ReadFile(path)
		return err == nil && json.Unmarshal(raw, &u) == nil
	}, func() string { return p.stderr.String() })
	return u
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	err := testwait.Receive(t, p.done, p.name+" stops on SIGTERM", p.stderr.String)
	assert.NoError(t, err, "%s:\n%s", p.name, p.stderr.String())
}

// One cluster in three simulator processes (the services with the first third of the
// BMCs, two processes of BMCs alone), their URLs files merged, BOS in a fourth process on
// the merged file: BOS warms up on every BMC and boots every node.
func TestShardProcessesMergeAndBootOneCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	ln, err := net.Listen("tcp", "127.0.0.1:0") // BOS's port, known to the nodes before it runs
	require.NoError(t, err)
	bosAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cluster := []string{"--nodes", "24", "--uans", "0", "--ncns", "0", "--delay-scale", "0"} // 12 BMCs, 4 per shard

	first := startProcess(t, "shard 1/3", append([]string{"sim", "--shard", "1/3", "--bos-url", "http://" + bosAddr,
		"--urls-file", file("s1.json")}, cluster...)...)
	s1 := first.waitFor(t, file("s1.json"))
	var shards []*process
	for k := 2; k <= 3; k++ {
		shards = append(shards, startProcess(t, fmt.Sprintf("shard %d/3", k), append([]string{"sim", "bmcs", "--shard", fmt.Sprintf("%d/3", k),
			"--urls-from", file("s1.json"), "--urls-file", file(fmt.Sprintf("s%d.json", k))}, cluster...)...))
	}
	assert.Len(t, s1.BMCs, 4)
	for i, p := range shards {
		u := p.waitFor(t, file(fmt.Sprintf("s%d.json", i+2)))
		assert.Len(t, u.BMCs, 4)
		assert.Equal(t, s1.HSM, u.HSM, "a BMC shard names the HSM it registered with")
		assert.Empty(t, u.IMS, "a BMC shard runs no other service")
	}

	r := bosCmd(t, "", "urls", "merge", file("s1.json"), file("s2.json"), file("s3.json"))
	require.NoError(t, r.fail, r.err)
	var all stack.URLs
	require.NoError(t, json.Unmarshal([]byte(r.out), &all))
	assert.Len(t, all.BMCs, 12)
	require.NoError(t, os.WriteFile(file("all.json"), []byte(r.out), 0o600))

	b := startProcess(t, "bos serve", "serve", "--listen", bosAddr, "--urls-from", file("all.json"), "--urls-file", file("bos.json"))
	b.waitFor(t, file("bos.json"))
	testwait.Until(t, "BOS warm on every BMC", func() bool {
		return strings.Contains(b.stderr.String(), "BOS takes power events from 12 BMCs")
	}, b.stderr.String)

	img, err := imsapi.NewClient(all.IMS, nil).GetImage(testwait.Context(t), ims.ImageID(ims.ImageCompute))
	require.NoError(t, err)
	st := bootCompute(t, file("bos.json"), img.Link.Path, 20)
	assert.Equal(t, 24, st.ManagedComponentsCount, "the nodes of every shard")
	assert.Equal(t, 100.0, st.PercentSuccessful, "%+v", st)

	b.stop(t)
	for _, p := range append(shards, first) {
		p.stop(t)
	}
}

// bos up --urls-from runs BOS alone at the file's bos URL on the simulators it names,
// warms up on their BMCs, seeds through their CFS and IMS and boots every node.
func TestUpFromAURLsFileBootsTheSimulatorsItNames(t *testing.T) {
	ctx := testwait.Context(t)
	topo, err := topology.Generate(topology.DefaultOptions(4))
	require.NoError(t, err)
	timing := stacktest.FastTiming()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	bosURL := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	sim, err := stack.Start(ctx, stack.Options{Topology: topo, Services: stack.Simulators, External: stack.URLs{BOS: bosURL},
		Sim: simulator.Config{Timing: &timing, Seed: 3}, CFS: stacktest.FastCFS(3)})
	require.NoError(t, err)
	defer sim.Close()
	urls := writeFile(t, "cluster.json", mustJSON(t, sim.URLs))

	var out, errw bytes.Buffer
	err = run(ctx, []string{"up", "--urls-from", urls, "--nodes", "4", "--delay-scale", "0", "--boot"}, &out, &errw)
	require.NoError(t, err, errw.String())
	var status bos.SessionExtendedStatus
	require.NoError(t, json.Unmarshal(out.Bytes(), &status), out.String())
	assert.Equal(t, 4, status.ManagedComponentsCount)
	assert.Equal(t, 100.0, status.PercentSuccessful)
	assert.Contains(t, errw.String(), "BOS at "+bosURL)
	assert.Contains(t, errw.String(), "HSM discovered 7 of 7 BMCs, BOS takes power events from 7 BMCs")
	for _, id := range topo.ByRole(topology.RoleCompute) {
		n, ok := sim.Sim.Node(id)
		require.True(t, ok)
		assert.True(t, n.Booted, "%s booted", id)
	}

	noBOS := writeFile(t, "nobos.json", `{"hsm": "http://127.0.0.1:1"}`)
	err = run(ctx, []string{"up", "--urls-from", noBOS}, &out, &errw)
	assert.ErrorContains(t, err, "no bos URL")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}
