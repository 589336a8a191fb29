package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/bootsets"
	"github.com/cray-bos/bos/orchestrator/selection"
	"github.com/cray-bos/bos/orchestrator/sessions"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
)

// ---- fakes of the ports (function fields; nil means "not expected to be called") ----

type inventoryStub struct {
	nodes      func(context.Context) ([]selection.Node, error)
	groups     func(context.Context) (map[string][]string, error)
	partitions func(context.Context) (map[string][]string, error)
	locked     func(context.Context) ([]string, error)
}

var _ selection.Inventory = (*inventoryStub)(nil)

func (f *inventoryStub) Nodes(ctx context.Context) ([]selection.Node, error) { return f.nodes(ctx) }
func (f *inventoryStub) Groups(ctx context.Context) (map[string][]string, error) {
	return f.groups(ctx)
}
func (f *inventoryStub) Partitions(ctx context.Context) (map[string][]string, error) {
	return f.partitions(ctx)
}
func (f *inventoryStub) LockedNodes(ctx context.Context) ([]string, error) { return f.locked(ctx) }

type imagesStub struct {
	image func(ctx context.Context, path string) (bootsets.Image, error)
}

var _ bootsets.Images = (*imagesStub)(nil)

func (f *imagesStub) Image(ctx context.Context, path string) (bootsets.Image, error) {
	return f.image(ctx, path)
}

// ---- a small cluster ----

const (
	n00 = "x1000c0s0b0n0" // Compute, X86
	n01 = "x1000c0s0b0n1" // Compute, X86
	n10 = "x1000c0s1b0n0" // Compute, UNKNOWN arch
	n11 = "x1000c0s1b0n1" // Compute, no arch at all
	n20 = "x1000c0s2b0n0" // Application_UAN, ARM
	n21 = "x1000c0s2b0n1" // Compute, X86, disabled in HSM
	n30 = "x1000c0s3b0n0" // Compute, X86, locked in HSM
	n31 = "x1000c0s3b0n1" // Management_Master, X86
	n40 = "x1000c0s4b0n0" // Compute, X86, in HSM but not a BOS component
)

var setupNow = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func clusterNodes() []selection.Node {
	return []selection.Node{
		{ID: n00, Role: "Compute", Arch: "X86", Enabled: true},
		{ID: n01, Role: "Compute", Arch: "X86", Enabled: true},
		{ID: n10, Role: "Compute", Arch: "UNKNOWN", Enabled: true},
		{ID: n11, Role: "Compute", Arch: "", Enabled: true},
		{ID: n20, Role: "Application", SubRole: "UAN", Arch: "ARM", Enabled: true},
		{ID: n21, Role: "Compute", Arch: "X86", Enabled: false},
		{ID: n30, Role: "Compute", Arch: "X86", Enabled: true},
		{ID: n31, Role: "Management", SubRole: "Master", Arch: "X86", Enabled: true},
		{ID: n40, Role: "Compute", Arch: "X86", Enabled: true},
	}
}

func clusterGroups() map[string][]string {
	return map[string][]string{
		"blue":  {n00, n01, n30},
		"red":   {n10, n11},
		"mixed": {n00, n20, n21},
	}
}

func clusterPartitions() map[string][]string { return map[string][]string{"p1": {n00, n10}} }

func clusterInventory() *inventoryStub {
	return &inventoryStub{
		nodes:      func(context.Context) ([]selection.Node, error) { return clusterNodes(), nil },
		groups:     func(context.Context) (map[string][]string, error) { return clusterGroups(), nil },
		partitions: func(context.Context) (map[string][]string, error) { return clusterPartitions(), nil },
		locked:     func(context.Context) ([]string, error) { return []string{n30}, nil },
	}
}

var acme = tenant.New("acme", []string{n00, n10, n20, n21})

// images serves two manifests; any other path is an error.
var (
	imageA = bootsets.Image{Kernel: "s3://boot-images/a/kernel", Initrd: "s3://boot-images/a/initrd", BootParameters: "console=ttyS0,115200\nip=dhcp"}
	imageB = bootsets.Image{Kernel: "s3://boot-images/b/kernel", Initrd: "s3://boot-images/b/initrd",
		Rootfs: "s3://boot-images/b/rootfs", RootfsETag: "e-b", BootParameters: "quiet"}
)

func clusterImages() *imagesStub {
	return &imagesStub{image: func(_ context.Context, path string) (bootsets.Image, error) {
		switch path {
		case "s3://boot-images/a/manifest.json":
			return imageA, nil
		case "s3://boot-images/b/manifest.json":
			return imageB, nil
		}
		return bootsets.Image{}, errors.New("NoSuchKey: " + path)
	}}
}

func bootSetA(fs ...func(*bos.BootSet)) bos.BootSet {
	bs := bos.BootSet{Path: "s3://boot-images/a/manifest.json", Type: "s3", Arch: bos.ArchX86, KernelParameters: "bs=a"}
	for _, f := range fs {
		f(&bs)
	}
	return bs
}

func groups(g ...string) func(*bos.BootSet)   { return func(bs *bos.BootSet) { bs.NodeGroups = g } }
func roles(r ...string) func(*bos.BootSet)    { return func(bs *bos.BootSet) { bs.NodeRolesGroups = r } }
func nodeList(n ...string) func(*bos.BootSet) { return func(bs *bos.BootSet) { bs.NodeList = n } }
func arch(a string) func(*bos.BootSet)        { return func(bs *bos.BootSet) { bs.Arch = a } }

// ---- pure parts ----

