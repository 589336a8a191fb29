package simulator

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"
)

// The independent clients run as subprocesses, as an operator would run them; the tests
// skip where the tool is not installed.

const systemPython = "/usr/bin/python3" // Debian's python3-sushy is only visible to it

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.CommandContext(testwait.Context(t), name, args...).CombinedOutput()
	return string(out), err
}

func TestRedfishtool(t *testing.T) {
	tool, err := exec.LookPath("redfishtool")
	if err != nil {
		t.Skip("redfishtool not installed: apt-get install -y redfishtool")
	}
	s := startSim(t, nil)
	u, err := url.Parse(s.BMCURLs()[bladeBMC])
	require.NoError(t, err)
	for _, auth := range []string{"Basic", "Session"} {
		t.Run(auth, func(t *testing.T) {
			rf := func(args ...string) string {
				t.Helper()
				out, err := runTool(t, tool, append([]string{"-r", u.Host, "-u", "root", "-p", "initial0", "-S", "Never", "-A", auth}, args...)...)
				require.NoError(t, err, "redfishtool %v: %s", args, out)
				return out
			}
			assert.Contains(t, rf("Systems"), "/redfish/v1/Systems/Node0")
			assert.Contains(t, rf("-I", "Node1", "Systems", "get", "-P", "PowerState"), `"Off"`)

			rf("-I", "Node1", "Systems", "reset", "On")
			waitPower(t, s, "x1000c0s0b0n1", "On")
			assert.Contains(t, rf("-I", "Node1", "Systems", "get", "-P", "PowerState"), `"On"`)
			rf("-I", "Node1", "Systems", "reset", "ForceOff")
			waitPower(t, s, "x1000c0s0b0n1", "Off")

			// The inventory generic clients walk.
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"-I", "Node0", "Systems", "Processors", "-i", "CPU1"}, `"#Processor.v1_22_0.Processor"`},
				{[]string{"-I", "Node0", "Systems", "EthernetInterfaces", "-i", "1"}, `"MACAddress"`},
				{[]string{"-I", "Node0", "Systems", "SimpleStorage", "-i", "1"}, `"Devices"`},
				{[]string{"-I", "Node0", "Systems", "Logs", "-i", "SEL"}, `"/redfish/v1/Systems/Node0/LogServices/SEL/Entries"`},
				{[]string{"-I", "BMC", "Managers", "NetworkProtocol"}, `"HTTPS"`},
				{[]string{"-I", "BMC", "Managers", "EthernetInterfaces", "-i", "1"}, `"` + u.Hostname() + `"`},
				{[]string{"AccountService", "Accounts", "-i", "1"}, `"UserName": "root"`},
				{[]string{"AccountService", "Roles", "list"}, `"/redfish/v1/AccountService/Roles/ReadOnly"`},
				{[]string{"-I", "Node0", "Systems", "setBootOverride", "Once", "Pxe"}, `"BootSourceOverrideTarget": "Pxe"`},
				{[]string{"-I", "Node0", "Systems", "patch", `{"LocationIndicatorActive": true}`}, `"LocationIndicatorActive": true`},
			} {
				assert.Contains(t, rf(c.args...), c.want, "redfishtool %v", c.args)
			}
			if auth == "Basic" { // a BMC restart ends sessions, redfishtool's own too
				rf("-I", "BMC", "Managers", "reset", "GracefulRestart")
			}

			out, err := runTool(t, tool, "-r", u.Host, "-u", "root", "-p", "wrong", "-S", "Never", "-A", auth, "Systems")
			assert.Error(t, err, "bad credentials must fail: %s", out)
		})
	}
	// Session logins were logged out at exit (redfishtool DELETEs its session).
	srv := bmcServer(t, s, bladeBMC)
	assert.Empty(t, call(t, srv.URL, "GET", "/redfish/v1/SessionService/Sessions", "", "basic").json(t)["Members"])
}

