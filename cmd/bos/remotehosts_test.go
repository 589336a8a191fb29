package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/testwait"
)

// BMCs reachable from other hosts need the services their nodes and events go to
// reachable too: every command that would wire such a cluster with a loopback BOS, HSM,
// BSS or CFS says so and stops; so do flags that cannot work together.
func TestBMCsOnOtherHostsNeedReachableServices(t *testing.T) {
	remote := `{"bos": "http://127.0.0.1:8080", "hsm": "http://10.9.0.1:27700", "bss": "http://10.9.0.1:27701",
		"cfs": "http://10.9.0.1:27702", "s3": "http://10.9.0.1:27703", "ims": "http://10.9.0.1:27704",
		"bmcs": {"x1000c0s0b0": "http://sim2.example:20000"}}`
	loopHSM := `{"bos": "http://10.9.0.1:8080", "hsm": "http://127.0.0.1:27700", "bss": "http://10.9.0.1:27701", "cfs": "http://10.9.0.1:27702"}`
	file := writeFile(t, "remote.json", remote)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a shard on another host given a loopback HSM",
			[]string{"sim", "bmcs", "--nodes", "4", "--shard", "2/2", "--bmc-listen", "0.0.0.0", "--advertise", "sim2.example", "--urls-from", writeFile(t, "s1.json", loopHSM)},
			"the hsm URL http://127.0.0.1:27700 is only reachable from its own host"},
		{"services here on loopback while the BMCs listen for other hosts",
			[]string{"sim", "--nodes", "4", "--bmc-listen", "0.0.0.0", "--bmc-advertise", "sim1.example", "--bos-url", "http://10.9.0.1:8080"},
			"the hsm URL http://127.0.0.1:"},
		{"0.0.0.0 is no address to give the BMCs' URLs", []string{"sim", "--nodes", "4", "--bmc-listen", "0.0.0.0"}, "--bmc-listen 0.0.0.0 needs --bmc-advertise or --advertise"},
		{"--bmc-listen takes an address", []string{"sim", "--nodes", "4", "--bmc-listen", "sim1.example"}, "want an address of this host"},
		{"--bmc-advertise alone", []string{"sim", "--nodes", "4", "--bmc-advertise", "sim1.example"}, "--bmc-advertise needs --bmc-listen"},
		{"--advertise is a host", []string{"sim", "--nodes", "4", "--advertise", "http://sim1.example"}, "want a host name or address to dial"},
		{"merging them", []string{"urls", "merge", file}, "the bos URL http://127.0.0.1:8080 is only reachable from its own host"},
		{"bos up on them", []string{"up", "--urls-from", file, "--nodes", "4"}, "the bos URL http://127.0.0.1:8080"},
		{"bos serve on them, at a loopback URL", []string{"serve", "--listen", "127.0.0.1:0", "--urls-from", file}, "the bos URL http://127.0.0.1:"},
	} {
		r := bosCmd(t, "", tc.args...)
		assert.ErrorContains(t, r.fail, tc.want, tc.name)
	}
}

// bos serve --advertise puts that host in BOS's URL (the BMCs' event destination), so
// BMCs on other hosts are accepted.
func TestServeAdvertise(t *testing.T) {
	file := writeFile(t, "remote.json", `{"hsm": "http://127.0.0.1:1", "bss": "http://127.0.0.1:1", "cfs": "http://127.0.0.1:1",
		"s3": "http://127.0.0.1:1", "ims": "http://127.0.0.1:1", "bmcs": {"x1000c0s0b0": "http://sim2.example:20000"}}`)
	urls := filepath.Join(t.TempDir(), "bos.json")
	ctx, cancel := context.WithCancel(testwait.Context(t))
	done := make(chan error, 1)
	var out, errw syncBuffer
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--advertise", "bos.example", "--urls-from", file, "--urls-file", urls}, &out, &errw)
	}()
	var u stack.URLs
	testwait.Until(t, "bos serve writes its URL", func() bool {
		raw, err := os.ReadFile(urls)
		return err == nil && json.Unmarshal(raw, &u) == nil
	}, errw.String)
	assert.Regexp(t, `^http://bos\.example:\d+$`, u.BOS)
	cancel()
	assert.NoError(t, testwait.Receive(t, done, "bos serve stops", errw.String))
}