func TestKernelParameters(t *testing.T) {
	img := bootsets.Image{Kernel: "k", Rootfs: "s3://b/rootfs", RootfsETag: "abc", BootParameters: "  console=ttyS0\n ip=dhcp\t quiet "}
	v2 := bootsets.V2Params(bos.Options{ComponentActualStateTTL: "4h"})
	v1 := bootsets.V1Params(bos.Options{ComponentActualStateTTL: "4h"})
	tests := []struct {
		name    string
		rules   bootsets.ParamRules
		img     bootsets.Image
		bs      bos.BootSet
		want    string
		wantErr string
	}{
		{name: "nothing but the update frequency", rules: v2, img: bootsets.Image{Kernel: "k"},
			want: "bos_update_frequency=4h"},
		{name: "nothing at all without an update frequency", rules: bootsets.ParamRules{}, img: bootsets.Image{Kernel: "k"},
			want: ""},
		{name: "image params split on white space, then boot set params as is", rules: v2, img: img,
			bs:   bos.BootSet{KernelParameters: "a=1  b=2"},
			want: "console=ttyS0 ip=dhcp quiet a=1  b=2 bos_update_frequency=4h"},
		{name: "sbps", rules: v2, img: img, bs: bos.BootSet{KernelParameters: "x", RootfsProvider: "sbps"},
			want: "console=ttyS0 ip=dhcp quiet x root=sbps-s3:s3://b/rootfs:abc nmd_data=url=s3://b/rootfs,etag=abc bos_update_frequency=4h"},
		{name: "sbps with passthrough", rules: v2, img: img, bs: bos.BootSet{RootfsProvider: "sbps", RootfsProviderPassthrough: "sbps:v1:iqn:300"},
			want: "console=ttyS0 ip=dhcp quiet root=sbps-s3:s3://b/rootfs:abc:sbps:v1:iqn:300 nmd_data=url=s3://b/rootfs,etag=abc bos_update_frequency=4h"},
		{name: "no provider, passthrough only", rules: v2, img: img, bs: bos.BootSet{RootfsProviderPassthrough: "pt"},
			want: "console=ttyS0 ip=dhcp quiet root=::pt bos_update_frequency=4h"},
		{name: "sbps without a rootfs", rules: v2, img: bootsets.Image{Kernel: "k"}, bs: bos.BootSet{RootfsProvider: "sbps"},
			wantErr: "rootfs_provider sbps needs a rootfs artifact"},
		{name: "v2: cpss3 unsupported", rules: v2, img: img, bs: bos.BootSet{RootfsProvider: "cpss3"},
			wantErr: `unsupported rootfs_provider "cpss3"; supported: sbps`},
		{name: "v1: cpss3", rules: v1, img: img, bs: bos.BootSet{KernelParameters: "k=1", RootfsProvider: "cpss3", RootfsProviderPassthrough: "dvs:x"},
			want: "console=ttyS0 ip=dhcp quiet k=1 root=craycps-s3:s3://b/rootfs:abc:dvs:x nmd_data=url=s3://b/rootfs,etag=abc bos_update_frequency=4h"},
		{name: "v1 and v2 agree on sbps", rules: v1, img: img, bs: bos.BootSet{KernelParameters: "x", RootfsProvider: "sbps"},
			want: "console=ttyS0 ip=dhcp quiet x root=sbps-s3:s3://b/rootfs:abc nmd_data=url=s3://b/rootfs,etag=abc bos_update_frequency=4h"},
		{name: "v1: cpss3 without a rootfs", rules: v1, img: bootsets.Image{Kernel: "k"}, bs: bos.BootSet{RootfsProvider: "cpss3"},
			wantErr: "rootfs_provider cpss3 needs a rootfs artifact"},
		{name: "v1: unknown provider", rules: v1, img: img, bs: bos.BootSet{RootfsProvider: "nfs"},
			wantErr: `unsupported rootfs_provider "nfs"; supported: cpss3, sbps`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bootsets.KernelParameters(tc.img, tc.bs, tc.rules)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestBootSetConfiguration(t *testing.T) {
	withCFS := func(c string) *bos.CFS { return &bos.CFS{Configuration: c} }
	tests := []struct {
		name string
		tmpl bos.SessionTemplate
		bs   bos.BootSet
		want string
	}{
		{name: "boot set overrides template", tmpl: bos.SessionTemplate{EnableCFS: true, CFS: withCFS("t")}, bs: bos.BootSet{CFS: withCFS("b")}, want: "b"},
		{name: "template when the boot set has none", tmpl: bos.SessionTemplate{EnableCFS: true, CFS: withCFS("t")}, want: "t"},
		{name: "template when the boot set's is empty", tmpl: bos.SessionTemplate{EnableCFS: true, CFS: withCFS("t")}, bs: bos.BootSet{CFS: withCFS("")}, want: "t"},
		{name: "neither", tmpl: bos.SessionTemplate{EnableCFS: true}, want: ""},
		{name: "enable_cfs false wins over both", tmpl: bos.SessionTemplate{EnableCFS: false, CFS: withCFS("t")}, bs: bos.BootSet{CFS: withCFS("b")}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, sessions.BootSetConfiguration(&tc.tmpl, tc.bs))
		})
	}
}

func TestTargetState(t *testing.T) {
	tmpl := &bos.SessionTemplate{EnableCFS: true, CFS: &bos.CFS{Configuration: "cfg"}}
	opts := bos.DefaultOptions()
	opts.ComponentActualStateTTL = "2d"

	got, err := sessions.TargetState(bos.OpBoot, tmpl, bootSetA(), imageA, bootsets.V2Params(opts))
	require.NoError(t, err)
	assert.Equal(t, sessions.Target{
		BootArtifacts: bos.BootArtifacts{Kernel: imageA.Kernel, Initrd: imageA.Initrd,
			KernelParameters: "console=ttyS0,115200 ip=dhcp bs=a bos_update_frequency=2d"},
		Configuration: "cfg",
	}, got)

	got, err = sessions.TargetState(bos.OpShutdown, tmpl, bootSetA(), bootsets.Image{}, bootsets.V2Params(opts))
	require.NoError(t, err)
	assert.Equal(t, sessions.Target{}, got, "shutdown: empty artifacts and configuration")

	_, err = sessions.TargetState(bos.OpReboot, tmpl, bootSetA(), bootsets.Image{Initrd: "i"}, bootsets.V2Params(opts))
	assert.ErrorContains(t, err, "no kernel")

	long := bootSetA(func(bs *bos.BootSet) { bs.KernelParameters = strings.Repeat("x", 4090) })
	_, err = sessions.TargetState(bos.OpBoot, tmpl, long, imageA, bootsets.V2Params(opts))
	assert.ErrorContains(t, err, "at most 4096")

	longCfg := &bos.SessionTemplate{EnableCFS: true, CFS: &bos.CFS{Configuration: strings.Repeat("c", 128)}}
	_, err = sessions.TargetState(bos.OpBoot, longCfg, bootSetA(), imageA, bootsets.V2Params(opts))
	assert.ErrorContains(t, err, "at most 127")
}

// ---- Run against a real store ----

// setupEnv is a store holding a BOS component for every cluster node but n40, plus a
// Setup wired to the fakes.
type setupEnv struct {
	st    *store.Store
	setup *sessions.Setup
	inv   *inventoryStub
	opts  bos.Options
}

func newSetupEnv(t *testing.T) *setupEnv {
	t.Helper()
	return newSetupEnvOn(t, store.Config{})
}

func newSetupEnvOn(t *testing.T, cfg store.Config) *setupEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	var comps []bos.Component
	for _, n := range clusterNodes() {
		if n.ID != n40 {
			comps = append(comps, bos.NewComponent(n.ID, setupNow.Add(-time.Hour)))
		}
	}
	_, err = st.PutComponents(ctx, comps)
	require.NoError(t, err)
	inv := clusterInventory()
	return &setupEnv{
		st:  st,
		inv: inv,
		setup: &sessions.Setup{
			Store: st, Inventory: inv, Images: clusterImages(),
			Tenants: tenant.NewMemory(acme),
			Now:     func() time.Time { return setupNow },
		},
		opts: bos.DefaultOptions(),
	}
}

