package lockstep_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/testwait"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/lockstep"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/reconciler"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/store/storetest"
)

// world is a small fake data centre behind the agent's ports: HSM inventory, BSS, CFS,
// images and Redfish power. A powered-on node "boots" after bootDelay by reporting the
// BSS token it was given to the store (as the node's bos-reporter does through the API)
// and enabling its CFS component (cfs-state-reporter). Every power change is logged.
type world struct {
	t  *testing.T
	st *store.Store

	mu        sync.Mutex
	nodes     []selection.Node
	groups    map[string][]string
	parts     map[string][]string
	power     map[string]power.Power
	tokens    map[string]string // node → token BSS gave it
	nextToken int
	cfs       map[string]*reconciler.CFSView
	cfsOn     map[string]bool
	events    []event
	nodeReads int // HSM reads of the node list
	sessions  int // v1 sessions made, for their ids

	// behaviour
	stuck     map[string]bool // never powers off
	refuseOn  map[string]bool // Reset On fails
	silent    map[string]bool // boots but never reports
	cfsFail   map[string]bool // CFS configuration fails
	unread    map[string]bool // the BMC does not answer power reads
	bootDelay func(id string) time.Duration
	// imagePanics is how many Image reads panic (a bug in a port); imageReads records when
	// each read came.
	imagePanics int
	imageReads  []time.Time
}

type event struct {
	at    time.Time
	node  string
	power power.Power
}

// bubble runs a test in a testing/synctest bubble: the agent's polls and timeouts and the
// test's waits are on the bubble's fake clock, which moves only when every goroutine is
// blocked, so a loaded machine slows a test down but cannot make it time out. Worlds are
// made inside it (their store is reached over pipes).
func bubble(t *testing.T, fn func(t *testing.T)) {
	synctest.Test(t, fn)
}

func newWorld(t *testing.T, ids ...string) *world {
	w := &world{t: t, st: storetest.Open(t, storetest.Mini, store.Config{EmbeddedOverPipes: true}),
		groups: map[string][]string{}, parts: map[string][]string{}, power: map[string]power.Power{},
		tokens: map[string]string{}, cfs: map[string]*reconciler.CFSView{}, cfsOn: map[string]bool{},
		stuck: map[string]bool{}, refuseOn: map[string]bool{}, silent: map[string]bool{}, cfsFail: map[string]bool{}, unread: map[string]bool{},
		bootDelay: func(string) time.Duration { return 5 * time.Millisecond }}
	var comps []bos.Component
	for _, id := range ids {
		w.nodes = append(w.nodes, selection.Node{ID: id, Role: "Compute", Arch: "X86", Enabled: true})
		w.power[id] = power.PowerOff
		w.cfs[id] = &reconciler.CFSView{Status: "unconfigured"}
		comps = append(comps, bos.NewComponent(id, time.Now()))
	}
	_, err := w.st.AddComponents(context.Background(), comps)
	require.NoError(t, err)
	return w
}

func (w *world) reads() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nodeReads
}

// agent starts an agent over the world with fast timing; it stops with the test.
func (w *world) agent(tweak ...func(*lockstep.Config)) *lockstep.Agent {
	cfg := lockstep.Config{
		Store: w.st, Inventory: w, Images: w,
		Effects: &reconciler.Effects{Store: w.st, BSS: w, CFS: w, Power: w},
		Timing: lockstep.Timing{Poll: 5 * time.Millisecond, GracefulShutdown: 60 * time.Millisecond,
			ForcefulShutdown: 60 * time.Millisecond, Boot: 2 * time.Second, Configure: 2 * time.Second,
			Sessions: 10 * time.Millisecond, Save: 5 * time.Millisecond},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := lockstep.New(cfg)
	require.NoError(w.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	w.t.Cleanup(func() { cancel(); <-done })
	return a
}

func (w *world) setPower(id string, p power.Power) {
	w.power[id] = p
	w.events = append(w.events, event{at: time.Now(), node: id, power: p})
}

// ---- selection.Inventory ----

func (w *world) Nodes(context.Context) ([]selection.Node, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nodeReads++
	return append([]selection.Node(nil), w.nodes...), nil
}
func (w *world) Groups(context.Context) (map[string][]string, error)     { return w.groups, nil }
func (w *world) Partitions(context.Context) (map[string][]string, error) { return w.parts, nil }
func (w *world) LockedNodes(context.Context) ([]string, error)           { return nil, nil }

// ---- bootsets.Images ----

var testImage = bootsets.Image{Kernel: "s3://boot-images/k/kernel", Initrd: "s3://boot-images/k/initrd",
	Rootfs: "s3://boot-images/k/rootfs", RootfsETag: "etag1", BootParameters: "quiet"}

func (w *world) Image(_ context.Context, path string) (bootsets.Image, error) {
	w.mu.Lock()
	w.imageReads = append(w.imageReads, time.Now())
	panics := w.imagePanics > 0
	w.imagePanics--
	w.mu.Unlock()
	if panics {
		panic("image read")
	}
	if path == "s3://boot-images/k/manifest.json" {
		return testImage, nil
	}
	return bootsets.Image{}, fmt.Errorf("no manifest at %s", path)
}

// ---- reconciler.BootParameters ----

func (w *world) Put(_ context.Context, hosts []string, _ bos.BootArtifacts) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextToken++
	tok := fmt.Sprintf("tok-%d", w.nextToken)
	for _, h := range hosts {
		w.tokens[h] = tok
	}
	return tok, nil
}

// ---- reconciler.Configuration ----

func (w *world) Components(_ context.Context, ids []string) (map[string]reconciler.CFSView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]reconciler.CFSView{}
	for _, id := range ids {
		if v, ok := w.cfs[id]; ok {
			out[id] = *v
		}
	}
	return out, nil
}

