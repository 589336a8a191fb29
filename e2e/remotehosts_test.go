//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/testwait"
)

// One cluster whose BMCs live in two `bos sim` shards on two "hosts", each BMC on a port
// of its own (--bmc-listen), their URLs files merged and BOS (`bos up --urls-from`)
// booting every node: each node is powered on once and boots once, and each shard's BMCs
// delivered power events. The hosts are two loopback addresses (127.0.0.2 and
// 127.0.0.3), and, where the test runs as root with `ip netns`, a network namespace
// joined to this one by a veth pair: the second shard's BMCs listen on 0.0.0.0 there, and
// BOS reaches them only over that link.
func TestShardsOnTwoHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bos and starts processes")
	}
	ctx := testwait.Context(t)
	bin, _ := buildBOS(ctx, t, t.TempDir())
	t.Run("loopback stand-ins", func(t *testing.T) {
		bosAddr := freeAddr(t, "127.0.0.4")
		runTwoHosts(t, bin, twoHosts{
			bosAddr:      bosAddr,
			first:        []string{"--host", "127.0.0.2", "--bmc-listen", "127.0.0.2", "--bos-url", "http://" + bosAddr},
			second:       []string{"--bmc-listen", "127.0.0.3"},
			wantBMCHosts: [2]string{"127.0.0.2", "127.0.0.3"},
		})
	})
	t.Run("network namespace", func(t *testing.T) {
		ns := newNetns(t)
		bosAddr := freeAddr(t, ns.hostIP)
		runTwoHosts(t, bin, twoHosts{
			bosAddr: bosAddr,
			// The first host's BMCs stay on loopback (BOS runs there); its services listen
			// where the namespace reaches them.
			first:        []string{"--host", ns.hostIP, "--bos-url", "http://" + bosAddr},
			second:       []string{"--bmc-listen", "0.0.0.0", "--advertise", ns.nsIP},
			secondPrefix: []string{"ip", "netns", "exec", ns.name},
			wantBMCHosts: [2]string{"127.1.0.1", ns.nsIP},
		})
	})
}

type twoHosts struct {
	bosAddr       string
	first, second []string // each shard's flags beyond the cluster's
	secondPrefix  []string // runs the second shard's command (in a namespace)
	// wantBMCHosts are the hosts of the first BMC's URL in each shard.
	wantBMCHosts [2]string
}

func runTwoHosts(t *testing.T, bin string, h twoHosts) {
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	cluster := []string{"--nodes", "40", "--uans", "0", "--ncns", "0", "--delay-scale", "0"} // 20 BMCs, 10 a shard
	proc := func(name string, prefix []string, args ...string) *childProcess {
		argv := append(append(append([]string{}, prefix...), bin), args...)
		p := &childProcess{t: t, name: name, bin: argv[0], dir: dir, args: argv[1:]}
		p.start()
		t.Cleanup(p.stop)
		return p
	}
	first := proc("shard1", nil, append(append([]string{"sim", "--shard", "1/2", "--urls-file", file("s1.json")}, h.first...), cluster...)...)
	s1 := waitURLs(t, first, file("s1.json"))
	second := proc("shard2", h.secondPrefix, append(append([]string{"sim", "bmcs", "--shard", "2/2", "--urls-from", file("s1.json"),
		"--urls-file", file("s2.json")}, h.second...), cluster...)...)
	s2 := waitURLs(t, second, file("s2.json"))
	for i, u := range []stack.URLs{s1, s2} {
		require.Len(t, u.BMCs, 10, "shard %d", i+1)
		hosts, ports := map[string]bool{}, map[string]bool{}
		for _, raw := range u.BMCs {
			p, err := url.Parse(raw)
			require.NoError(t, err)
			hosts[p.Hostname()], ports[p.Port()] = true, true
		}
		if i == 1 {
			assert.Equal(t, map[string]bool{h.wantBMCHosts[1]: true}, hosts, "shard 2's BMCs share its host")
			assert.Len(t, ports, 10, "shard 2's BMCs have a port each")
		} else {
			assert.True(t, hosts[h.wantBMCHosts[0]], "shard 1's BMCs at %v", hosts)
		}
	}

	merge := exec.Command(bin, "urls", "merge", file("s1.json"), file("s2.json"))
	out, err := merge.Output()
	require.NoError(t, err, "bos urls merge: %s", exitStderr(err))
	require.NoError(t, os.WriteFile(file("all.json"), out, 0o600))

	// bos up --urls-from: BOS alone at the file's bos URL; it exits 0 once every node
	// booted (3 if some failed).
	up := proc("bos", nil, append([]string{"up", "--urls-from", file("all.json"), "--boot", "--timeout", "5m"}, cluster...)...)
	testwait.Until(t, "bos up boots every node and exits", up.exited, up.tail)
	require.Equal(t, 0, up.cmd.ProcessState.ExitCode(), "bos up:\n%s", up.tail())
	assert.Contains(t, readFile(t, up.log), "BOS takes power events from 20 BMCs")

	var on, resets float64
	for i, u := range []stack.URLs{s1, s2} {
		m := shardMetrics(t, u)
		on += m[`bos_sim_power_transitions_total{state="On"}`]
		resets += m["bos_sim_resets_total"]
		assert.Positive(t, m["bos_sim_events_delivered_total"], "shard %d's BMCs delivered power events", i+1)
	}
	assert.Equal(t, 40.0, on, "every node powered on once")
	assert.Equal(t, 40.0, resets, "one reset a node")
}