func (e *setupEnv) putTemplate(t *testing.T, tmpl bos.SessionTemplate) {
	t.Helper()
	require.NoError(t, e.st.PutTemplate(context.Background(), tmpl))
}

// run creates a pending session, runs setup on it and returns the stored session.
func (e *setupEnv) run(t *testing.T, sess bos.Session) bos.Session {
	t.Helper()
	ctx := context.Background()
	sess.Status = bos.SessionStatus{Status: bos.SessionPending, StartTime: setupNow.Add(-time.Minute)}
	require.NoError(t, e.st.CreateSession(ctx, sess))
	require.NoError(t, e.setup.Run(ctx, sess, e.opts))
	got, err := e.st.GetSession(ctx, sess.Tenant, sess.Name)
	require.NoError(t, err)
	return got
}

func (e *setupEnv) comp(t *testing.T, id string) bos.Component {
	t.Helper()
	c, err := e.st.GetComponent(context.Background(), id)
	require.NoError(t, err)
	return c
}

// patch changes a stored component directly.
func (e *setupEnv) patch(t *testing.T, id string, f func(*bos.Component)) {
	t.Helper()
	_, err := e.st.UpdateComponent(context.Background(), id, func(c *bos.Component) error { f(c); return nil })
	require.NoError(t, err)
}

func template(name string, boot map[string]bos.BootSet) bos.SessionTemplate {
	return bos.SessionTemplate{Name: name, EnableCFS: true, CFS: &bos.CFS{Configuration: "cfg-t"}, BootSets: boot}
}

var targetA = bos.BootArtifacts{Kernel: imageA.Kernel, Initrd: imageA.Initrd,
	KernelParameters: "console=ttyS0,115200 ip=dhcp bs=a bos_update_frequency=4h"}

var booted = bos.BootArtifacts{Kernel: "s3://old/kernel", Initrd: "s3://old/initrd", KernelParameters: "old"}

func assertRunning(t *testing.T, sess bos.Session, components ...string) {
	t.Helper()
	assert.Equal(t, bos.SessionRunning, sess.Status.Status)
	assert.Nil(t, sess.Status.Error)
	assert.Nil(t, sess.Status.EndTime)
	assert.Equal(t, strings.Join(components, ","), sess.Components)
}

// assertFailed checks a session completed by a setup failure, with its status frozen.
func (e *setupEnv) assertFailed(t *testing.T, sess bos.Session, errContains string) {
	t.Helper()
	assert.Equal(t, bos.SessionComplete, sess.Status.Status)
	require.NotNil(t, sess.Status.Error)
	assert.Contains(t, *sess.Status.Error, errContains)
	require.NotNil(t, sess.Status.EndTime)
	assert.True(t, sess.Status.EndTime.Equal(setupNow))
	assert.Empty(t, sess.Components)
	frozen, ok, err := e.st.GetSessionStatus(context.Background(), sess.Tenant, sess.Name)
	require.NoError(t, err)
	require.True(t, ok, "a failed session's extended status is frozen")
	assert.Equal(t, bos.SessionComplete, frozen.Status)
	assert.Equal(t, 0, frozen.ManagedComponentsCount)
	assert.Equal(t, "0:01:00", frozen.Timing.Duration)
}

