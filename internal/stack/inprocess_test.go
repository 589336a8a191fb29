package stack

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/inproc"
	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/stack/stacktest"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/simulator"
)

// With InProcessCalls a node boots with HSM, BSS and CFS reachable only in-process (their
// listeners closed once the boot parameters are set): it loads its boot script, reports
// to CFS, and HSM gets its power events, the script, the report and the events handed
// over without a request. Without, the same node never gets its script.
func TestInProcessCallsNeedNoSocket(t *testing.T) {
	for _, inProcess := range []bool{true, false} {
		t.Run(map[bool]string{true: "in-process", false: "over the network"}[inProcess], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				topo, err := topology.Generate(topology.DefaultOptions(2))
				require.NoError(t, err)
				timing := stacktest.FastTiming()
				timing.HTTPTimeout = time.Second
				ctx := t.Context()
				st, err := Start(ctx, Options{Topology: topo, Net: memnet.New(), Sim: simConfig(&timing), CFS: stacktest.FastCFS(1),
					Services: []string{HSM, BSS, CFS, BMCs}, InProcessCalls: inProcess})
				require.NoError(t, err)
				defer st.Close()
				xname := topo.ByRole(topology.RoleCompute)[0]
				_, err = bssapi.NewClient(st.URLs.BSS, st.HTTPClient()).PutBootParameters(ctx, bssapi.BootParams{
					Hosts: []string{xname}, Kernel: "s3://boot-images/k/kernel", Initrd: "s3://boot-images/k/initrd", Params: "console=ttyS0"})
				require.NoError(t, err)
				for _, srv := range st.servers { // HSM, BSS and CFS: only the BMCs still listen
					require.NoError(t, srv.Close())
				}

				var bmc simulator.BMCInfo
				for _, b := range st.Sim.BMCs() {
					if _, ok := b.Systems[xname]; ok {
						bmc = b
					}
				}
				req, err := http.NewRequest(http.MethodPost, bmc.URL+"/redfish/v1/Systems/"+bmc.Systems[xname]+"/Actions/ComputerSystem.Reset",
					strings.NewReader(`{"ResetType": "On"}`))
				require.NoError(t, err)
				req.SetBasicAuth(bmc.Username, bmc.Password)
				resp, err := st.HTTPClient().Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusNoContent, resp.StatusCode)
				time.Sleep(10 * time.Second) // many boot script retries and report backoffs
				synctest.Wait()

				node, ok := st.Sim.Node(xname)
				require.True(t, ok)
				hsmc := hsmapi.NewClient(st.URLs.HSM, &http.Client{Transport: inproc.Transport{Handler: st.HSM.Handler()}})
				comp, err := hsmc.GetComponent(ctx, xname)
				require.NoError(t, err)
				if !inProcess {
					assert.Empty(t, node.Kernel, "no boot script without BSS's listener")
					assert.False(t, node.CFSReported)
					assert.Equal(t, "Off", comp.State, "no event reached HSM")
					return
				}
				assert.Equal(t, "s3://boot-images/k/kernel", node.Kernel, "%+v", node)
				assert.True(t, node.Booted)
				assert.True(t, node.CFSReported, "CFS got the node's report")
				assert.Equal(t, "On", comp.State, "HSM got the power event")
				assert.Zero(t, requestCounts(t, st)["hsm POST /hsm/v2/RedfishEvents"], "the events went to HSM without a POST")
				assert.Zero(t, requestCounts(t, st)["bss GET /boot/v1/bootscript"], "the boot script came from BSS without a request")
				assert.Zero(t, requestCounts(t, st)["cfs PATCH /v3/components/{id}"], "the CFS report went to CFS without a request")
				assert.EqualValues(t, 1, st.Sim.Stats().CFSReports)
				hist, err := bssapi.NewClient(st.URLs.BSS, &http.Client{Transport: inproc.Transport{Handler: st.BSS.Handler()}}).EndpointHistory(ctx, xname, bssapi.EndpointBootscript)
				require.NoError(t, err)
				assert.Len(t, hist, 1, "the fetch is in BSS's endpoint history as a request's would be")
				assert.Positive(t, st.Sim.Stats().EventsDelivered)
			})
		})
	}
}