// waitURLs waits until p has written the URLs file at path, and reads it.
func waitURLs(t *testing.T, p *childProcess, path string) stack.URLs {
	t.Helper()
	var u stack.URLs
	testwait.Until(t, p.name+" writes "+path, func() bool {
		require.False(t, p.exited(), "%s ended:\n%s", p.name, p.tail())
		raw, err := os.ReadFile(path)
		return err == nil && json.Unmarshal(raw, &u) == nil
	}, p.tail)
	return u
}

// shardMetrics reads the simulators' counters of the shard whose BMCs u lists (served on
// every BMC's URL).
func shardMetrics(t *testing.T, u stack.URLs) map[string]float64 {
	t.Helper()
	var any string
	for _, raw := range u.BMCs {
		any = raw
		break
	}
	resp, err := http.Get(any + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if f, err := strconv.ParseFloat(v, 64); ok && err == nil {
			out[name] = f
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func readFile(t *testing.T, path string) string {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(raw)
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// freeAddr is ip:port with a port free there a moment ago.
func freeAddr(t *testing.T, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// netns is a network namespace joined to this one by a veth pair: hostIP here, nsIP there.
type netns struct{ name, hostIP, nsIP string }

// newNetns makes one for the test and deletes it after; it skips the test unless root
// with a working `ip netns`.
func newNetns(t *testing.T) netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace needs root")
	}
	ipTool, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip command")
	}
	id := fmt.Sprintf("%d%03d", os.Getpid()%100000, rand.IntN(1000))
	// A /30 in 10.213.0.0/16 picked at random, for parallel runs on one machine.
	sub := rand.IntN(1 << 14)
	base := fmt.Sprintf("10.213.%d.%d", sub>>6, (sub&63)<<2)
	pre := base[:strings.LastIndex(base, ".")+1]
	last, _ := strconv.Atoi(base[len(pre):])
	n := netns{name: "bosrh" + id, hostIP: pre + strconv.Itoa(last+1), nsIP: pre + strconv.Itoa(last+2)}
	hostIf, nsIf := "rh"+id+"a", "rh"+id+"b"
	ip := func(args ...string) error {
		out, err := exec.Command(ipTool, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ip("netns", "add", n.name); err != nil {
		t.Skipf("ip netns does not work here: %v", err)
	}
	t.Cleanup(func() { _ = ip("netns", "del", n.name) })
	for _, step := range [][]string{
		{"link", "add", hostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", n.name},
		{"addr", "add", n.hostIP + "/30", "dev", hostIf},
		{"link", "set", hostIf, "up"},
		{"-n", n.name, "addr", "add", n.nsIP + "/30", "dev", nsIf},
		{"-n", n.name, "link", "set", nsIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		require.NoError(t, ip(step...))
		if step[1] == "add" && step[0] == "link" {
			t.Cleanup(func() { _ = ip("link", "del", hostIf) }) // gone with the namespace too
		}
	}
	return n
}