func TestSetupBoot(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(groups("blue"))}))
	e.patch(t, n00, func(c *bos.Component) {
		c.ActualState.BootArtifacts = booted
		c.DesiredState = bos.DesiredState{BootArtifacts: booted, BSSToken: "old-token"}
		c.EventStats.PowerOnAttempts = 2
		c.Error = "old error"
	})

	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t"})
	assertRunning(t, sess, n00, n01) // n30 is locked

	for _, id := range []string{n00, n01} {
		c := e.comp(t, id)
		assert.Equal(t, targetA, c.DesiredState.BootArtifacts, id)
		assert.Equal(t, "cfg-t", c.DesiredState.Configuration, id)
		assert.Empty(t, c.DesiredState.BSSToken, id)
		assert.True(t, c.DesiredState.LastUpdated.Equal(setupNow), id)
		assert.Equal(t, "s1", c.Session, id)
		assert.True(t, c.Enabled, id)
		assert.Equal(t, bos.StatusOnHold, c.Status.StatusOverride, "enabling puts the node on hold until the reconciler looks")
		assert.Equal(t, bos.LastAction{Action: bos.ActionSessionSetup, LastUpdated: setupNow}, c.LastAction, id)
		assert.Empty(t, c.Error, id)
		assert.Equal(t, bos.EventStats{}, c.EventStats, id)
	}
	assert.Equal(t, booted, e.comp(t, n00).ActualState.BootArtifacts, "boot keeps the actual state")
	locked := e.comp(t, n30)
	assert.False(t, locked.Enabled)
	assert.Empty(t, locked.Session)
}

func TestSetupReboot(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(nodeList(n00))}))
	e.patch(t, n00, func(c *bos.Component) {
		c.ActualState = bos.ActualState{BootArtifacts: targetA, BSSToken: "tok", LastUpdated: setupNow.Add(-time.Minute)}
	})
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpReboot, TemplateName: "t"})
	assertRunning(t, sess, n00)
	c := e.comp(t, n00)
	assert.Equal(t, targetA, c.DesiredState.BootArtifacts)
	assert.Equal(t, bos.ActualState{LastUpdated: setupNow}, c.ActualState, "reboot empties the actual state")
	assert.True(t, c.Enabled)
}

func TestSetupShutdown(t *testing.T) {
	e := newSetupEnv(t)
	e.setup.Images = &imagesStub{} // a shutdown reads no image: a call would panic
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": {Path: "s3://gone/manifest.json", Type: "s3", NodeList: []string{n00}}}))
	e.patch(t, n00, func(c *bos.Component) {
		c.ActualState.BootArtifacts = booted
		c.DesiredState = bos.DesiredState{BootArtifacts: booted, Configuration: "cfg-old"}
	})
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpShutdown, TemplateName: "t"})
	assertRunning(t, sess, n00)
	c := e.comp(t, n00)
	assert.Equal(t, bos.DesiredState{LastUpdated: setupNow}, c.DesiredState, "shutdown: empty desired state")
	assert.Equal(t, booted, c.ActualState.BootArtifacts)
	assert.True(t, c.Enabled)
	assert.Equal(t, "s1", c.Session)
}

func TestSetupStaged(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(nodeList(n00, n01))}))
	previous := bos.DesiredState{BootArtifacts: booted, Configuration: "cfg-old", BSSToken: "tok", LastUpdated: setupNow.Add(-time.Hour)}
	e.patch(t, n00, func(c *bos.Component) {
		c.DesiredState = previous
		c.Session = "older"
		c.Enabled = true
		c.Error = "old error"
	})
	sess := e.run(t, bos.Session{Name: "st", Operation: bos.OpReboot, TemplateName: "t", Stage: true})
	assertRunning(t, sess, n00, n01)

	c := e.comp(t, n00)
	assert.Equal(t, bos.StagedState{BootArtifacts: targetA, Configuration: "cfg-t", Session: "st", LastUpdated: setupNow}, c.StagedState)
	assert.Equal(t, previous, c.DesiredState, "staging leaves the desired state alone")
	assert.Equal(t, "older", c.Session)
	assert.True(t, c.Enabled)
	assert.Empty(t, c.Error)
	assert.Equal(t, bos.ActionNewlyDiscovered, c.LastAction.Action)
	assert.False(t, e.comp(t, n01).Enabled, "staging does not enable")

	// A staged shutdown names its session too (BOS 2.43+ would keep "st" here).
	sess = e.run(t, bos.Session{Name: "st-off", Operation: bos.OpShutdown, TemplateName: "t", Stage: true})
	assertRunning(t, sess, n00, n01)
	c = e.comp(t, n00)
	assert.Equal(t, bos.StagedState{Session: "st-off", LastUpdated: setupNow}, c.StagedState)
	assert.Equal(t, previous, c.DesiredState)
}

func TestSetupLimitAndSelection(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(roles("Compute"))}))
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t", Limit: "blue,p1,!" + n01})
	assertRunning(t, sess, n00, n10)
	assert.False(t, e.comp(t, n01).Enabled)

	// include_disabled picks up the HSM-disabled node; n40 (no BOS component) is dropped.
	sess = e.run(t, bos.Session{Name: "s2", Operation: bos.OpBoot, TemplateName: "t", IncludeDisabled: true})
	assertRunning(t, sess, n00, n01, n10, n21)
	_, err := e.st.GetComponent(context.Background(), n40)
	assert.True(t, bos.IsNotFound(err), "setup never creates components")
}