func (w *world) SetDesired(_ context.Context, ids []string, config string, enabled, clearState bool, _ string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		v := w.cfs[id]
		v.DesiredConfig = config
		w.cfsOn[id] = enabled
		if clearState || v.Status == "unconfigured" {
			v.Status = "pending"
		}
		if enabled {
			w.runCFS(id)
		}
	}
	return nil
}

// runCFS configures an enabled node at once. Called with w.mu held.
func (w *world) runCFS(id string) {
	if v := w.cfs[id]; v.Status == "pending" && v.DesiredConfig != "" {
		v.Status = "configured"
		if w.cfsFail[id] {
			v.Status = "failed"
		}
	}
}

// ---- power.PowerControl ----

func (w *world) PowerStates(_ context.Context, ids []string) map[string]power.PowerReading {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]power.PowerReading{}
	for _, id := range ids {
		if w.unread[id] {
			out[id] = power.PowerReading{Power: power.PowerUnknown, Err: errors.New("timeout")}
			continue
		}
		out[id] = power.PowerReading{Power: w.power[id]}
	}
	return out
}

func (w *world) Reset(_ context.Context, ids []string, kind power.ResetKind) map[string]error {
	w.mu.Lock()
	defer w.mu.Unlock()
	failed := map[string]error{}
	for _, id := range ids {
		switch kind {
		case power.ResetOn:
			if w.refuseOn[id] {
				failed[id] = errors.New("BMC said no")
				continue
			}
			if w.power[id] != power.PowerOn {
				w.setPower(id, power.PowerOn)
				time.AfterFunc(w.bootDelay(id), func() { w.booted(id) })
			}
		default:
			if !w.stuck[id] && w.power[id] != power.PowerOff {
				w.setPower(id, power.PowerOff)
			}
		}
	}
	return failed
}

// booted is the node's OS coming up: it reports its token and enables CFS.
func (w *world) booted(id string) {
	w.mu.Lock()
	tok, on, silent := w.tokens[id], w.power[id] == power.PowerOn, w.silent[id]
	if on && !silent {
		w.cfsOn[id] = true
		w.runCFS(id)
	}
	w.mu.Unlock()
	if !on || silent {
		return
	}
	_, err := w.st.UpdateComponent(context.Background(), id, func(c *bos.Component) error {
		c.ActualState.BSSToken = tok
		c.ActualState.BootArtifacts = c.DesiredState.BootArtifacts
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		w.t.Logf("node %s report: %v", id, err)
	}
}

// powerEvents returns the logged power changes, in order.
func (w *world) powerEvents() []event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]event(nil), w.events...)
}

// ---- helpers ----

func (w *world) template(name string, tm bos.V1SessionTemplate) {
	w.t.Helper()
	tm.Name = name
	stored, _, err := tm.StoredForm(bos.DefaultOptions())
	require.NoError(w.t, err)
	raw, err := jsonMarshal(stored)
	require.NoError(w.t, err)
	require.NoError(w.t, w.st.PutTemplateJSON(context.Background(), "", name, raw))
}

func bootSet(nodes ...string) bos.V1BootSet {
	return bos.V1BootSet{Path: "s3://boot-images/k/manifest.json", Type: "s3", NodeList: nodes, RootfsProvider: "cpss3"}
}

// session creates a v1 session as the API would and wakes the agent.
func (w *world) session(a *lockstep.Agent, op, template, limit string) string {
	w.t.Helper()
	ctx := context.Background()
	raw, err := w.st.GetTemplateJSON(ctx, "", template)
	require.NoError(w.t, err)
	var tm bos.V1SessionTemplate
	require.NoError(w.t, jsonUnmarshal(raw, &tm))
	w.mu.Lock()
	w.sessions++
	id := fmt.Sprintf("s-%d", w.sessions) // not the clock: in a bubble it may not have moved
	w.mu.Unlock()
	sess := bos.NewV1Session(id, bos.V1SessionCreate{Operation: op, TemplateName: template, Limit: limit}, tm, time.Now())
	require.NoError(w.t, w.st.CreateV1Session(ctx, sess))
	a.Wake()
	return id
}

// wait waits for the session to complete and returns it with its metadata computed.
func (w *world) wait(id string) bos.V1Session {
	w.t.Helper()
	var s bos.V1Session
	testwait.Until(w.t, "session "+id+" completes", func() bool {
		var err error
		s, err = w.st.GetV1Session(context.Background(), id)
		require.NoError(w.t, err)
		return s.State == bos.V1Complete
	}, func() string { return fmt.Sprintf("state %s, status %+v", s.State, s.Status) })
	s.ComputeMetadata()
	return s
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}
