// Package e2e holds whole-stack tests: BOS (API and reconciler) and every simulator in one
// process, driven through the real HTTP APIs, asserting the state of the world (BOS
// components, the virtual nodes, CFS) and waiting on conditions with deadlines.
//
// Each test runs on the embedded miniredis and, where one answers at 127.0.0.1:6379 (or
// BOS_TEST_REDIS_URL), on a real Redis under its own key prefix, deleted afterwards.
// `go test -short` runs smaller clusters.
//
// TestCrashMatrix (crash_test.go) kills the reconciler at ten points of a boot, a reboot
// and a shutdown and restarts it on the same store (docs/guarantees.md); BOS_E2E_LONG=1
// runs it on 1,000 nodes on the real Redis, and runs TestKillProcess (killproc_test.go):
// `bos serve` as a child process on its own redis-server, SIGKILLed at seeded random points
// (BOS_KILL_SEED) of 1,000-node sessions and restarted.
//
// TestReplicasKill and TestReplicasKillOnCluster (replicas_test.go) run three `bos serve`
// replicas on a redis-server and on a Redis Cluster of their own and SIGKILL one in each
// session; BOS_E2E_REPLICAS=1 (.ci/run's replica stage) runs them at CI's size, 1,000 and
// 500 nodes with a 3 s lease TTL, BOS_E2E_LONG=1 at 5,000 and 1,000 nodes with 10 s.
//
// TestShardsOnTwoHosts (remotehosts_test.go; not with -short) builds bos and boots a
// cluster whose BMCs are in two `bos sim` shards on two "hosts", a port per BMC: two
// loopback addresses, and, as root with `ip netns`, a network namespace behind a veth pair.
//
// # Scenario scripts
//
// TestScenario runs testdata/scenarios/*.txt, in the manner of etcd raft's interaction
// tests, with github.com/cockroachdb/datadriven: each command is followed by "----" and the
// output it must print. `go test ./e2e -run Scenario -rewrite` writes the actual outputs
// into the files instead (review the diff; with a real Redis the last backend's output is
// what is written). Each script runs once per backend in its own synctest bubble, so its
// durations are fake time. Output is sorted and names sessions by the script's names.
//
// Node lists (NODES) are comma-separated xnames, all (every simulated node, NCNs and UANs
// included) and compute ranges in xname order:
// computes, computes[i], computes[a:b], computes[a:b:step] (either bound may be left out);
// a list may also be written (a, b). In a session limit, other BOS limit items (groups,
// roles, !x, &x) pass through. Where a command takes [nodes=NODES] [status=ST], it takes
// the computes by default and keeps only the nodes BOS shows in status ST.
//
//	cluster nodes=N [backend=B] [power=redfish|pcs] [faults=(fault=rate,...)] [cfs-fail=NODES] [options=(k=v,...)]
//	    Starts the stack with N compute nodes and the seeded template "compute". backend
//	    pins the script to one backend (skipped on the others); power=pcs runs the PCS
//	    simulator and has BOS power nodes through it (default: Redfish); faults are simulator
//	    fault rates (seeded: the same nodes every run); cfs-fail nodes fail CFS; options
//	    patch BOS's options over the harness's fast timeouts. Prints the compute count.
//	template name=T [image=IMAGE] [config=C]
//	    Stores template T: the seeded one on IMS image IMAGE (cos-3.1.0-x86_64) configured
//	    with C (compute-config; another name creates that CFS configuration).
//	session op=OP [name=S] [template=T] [limit=NODES] [stage] [takeover]
//	    Creates a session; prints "created S" (unnamed ones are s1, s2...) and a line per
//	    session it took nodes over from (status.took_over), or "refused: status title" and
//	    the problem's detail.
//	wait session=S [until=complete|setup|staged] [timeout=D]
//	    Waits (default 2m) until S is complete, set up (not pending), or set up with all its
//	    nodes staged. Prints nothing, or the timeout and the nodes by status.
//	sleep D
//	    Advances the fake clock by D: time.Sleep in the bubble.
//	status session=S
//	    The session's status, its error, its components and managed counts, percentages,
//	    phases and error summary.
//	sessions
//	    Every session: operation, template, stage and status.
//	components [nodes=NODES] [status=ST] [by=(field,...)] [list]
//	    BOS components counted by the fields (default
//	    status,enabled), or one line per node with list. Fields: status, phase, enabled,
//	    session, config (desired), staged (staged session), image (desired image), actual
//	    (actual image), last_action, error, attempts (power on, graceful and forceful off).
//	nodes [nodes=NODES] [status=ST] [by=(field,...)] [list]
//	    The simulated nodes likewise. Fields: power (default), booted, boots, image.
//	booted [nodes=NODES] [status=ST] [config=C]
//	    "ok" when each node is stable and disabled in BOS, on, booted with the BSS token BOS
//	    recorded, on the desired artifacts and (with config) configured with C by CFS;
//	    otherwise each bad node and why.
//	fault set|clear on=NODES fault=F
//	    Gives or takes simulator fault F (hang, reset-503, kernel-panic, ...: see
//	    simulator.Fault) to nodes or BMCs. Faults set are cleared before the stack stops.
//	faults
//	    Every node or BMC with a fault.
//	applystaged nodes=NODES
//	    POST /v2/applystaged; prints the succeeded, failed and ignored counts (and ids, up
//	    to ten).
//	transitions
//	    With power=pcs: waits (up to 2m) for PCS's transitions to complete, then counts
//	    their tasks by operation and status.
package e2e