func TestSetupLastBootSetWins(t *testing.T) {
	e := newSetupEnv(t)
	bsB := bos.BootSet{Path: "s3://boot-images/b/manifest.json", Type: "s3", NodeList: []string{n00, n31},
		RootfsProvider: "sbps", CFS: &bos.CFS{Configuration: "cfg-b"}}
	e.putTemplate(t, template("t", map[string]bos.BootSet{
		"b-second": bsB,
		"a-first":  bootSetA(nodeList(n00, n01)),
	}))
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t"})
	assertRunning(t, sess, n00, n01, n31)

	targetB := bos.BootArtifacts{Kernel: imageB.Kernel, Initrd: imageB.Initrd,
		KernelParameters: "quiet root=sbps-s3:s3://boot-images/b/rootfs:e-b nmd_data=url=s3://boot-images/b/rootfs,etag=e-b bos_update_frequency=4h"}
	for id, want := range map[string]bos.DesiredState{
		n00: {BootArtifacts: targetB, Configuration: "cfg-b", LastUpdated: setupNow}, // in both: the later name wins
		n01: {BootArtifacts: targetA, Configuration: "cfg-t", LastUpdated: setupNow},
		n31: {BootArtifacts: targetB, Configuration: "cfg-b", LastUpdated: setupNow},
	} {
		assert.Equal(t, want, e.comp(t, id).DesiredState, id)
	}
}

func TestSetupReadsInventoryOnce(t *testing.T) {
	e := newSetupEnv(t)
	reads := map[string]int{}
	inv := clusterInventory()
	e.setup.Inventory = &inventoryStub{
		nodes:  func(ctx context.Context) ([]selection.Node, error) { reads["nodes"]++; return inv.nodes(ctx) },
		groups: func(ctx context.Context) (map[string][]string, error) { reads["groups"]++; return inv.groups(ctx) },
		partitions: func(ctx context.Context) (map[string][]string, error) {
			reads["partitions"]++
			return inv.partitions(ctx)
		},
		locked: func(ctx context.Context) ([]string, error) { reads["locks"]++; return inv.locked(ctx) },
	}
	imageReads := 0
	e.setup.Images = &imagesStub{image: func(ctx context.Context, path string) (bootsets.Image, error) {
		imageReads++
		return clusterImages().image(ctx, path)
	}}
	e.putTemplate(t, template("t", map[string]bos.BootSet{
		"one": bootSetA(groups("blue")), "two": bootSetA(groups("red")), "three": bootSetA(roles("Management")),
	}))
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t", Limit: "all,!p1"})
	assertRunning(t, sess, n01, n31)
	assert.Equal(t, map[string]int{"nodes": 1, "groups": 1, "partitions": 1, "locks": 1}, reads)
	assert.Equal(t, 1, imageReads, "three boot sets, one manifest")
}

func TestSetupBatches(t *testing.T) {
	e := newSetupEnv(t)
	e.opts.MaxComponentBatchSize = 1
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(roles("Compute"))}))
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t"})
	assertRunning(t, sess, n00, n01, n10)
	for _, id := range []string{n00, n01, n10} {
		assert.Equal(t, "s1", e.comp(t, id).Session)
	}
}

// Setup reads and writes chunk by chunk: the first chunk is written before the last
// node's record is read, so the reconciler starts on it while the rest is read.
func TestSetupWritesAChunkBeforeReadingTheNext(t *testing.T) {
	e := newSetupEnv(t)
	e.opts.MaxComponentBatchSize = 1
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(roles("Compute"))}))
	cmds := &commandLog{}
	e.st.AddHook(cmds)
	sess := e.run(t, bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t"})
	assertRunning(t, sess, n00, n01, n10)

	firstWrite, firstReadOfLast := -1, -1
	for i, c := range cmds.list() {
		if firstWrite < 0 && (c.name == "set" || c.name == "mset") && strings.Contains(c.args, "component:") {
			firstWrite = i
		}
		if firstReadOfLast < 0 && strings.Contains(c.args, "component:"+n10) {
			firstReadOfLast = i
		}
	}
	require.GreaterOrEqual(t, firstWrite, 0, "a component was written")
	require.GreaterOrEqual(t, firstReadOfLast, 0, "the last node was read")
	assert.Less(t, firstWrite, firstReadOfLast, "a chunk written before the last node is read")
}

// commandLog is a go-redis hook that lists the commands sent, pipelined or not.
type commandLog struct {
	mu   sync.Mutex
	cmds []loggedCommand
}

type loggedCommand struct{ name, args string }

func (l *commandLog) add(cmds ...redis.Cmder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cmds {
		l.cmds = append(l.cmds, loggedCommand{name: c.Name(), args: fmt.Sprint(c.Args()...)})
	}
}

func (l *commandLog) list() []loggedCommand {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.cmds)
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.add(cmd)
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.add(cmds...)
		return next(ctx, cmds)
	}
}

func TestSetupTenant(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, bos.SessionTemplate{Name: "t", Tenant: "acme", EnableCFS: true, BootSets: map[string]bos.BootSet{
		"compute": bootSetA(roles("Compute")),
	}})
	sess := e.run(t, bos.Session{Name: "s1", Tenant: "acme", Operation: bos.OpBoot, TemplateName: "t"})
	assertRunning(t, sess, n00, n10) // Compute ∩ acme, HSM-enabled

	e.putTemplate(t, bos.SessionTemplate{Name: "outside", Tenant: "acme", EnableCFS: true, BootSets: map[string]bos.BootSet{
		"compute": bootSetA(nodeList(n00, n01)),
	}})
	sess = e.run(t, bos.Session{Name: "s2", Tenant: "acme", Operation: bos.OpBoot, TemplateName: "outside"})
	e.assertFailed(t, sess, "Boot set 'compute': node_list names nodes that are not available to tenant 'acme': "+n01)
	assert.Equal(t, "s1", e.comp(t, n00).Session, "a failed setup writes nothing")
}

