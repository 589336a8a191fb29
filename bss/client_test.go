package bss

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/topology"
)

// TestClientContract runs every Client method against the real handler.
func TestClientContract(t *testing.T) {
	s := mustServer(t, Config{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := bssapi.NewClient(srv.URL, srv.Client())
	ctx := context.Background()

	tok, err := c.PutBootParameters(ctx, bssapi.BootParams{Hosts: []string{n1, n2}, Params: "quiet", Kernel: "s3://b/k", Initrd: "s3://b/i"})
	require.NoError(t, err)
	assert.Regexp(t, uuidPattern, tok)

	got, err := c.GetBootParameters(ctx, bssapi.Query{Names: []string{n1}})
	require.NoError(t, err)
	assert.Equal(t, []bssapi.BootParams{{Hosts: []string{n1}, Params: "quiet", Kernel: "s3://b/k", Initrd: "s3://b/i"}}, got)

	got, err = c.GetBootParameters(ctx, bssapi.Query{MACs: []string{mac2}, NIDs: []int{1}})
	require.NoError(t, err)
	assert.Len(t, got, 2)

	_, err = c.GetBootParameters(ctx, bssapi.Query{Names: []string{n3}})
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))

	all, err := c.GetBootParameters(ctx, bssapi.Query{})
	require.NoError(t, err)
	assert.Len(t, all, 4) // kernel, initrd, n1, n2

	_, err = c.PostBootParameters(ctx, bssapi.BootParams{Hosts: []string{n1}, Kernel: "k"})
	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))
	assert.Contains(t, err.Error(), "Already exists: "+n1)
	tok3, err := c.PostBootParameters(ctx, bssapi.BootParams{Nids: []int{3}, Kernel: "k3"})
	require.NoError(t, err)
	assert.NotEqual(t, tok, tok3)

	require.NoError(t, c.PatchBootParameters(ctx, bssapi.BootParams{Hosts: []string{n1}, Params: "console=ttyS0"}))
	err = c.PatchBootParameters(ctx, bssapi.BootParams{Hosts: []string{"x9c0s0b0n0"}, Params: "x"})
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))

	script, err := c.BootScript(ctx, bssapi.ScriptQuery{Name: n1, Retry: 4})
	require.NoError(t, err)
	assert.Contains(t, script, "console=ttyS0 xname="+n1+" nid=1 bss_referral_token="+tok+" ")
	assert.Contains(t, script, "&retry=5\n")
	script, err = c.BootScript(ctx, bssapi.ScriptQuery{NID: 2})
	require.NoError(t, err)
	assert.Contains(t, script, "xname="+n2)
	script, err = c.BootScript(ctx, bssapi.ScriptQuery{MAC: "02:00:00:00:00:99"})
	require.NoError(t, err)
	assert.NotContains(t, script, "kernel ", "an unknown node is asked for its arch")
	_, err = c.BootScript(ctx, bssapi.ScriptQuery{})
	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))

	hosts, err := c.Hosts(ctx, bssapi.Query{NIDs: []int{2}})
	require.NoError(t, err)
	require.Len(t, hosts, 1)
	assert.Equal(t, n2, hosts[0].ID)
	_, err = c.Hosts(ctx, bssapi.Query{Names: []string{"nope"}})
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err))
	require.NoError(t, c.RefreshHosts(ctx))

	hist, err := c.EndpointHistory(ctx, n1, bssapi.EndpointBootscript)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, n1, hist[0].Name)

	require.NoError(t, c.DeleteBootParameters(ctx, bssapi.BootParams{Hosts: []string{n2}}))
	err = c.DeleteBootParameters(ctx, bssapi.BootParams{Hosts: []string{n2}})
	assert.Equal(t, http.StatusBadRequest, problem.StatusOf(err))
}

func TestConcurrentBootScripts(t *testing.T) {
	topo, err := topology.Generate(topology.DefaultOptions(200))
	require.NoError(t, err)
	s := mustServer(t, Config{Inventory: FromTopology(topo)})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := bssapi.NewClient(srv.URL, srv.Client())
	ctx := context.Background()

	// Writers keep replacing boot parameters while nodes fetch scripts.
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 20; i++ {
			hosts := make([]string, 0, len(topo.Nodes))
			for _, n := range topo.Nodes {
				hosts = append(hosts, n.Xname)
			}
			if _, err := c.PutBootParameters(ctx, bssapi.BootParams{Hosts: hosts, Kernel: fmt.Sprintf("k%d", i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	errs := make(chan error, len(topo.Nodes))
	for _, n := range topo.Nodes {
		go func() {
			script, err := c.BootScript(ctx, bssapi.ScriptQuery{MAC: n.MAC})
			if err != nil {
				errs <- err
				return
			}
			// Until the first PUT lands the node is asked for its arch (a script without a kernel).
			if strings.Contains(script, "kernel ") && !strings.Contains(script, "xname="+n.Xname+" ") {
				errs <- fmt.Errorf("%s got a script for another node", n.Xname)
				return
			}
			errs <- nil
		}()
	}
	for range topo.Nodes {
		require.NoError(t, <-errs)
	}
	require.NoError(t, <-done)
}
