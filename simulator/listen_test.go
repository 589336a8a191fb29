package simulator

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/topology"
)

// With ListenAddress every BMC has a port of its own on that address, and a request
// reaches the BMC whose port it dialled (its own manager, its own systems).
func TestPortPerBMC(t *testing.T) {
	s := startSim(t, func(c *Config) { c.ListenAddress = "127.0.0.2" })
	urls := s.BMCURLs()
	require.Len(t, urls, 3)
	ports := map[string]bool{}
	for id, u := range urls {
		p, err := url.Parse(u)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.2", p.Hostname(), id)
		ports[p.Port()] = true
		systems := call(t, u, http.MethodGet, "/redfish/v1/Systems", "", "basic").json(t)
		var got []string
		for _, m := range systems["Members"].([]any) {
			got = append(got, m.(map[string]any)["@odata.id"].(string))
		}
		if id == rackBMC {
			assert.Equal(t, []string{"/redfish/v1/Systems/Self"}, got, id)
		} else {
			assert.Equal(t, []string{"/redfish/v1/Systems/Node0", "/redfish/v1/Systems/Node1"}, got, id)
		}
	}
	assert.Len(t, ports, 3, "a port each")
	for _, b := range s.BMCs() {
		assert.Equal(t, "127.0.0.2", b.Address)
	}
	// The loopback address of the default mode serves nothing here.
	_, err := net.DialTimeout("tcp", "127.1.0.1:"+strings.Split(urls[bladeBMC], ":")[2], time.Second)
	assert.Error(t, err)
}

// With a first port, the BMC at index i of the whole cluster listens on Port+i, so a
// shard's BMCs keep the ports they have in the whole, as loopback shards keep addresses.
func TestPortPerBMCShardsKeepTheirPortsInTheWhole(t *testing.T) {
	topo, err := topology.Generate(topology.Options{Compute: 24}) // 12 BMCs
	require.NoError(t, err)
	base := freePortRange(t, "127.0.0.2", len(topo.BMCs))
	urls := func(cfg Config) map[string]string {
		cfg.ListenAddress, cfg.Advertise, cfg.Port = "127.0.0.2", "bmc-host.example", base
		sim, err := New(cfg)
		require.NoError(t, err)
		require.NoError(t, sim.Start(t.Context()))
		defer sim.Close()
		return sim.BMCURLs()
	}
	whole := urls(Config{Topology: topo})
	assert.Equal(t, "http://bmc-host.example:"+strconv.Itoa(base+5), whole[topo.BMCs[5].Xname])
	got := map[string]string{}
	for i := range 3 {
		s, err := topo.Shard(i, 3)
		require.NoError(t, err)
		for id, u := range urls(Config{Topology: s.Topology, SkipAddresses: s.FirstBMC}) {
			got[id] = u
		}
	}
	assert.Equal(t, whole, got)
}

// freePortRange finds n consecutive ports free on addr a moment ago.
func freePortRange(t *testing.T, addr string, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		require.NoError(t, err)
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if base+n > 65535 {
			continue
		}
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(p)))
			if ok = err == nil; ok {
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no run of free ports")
	return 0
}

func TestPortPerBMCValidation(t *testing.T) {
	topo := testTopology(t)
	withAddress := testTopology(t)
	withAddress.BMCs[0].Address = "127.1.0.9"
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Topology: topo, ListenAddress: "0.0.0.0"}, "needs Advertise"},
		{Config{Topology: topo, ListenAddress: "::"}, "needs Advertise"},
		{Config{Topology: topo, Advertise: "bmc-host"}, "Advertise needs ListenAddress"},
		{Config{Topology: topo, ListenAddress: "bmc-host"}, "not an IP address"},
		{Config{Topology: topo, ListenAddress: "0.0.0.0", Advertise: "http://bmc-host"}, "not a host name"},
		{Config{Topology: topo, ListenAddress: "0.0.0.0", Advertise: "bmc-host:8000"}, "not a host name"},
		{Config{Topology: topo, ListenAddress: "0.0.0.0", Advertise: "0.0.0.0"}, "no address to dial"},
		{Config{Topology: topo, ListenAddress: "127.0.0.2", Port: 65534}, "past 65535"},
		{Config{Topology: withAddress, ListenAddress: "127.0.0.2"}, "topology address"},
	} {
		_, err := New(tc.cfg)
		assert.ErrorContains(t, err, tc.want, "%+v", tc.cfg.ListenAddress+" "+tc.cfg.Advertise)
	}
	s, err := New(Config{Topology: topo, ListenAddress: "0.0.0.0", Advertise: "bmc-host.example"})
	require.NoError(t, err)
	s.Close()
}

// FaultUnreachable closes a BMC's port and reopens the same one; a BMC unreachable from
// the start has its port (and URL) all the same.
func TestPortPerBMCUnreachable(t *testing.T) {
	s := startSim(t, func(c *Config) {
		c.ListenAddress = "127.0.0.2"
		c.Faults.Set = map[string][]Fault{bladeBMC: {FaultUnreachable}}
	})
	hostPort := strings.TrimPrefix(s.BMCURLs()[bladeBMC], "http://")
	_, err := net.DialTimeout("tcp", hostPort, time.Second)
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "err %v", err)
	require.NoError(t, s.ClearFault(bladeBMC, FaultUnreachable))
	assert.Equal(t, 200, call(t, "http://"+hostPort, http.MethodGet, "/redfish/v1/Managers/BMC", "", "basic").status)
	require.NoError(t, s.SetFault(bladeBMC, FaultUnreachable))
	_, err = net.DialTimeout("tcp", hostPort, time.Second)
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "err %v", err)
}

// Over TLS, a BMC advertised by host name holds a certificate for that name.
func TestPortPerBMCTLSNamesTheAdvertisedHost(t *testing.T) {
	s := startSim(t, func(c *Config) { c.TLS, c.ListenAddress, c.Advertise = true, "127.0.0.1", "localhost" })
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.CACertPEM()))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for id, u := range s.BMCURLs() {
		require.True(t, strings.HasPrefix(u, "https://localhost:"), u)
		resp, err := hc.Get(u + "/redfish/v1/")
		require.NoError(t, err, id)
		resp.Body.Close()
		assert.Equal(t, id, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
}