func TestSetupFailures(t *testing.T) {
	hsmDown := func(context.Context) ([]selection.Node, error) { return nil, errors.New("connection refused") }
	tests := []struct {
		name    string
		tmpl    *bos.SessionTemplate
		sess    bos.Session
		change  func(*setupEnv)
		wantErr string
	}{
		{name: "unknown template", sess: bos.Session{TemplateName: "nope"},
			wantErr: "Session template 'nope' does not exist"},
		{name: "template of another tenant", tmpl: &bos.SessionTemplate{Name: "theirs", Tenant: "acme", EnableCFS: true,
			BootSets: map[string]bos.BootSet{"c": bootSetA(nodeList(n00))}}, sess: bos.Session{TemplateName: "theirs"},
			wantErr: "Session template 'theirs' does not exist"},
		{name: "untenanted template from a tenant session", tmpl: &bos.SessionTemplate{Name: "ours", EnableCFS: true,
			BootSets: map[string]bos.BootSet{"c": bootSetA(nodeList(n00))}}, sess: bos.Session{TemplateName: "ours", Tenant: "acme"},
			wantErr: "Session template 'ours' does not exist for tenant 'acme'"},
		{name: "unknown tenant", sess: bos.Session{TemplateName: "t", Tenant: "ghost"},
			wantErr: "Tenant 'ghost' does not exist"},
		{name: "no nodes", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": bootSetA(groups("red"), arch(bos.ArchARM))})),
			sess: bos.Session{TemplateName: "t"}, wantErr: sessions.MsgNoNodes},
		{name: "limit selects nothing", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": bootSetA(groups("blue"))})),
			sess: bos.Session{TemplateName: "t", Limit: n31}, wantErr: sessions.MsgNoNodes},
		{name: "bad limit", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": bootSetA(groups("blue"))})),
			sess: bos.Session{TemplateName: "t", Limit: n00 + ",,"}, wantErr: "item 2 is empty"},
		{name: "only unknown ids", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": bootSetA(nodeList(n40))})),
			sess: bos.Session{TemplateName: "t"}, wantErr: sessions.MsgNoBOSComponents},
		{name: "image unreadable", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": {Path: "s3://missing/manifest.json", Type: "s3", NodeList: []string{n00}}})),
			sess: bos.Session{TemplateName: "t"}, wantErr: "Boot set 'c': reading the image manifest s3://missing/manifest.json: NoSuchKey"},
		{name: "unsupported rootfs provider", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": bootSetA(nodeList(n00), func(bs *bos.BootSet) { bs.RootfsProvider = "cpss3" })})),
			sess: bos.Session{TemplateName: "t"}, wantErr: `Boot set 'c': unsupported rootfs_provider "cpss3"`},
		{name: "HSM error", tmpl: ptrTo(template("t", map[string]bos.BootSet{"c": bootSetA(nodeList(n00))})),
			sess: bos.Session{TemplateName: "t"}, change: func(e *setupEnv) { e.inv.nodes = hsmDown },
			wantErr: "Reading HSM components: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSetupEnv(t)
			if tc.tmpl != nil {
				e.putTemplate(t, *tc.tmpl)
			}
			if tc.change != nil {
				tc.change(e)
			}
			tc.sess.Name, tc.sess.Operation = "s1", bos.OpBoot
			sess := e.run(t, tc.sess)
			e.assertFailed(t, sess, tc.wantErr)
			comps, err := e.st.ListComponents(context.Background(), store.Filter{Session: "s1"})
			require.NoError(t, err)
			assert.Empty(t, comps, "a failed setup writes no component")
		})
	}
}

func TestSetupStoreFailureLeavesSessionPending(t *testing.T) {
	m := miniredis.RunT(t)
	e := newSetupEnvOn(t, store.Config{URL: "redis://" + m.Addr()})
	e.putTemplate(t, template("t", map[string]bos.BootSet{"c": bootSetA(nodeList(n00))}))
	// Redis starts failing once the plan is made (the image is the last thing read).
	e.setup.Images = &imagesStub{image: func(ctx context.Context, path string) (bootsets.Image, error) {
		m.SetError("LOADING Redis is loading the dataset in memory")
		return imageA, nil
	}}
	ctx := context.Background()
	sess := bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t",
		Status: bos.SessionStatus{Status: bos.SessionPending, StartTime: setupNow}}
	require.NoError(t, e.st.CreateSession(ctx, sess))
	err := e.setup.Run(ctx, sess, e.opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "session setup s1")

	m.SetError("")
	got, err := e.st.GetSession(ctx, "", "s1")
	require.NoError(t, err)
	assert.Equal(t, bos.SessionPending, got.Status.Status, "a store failure is retried, not recorded")
	assert.Empty(t, e.comp(t, n00).Session)

	e.setup.Images = clusterImages()
	require.NoError(t, e.setup.Run(ctx, got, e.opts))
	got, err = e.st.GetSession(ctx, "", "s1")
	require.NoError(t, err)
	assertRunning(t, got, n00)
}

func TestSetupIgnoresSessionsNotPending(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, template("t", map[string]bos.BootSet{"c": bootSetA(nodeList(n00))}))
	ctx := context.Background()
	sess := bos.Session{Name: "s1", Operation: bos.OpBoot, TemplateName: "t",
		Status: bos.SessionStatus{Status: bos.SessionRunning, StartTime: setupNow}}
	require.NoError(t, e.st.CreateSession(ctx, sess))
	require.NoError(t, e.setup.Run(ctx, sess, e.opts))
	assert.Empty(t, e.comp(t, n00).Session)

	// A stale pending copy of a session that is already running elsewhere is not redone.
	stale := sess
	stale.Status.Status = bos.SessionPending
	require.NoError(t, e.setup.Run(ctx, stale, e.opts))
	got, err := e.st.GetSession(ctx, "", "s1")
	require.NoError(t, err)
	assert.Equal(t, bos.SessionRunning, got.Status.Status)
	assert.Empty(t, got.Components)
	assert.Empty(t, e.comp(t, n00).Session, "nothing written for a stale copy")
}