const sushyScript = `
import sys, sushy
from sushy import auth
url, mode = sys.argv[1], sys.argv[2]
a = auth.BasicAuth(username="root", password="initial0") if mode == "basic" else auth.SessionAuth(username="root", password="initial0")
root = sushy.Sushy(url, verify=False, auth=a)
print("members", sorted(root.get_system_collection().members_identities))
s = root.get_system("/redfish/v1/Systems/Node0")
print("power", s.power_state)
s.reset_system(sushy.ResetType.ON)
print("reset ok")
print("cpus", s.processors.summary)
print("nics", [n.mac_address for n in s.ethernet_interfaces.get_members()])
print("disks", s.simple_storage.disks_sizes_bytes)
print("bios", s.bios.attributes["BootMode"])
print("secureboot", s.secure_boot.enabled)
# on Node1, which stays off: Node0 is booting, and its boot uses up a one-time override
s1 = root.get_system("/redfish/v1/Systems/Node1")
s1.set_system_boot_options(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE)
s1.refresh()
print("boot", s1.boot.target, s1.boot.enabled)
m = root.get_manager("/redfish/v1/Managers/BMC")
print("manager", m.firmware_version, sorted(str(v) for v in m.get_allowed_reset_manager_values()))
# root.registries also loads sushy's packaged registries, which Debian's package lacks.
print("registries", sorted(f.registry for f in root._get_registry_collection().get_members()))
print("tasks", root.get_task_service().service_enabled)
print("chassis", sorted(root.get_chassis_collection().members_identities))
print("updates", sorted(root.get_update_service().firmware_inventory.members_identities))
if mode != "basic":
    root._auth.close()
`

func TestSushy(t *testing.T) {
	if _, err := os.Stat(systemPython); err != nil {
		t.Skip("no " + systemPython + ": apt-get install -y python3-sushy")
	}
	if out, err := runTool(t, systemPython, "-c", "import sushy"); err != nil {
		t.Skipf("python3 module sushy not installed (apt-get install -y python3-sushy): %s", out)
	}
	script := filepath.Join(t.TempDir(), "probe.py")
	require.NoError(t, os.WriteFile(script, []byte(sushyScript), 0o600))
	for _, mode := range []string{"basic", "session"} {
		t.Run(mode, func(t *testing.T) {
			s := startSim(t, nil)
			out, err := runTool(t, systemPython, script, s.BMCURLs()[bladeBMC], mode)
			require.NoError(t, err, out)
			assert.Contains(t, out, "members ['/redfish/v1/Systems/Node0', '/redfish/v1/Systems/Node1']")
			assert.Contains(t, out, "power PowerState.OFF")
			assert.Contains(t, out, "reset ok")
			for _, want := range []string{"cpus ProcessorSummary(count=256, architecture=<ProcessorArchitecture.X86: 'x86'>)", // sushy counts threads
				"nics ['02:", "disks [1030792151040]", "bios Uefi", "secureboot False",
				"boot BootSource.PXE BootSourceOverrideEnabled.ONCE", "manager nc.1.9.13 ['ResetType.FORCE_RESTART', 'ResetType.GRACEFUL_RESTART']",
				"registries ['Base.1.22.1', 'ResourceEvent.1.4.3', 'TaskEvent.1.0.5']",
				"tasks True", "chassis ['/redfish/v1/Chassis/Enclosure', '/redfish/v1/Chassis/Node0', '/redfish/v1/Chassis/Node1']",
				"updates ['/redfish/v1/UpdateService/FirmwareInventory/BIOS', '/redfish/v1/UpdateService/FirmwareInventory/BMC']"} {
				assert.Contains(t, out, want)
			}
			waitPower(t, s, bladeNode, "On")
			if mode == "session" {
				srv := bmcServer(t, s, bladeBMC)
				assert.Empty(t, call(t, srv.URL, "GET", "/redfish/v1/SessionService/Sessions", "", "basic").json(t)["Members"], "sushy logged out")
			}
		})
	}
}

// The TLS BMCs speak HTTP/1.1 only, even to a client that offers h2, with a certificate
// for their own address signed by the simulator's CA.
func TestTLSIsHTTP1WithVerifiableCertificates(t *testing.T) {
	s := startSim(t, func(c *Config) { c.TLS = true })
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.CACertPEM()))
	hc := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for bmcX, u := range s.BMCURLs() {
		require.True(t, strings.HasPrefix(u, "https://"))
		resp, err := hc.Get(u + "/redfish/v1/")
		require.NoError(t, err, bmcX)
		resp.Body.Close()
		assert.Equal(t, "HTTP/1.1", resp.Proto)
		assert.Equal(t, bmcX, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
}