func ptrTo[T any](v T) *T { return &v }

// BenchmarkSetupRun10k sets up a boot session over 10,000 nodes (one role, one image) on
// the embedded store: the whole of one Run, component writes included.
func BenchmarkSetupRun10k(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{})
	require.NoError(b, err)
	defer st.Close()
	nodes := make([]selection.Node, n)
	comps := make([]bos.Component, n)
	for i := range nodes {
		id := fmt.Sprintf("x%dc0s%db0n%d", 1000+i/64, i%64/2, i%2)
		nodes[i] = selection.Node{ID: id, Role: "Compute", Arch: "X86", Enabled: true}
		comps[i] = bos.NewComponent(id, setupNow)
	}
	_, err = st.PutComponents(ctx, comps)
	require.NoError(b, err)
	require.NoError(b, st.PutTemplate(ctx, template("t", map[string]bos.BootSet{"compute": bootSetA(roles("Compute"))})))
	inv := &inventoryStub{
		nodes:  func(context.Context) ([]selection.Node, error) { return nodes, nil },
		groups: func(context.Context) (map[string][]string, error) { return nil, nil },
		locked: func(context.Context) ([]string, error) { return nil, nil },
	}
	setup := &sessions.Setup{Store: st, Inventory: inv, Images: clusterImages(), Now: func() time.Time { return setupNow }}
	opts := bos.DefaultOptions()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sess := bos.Session{Name: fmt.Sprintf("s%d", i), Operation: bos.OpReboot, TemplateName: "t",
			Status: bos.SessionStatus{Status: bos.SessionPending, StartTime: setupNow}}
		require.NoError(b, st.CreateSession(ctx, sess))
		require.NoError(b, setup.Run(ctx, sess, opts))
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "nodes/s")
	got, err := st.GetSession(ctx, "", fmt.Sprintf("s%d", b.N-1))
	require.NoError(b, err)
	require.Equal(b, bos.SessionRunning, got.Status.Status)
	require.Equal(b, n, strings.Count(got.Components, ",")+1)
}

// A boot session taking over a node whose power-on for the same artifacts is under way
// keeps that power-on (last_action and bss_token); every other takeover resets it.
func TestApplySetupKeepsPowerOnInFlight(t *testing.T) {
	inFlight := func(fs ...func(*bos.Component)) bos.Component {
		c := bos.Component{ID: n00, Enabled: true, Session: "a"}
		c.DesiredState = bos.DesiredState{BootArtifacts: targetA, Configuration: "cfg-a", BSSToken: "tok-a"}
		c.LastAction = bos.LastAction{Action: bos.ActionPoweringOn, LastUpdated: setupNow.Add(-time.Second)}
		c.Status.Phase = bos.PhasePoweringOn
		for _, f := range fs {
			f(&c)
		}
		return c
	}
	boot := bos.Session{Name: "b", Operation: bos.OpBoot}
	for _, tc := range []struct {
		name   string
		c      bos.Component
		sess   bos.Session
		target bos.BootArtifacts
		keep   bool
	}{
		{"boot, same artifacts", inFlight(), boot, targetA, true},
		{"boot, same artifacts, the last call failed (it may have gone through)", inFlight(func(c *bos.Component) { c.LastAction.Failed = true }), boot, targetA, true},
		{"boot, other artifacts", inFlight(), boot, booted, false},
		{"reboot", inFlight(), bos.Session{Name: "b", Operation: bos.OpReboot}, targetA, false},
		{"shutdown", inFlight(), bos.Session{Name: "b", Operation: bos.OpShutdown}, bos.BootArtifacts{}, false},
		{"staged boot", inFlight(), bos.Session{Name: "b", Operation: bos.OpBoot, Stage: true}, targetA, false},
		{"no power-on under way", inFlight(func(c *bos.Component) { c.LastAction.Action = bos.ActionSessionSetup }), boot, targetA, false},
		{"disabled: done, nothing in flight", inFlight(func(c *bos.Component) { c.Enabled = false }), boot, targetA, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c.Clone()
			target := sessions.Target{BootArtifacts: tc.target, Configuration: "cfg-b"}
			sessions.ApplySetup(&c, tc.sess, target, setupNow)
			assert.Equal(t, tc.keep, sessions.KeepsPowerOn(tc.c, tc.sess, target))
			if tc.sess.Stage {
				assert.Equal(t, tc.c.LastAction, c.LastAction)
				return
			}
			assert.Equal(t, "b", c.Session)
			assert.Equal(t, "cfg-b", c.DesiredState.Configuration)
			assert.True(t, c.Enabled)
			if tc.keep {
				assert.Equal(t, tc.c.LastAction, c.LastAction, "the power-on in flight is kept")
				assert.Equal(t, "tok-a", c.DesiredState.BSSToken)
			} else {
				assert.Equal(t, bos.LastAction{Action: bos.ActionSessionSetup, LastUpdated: setupNow}, c.LastAction)
				assert.Empty(t, c.DesiredState.BSSToken)
			}
		})
	}
}

// BOS dies after setup wrote the components and before it marked the session running;
// the next process sets the session up again. A node the reconciler has meanwhile moved on
// keeps its progress: a rebooted node is not rebooted again. (TestCrashMatrix on 1,000
// nodes: hundreds of nodes rebooted twice.)
func TestSetupRunAgainAfterACrashKeepsProgress(t *testing.T) {
	e := newSetupEnv(t)
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(nodeList(n00, n01))}))
	sess := bos.Session{Name: "s1", Operation: bos.OpReboot, TemplateName: "t",
		Status: bos.SessionStatus{Status: bos.SessionPending, StartTime: setupNow.Add(-time.Minute)}}
	require.NoError(t, e.st.CreateSession(context.Background(), sess))
	require.NoError(t, e.setup.Run(context.Background(), sess, e.opts))
	// The reconciler rebooted n00 (it reported the target); as if the session were
	// still pending, setup runs again.
	progressed := func(c *bos.Component) {
		c.ActualState = bos.ActualState{BootArtifacts: targetA, BSSToken: "tok", LastUpdated: setupNow}
		c.LastAction = bos.LastAction{Action: bos.ActionPoweringOn, LastUpdated: setupNow}
		c.Status.Phase = bos.PhaseConfiguring
	}
	e.patch(t, n00, progressed)
	_, err := e.st.UpdateSession(context.Background(), "", "s1", func(x *bos.Session) error {
		x.Status.Status, x.Components = bos.SessionPending, "" // BOS died before marking it running
		return nil
	})
	require.NoError(t, err)
	want := e.comp(t, n00)
	require.NoError(t, e.setup.Run(context.Background(), sess, e.opts))
	assert.Equal(t, want, e.comp(t, n00), "not set up a second time")
	got, err := e.st.GetSession(context.Background(), "", "s1")
	require.NoError(t, err)
	assertRunning(t, got, n00, n01)
	assert.Equal(t, bos.ActualState{LastUpdated: setupNow}, e.comp(t, n01).ActualState, "a node not yet moved on stays set up")
}

// TakesNode: a session's setup never takes a node from a session created after it.
func TestTakesNode(t *testing.T) {
	t0 := setupNow
	sess := bos.Session{Name: "mid", Status: bos.SessionStatus{Epoch: 5, StartTime: t0}}
	order := map[string]bos.Creation{
		"older":        {Epoch: 4, Time: t0.Add(time.Hour)}, // the epoch decides, not the clock
		"newer":        {Epoch: 6, Time: t0.Add(-time.Hour)},
		"deleted":      {},                           // named by a node, gone: the oldest
		"legacy-older": {Time: t0.Add(-time.Minute)}, // stored before epochs: by start time
		"legacy-newer": {Time: t0.Add(time.Minute)},
	}
	tests := []struct {
		name   string
		holder string
		stage  bool
		want   bool
	}{
		{"nobody holds it", "", false, true},
		{"it holds it already", "mid", false, true},
		{"an older session holds it", "older", false, true},
		{"a deleted session holds it", "deleted", false, true},
		{"an older session without epoch", "legacy-older", false, true},
		{"a newer session holds it", "newer", false, false},
		{"a newer session without epoch", "legacy-newer", false, false},
		{"a session setup has not seen: created since", "unseen", false, false},
		{"staged: writes staged state only", "newer", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sess
			s.Stage = tc.stage
			assert.Equal(t, tc.want, sessions.TakesNode(tc.holder, s, order))
		})
	}
}

// A setup interrupted by a crash (it wrote its nodes, then BOS died before marking the
// session running) is run again after a newer session took one of its nodes over: the
// node stays with the newer session, and the older one runs with the nodes still its own.
// Before, the re-run took the node back while the newer session's took_over said it had it.
func TestSetupRerunLeavesNodesToNewerSessions(t *testing.T) {
	e := newSetupEnv(t)
	ctx := context.Background()
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(groups("blue"))}))
	pending := bos.SessionStatus{Status: bos.SessionPending, StartTime: setupNow.Add(-time.Minute)}
	old := bos.Session{Name: "old", Operation: bos.OpBoot, TemplateName: "t", Status: pending}
	require.NoError(t, e.st.CreateSession(ctx, old))
	old, err := e.st.GetSession(ctx, "", "old")
	require.NoError(t, err)
	for _, id := range []string{n00, n01} { // the interrupted run
		e.patch(t, id, func(c *bos.Component) {
			sessions.ApplySetup(c, old, sessions.Target{BootArtifacts: targetA}, setupNow)
		})
	}

	newer := e.run(t, bos.Session{Name: "new", Operation: bos.OpBoot, TemplateName: "t", Limit: n00})
	assertRunning(t, newer, n00)

	require.NoError(t, e.setup.Run(ctx, old, e.opts))
	old, err = e.st.GetSession(ctx, "", "old")
	require.NoError(t, err)
	assertRunning(t, old, n01)
	assert.Equal(t, "new", e.comp(t, n00).Session, "left to the newer session")
	assert.Equal(t, "old", e.comp(t, n01).Session)
	stats, err := e.st.SessionStats(ctx, "old", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, stats.Members, "the older session counts only the node still its own")
}

// An older session whose every node a newer one took over before its setup ran completes
// with an error saying so, and writes nothing.
func TestSetupAllNodesTakenOver(t *testing.T) {
	e := newSetupEnv(t)
	ctx := context.Background()
	e.putTemplate(t, template("t", map[string]bos.BootSet{"compute": bootSetA(nodeList(n00))}))
	old := bos.Session{Name: "old", Operation: bos.OpBoot, TemplateName: "t",
		Status: bos.SessionStatus{Status: bos.SessionPending, StartTime: setupNow.Add(-time.Minute)}}
	require.NoError(t, e.st.CreateSession(ctx, old))
	assertRunning(t, e.run(t, bos.Session{Name: "new", Operation: bos.OpBoot, TemplateName: "t"}), n00)

	require.NoError(t, e.setup.Run(ctx, old, e.opts))
	old, err := e.st.GetSession(ctx, "", "old")
	require.NoError(t, err)
	e.assertFailed(t, old, sessions.MsgTakenOver)
	assert.Equal(t, "new", e.comp(t, n00).Session)
}
