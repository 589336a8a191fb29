package bss

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/inproc"
)

// replicaPair is a primary BSS and a replica of it, joined by in-process HTTP; down cuts
// them apart both ways (a partition: the primary's changes and the replica's renewals
// get no answer), pushes counts the changes the replica was sent.
type replicaPair struct {
	primary *Server
	replica *Replica
	down    atomic.Bool
	oneWay  atomic.Bool // the primary cannot reach the replica, the replica reaches it
	pushes  atomic.Int32
	cancel  context.CancelFunc
	done    chan struct{}
}

const primaryHost, replicaHost = "bss.primary:27778", "bss.replica:27800"

func newReplicaPair(t *testing.T, nodes ...string) *replicaPair {
	t.Helper()
	p := &replicaPair{done: make(chan struct{})}
	hosts := &inproc.Hosts{Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, errors.New("unreachable: " + r.URL.Host)
	})}
	hc := &http.Client{Transport: hosts}
	p.primary = mustServer(t, Config{ReplicaClient: hc, ReplicaLease: 3 * time.Second, S3URL: "http://s3.example:8000", ChainURL: "http://gw.example/apis/bss"})
	ph := p.primary.Handler()
	hosts.Route(primaryHost, func(*http.Request) http.Handler {
		if p.down.Load() {
			return nil
		}
		return ph
	})
	p.replica = NewReplica(ReplicaConfig{Primary: "http://" + primaryHost, URL: "http://" + replicaHost, Client: hc, Nodes: nodes})
	h := p.replica.Handler()
	hosts.Route(replicaHost, func(*http.Request) http.Handler {
		if p.down.Load() || p.oneWay.Load() {
			return nil
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				p.pushes.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	return p
}

// run registers the replica and keeps it registered until stop.
func (p *replicaPair) run(t *testing.T) {
	t.Helper()
	require.NoError(t, p.replica.Register(t.Context()))
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { defer close(p.done); p.replica.Run(ctx) }()
}

func (p *replicaPair) stop() { p.cancel(); <-p.done }

// scripts are a node's boot script from the primary and, if the replica answers it,
// from the replica (else "").
func (p *replicaPair) scripts(t *testing.T, node string) (primary, replica string) {
	t.Helper()
	target := "/boot/v1/bootscript?name=" + node
	w := call(t, p.primary.Handler(), "GET", target, "")
	primary = w.Body.String()
	req := httptest.NewRequest("GET", target, nil)
	if h := p.replica.Route(req); h != nil {
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, req)
		replica = rw.Body.String()
	}
	return primary, replica
}

func (p *replicaPair) put(t *testing.T, body string) {
	t.Helper()
	w := call(t, p.primary.Handler(), "PUT", "/boot/v1/bootparameters", body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// A replica registering gets the whole state: its boot scripts are the primary's, byte
// for byte (the same parameters, tokens, settings and inventory).
func TestReplicaGetsTheWholeStateOnRegister(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.put(t, `{"hosts":["`+n1+`","`+n2+`"],"kernel":"s3://boot/k1","initrd":"s3://boot/i1","params":"console=ttyS0"}`)
		p.put(t, `{"kernel":"s3://boot/k1","params":"quiet"}`)
		_, replica := p.scripts(t, n1)
		assert.Empty(t, replica, "not registered: nothing served")
		p.run(t)
		defer p.stop()
		for _, n := range []string{n1, n2} {
			primary, replica := p.scripts(t, n)
			assert.Contains(t, primary, "bss_referral_token=")
			assert.Contains(t, primary, "quiet")
			assert.Equal(t, primary, replica, n)
		}
		assert.Zero(t, p.pushes.Load(), "the state came with the registration")
	})
}

// Every write is applied by the replica before the primary answers it, with a request
// per write (not per host): a boot script served after the answer is the new one.
func TestReplicaAppliesEveryWriteBeforeItIsAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.run(t)
		defer p.stop()
		p.put(t, `{"hosts":["`+n1+`","`+n2+`"],"kernel":"s3://boot/k1","params":"a=1"}`)
		assert.Equal(t, int32(1), p.pushes.Load(), "one change for both hosts")
		for _, n := range []string{n1, n2} {
			primary, replica := p.scripts(t, n)
			assert.Contains(t, primary, "a=1")
			assert.Equal(t, primary, replica, n)
		}
		w := call(t, p.primary.Handler(), "PATCH", "/boot/v1/bootparameters", `{"hosts":["`+n1+`"],"params":"b=2"}`)
		require.Equal(t, http.StatusOK, w.Code)
		primary, replica := p.scripts(t, n1)
		assert.Contains(t, primary, "b=2")
		assert.Equal(t, primary, replica)
		w = call(t, p.primary.Handler(), "DELETE", "/boot/v1/bootparameters", `{"hosts":["`+n2+`"]}`)
		require.Equal(t, http.StatusOK, w.Code)
		primary, replica = p.scripts(t, n2)
		assert.NotContains(t, primary, "a=1")
		assert.Equal(t, primary, replica)
		assert.Equal(t, int32(3), p.pushes.Load())
	})
}

// A replica the primary cannot reach is dropped: the write is answered once the
// replica's lease has run out (a bounded wait), and by then the replica serves nothing,
// so no node boots the parameters before the write; its nodes go to the primary until
// it has registered again, and then it serves the new parameters.
func TestUnreachableReplicaIsDroppedAndNeverServesStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.put(t, `{"hosts":["`+n1+`"],"kernel":"s3://boot/old","params":"v=old"}`)
		p.run(t)
		defer p.stop()
		_, replica := p.scripts(t, n1)
		require.Contains(t, replica, "v=old")

		p.down.Store(true)
		start := time.Now()
		p.put(t, `{"hosts":["`+n1+`"],"kernel":"s3://boot/new","params":"v=new"}`)
		took := time.Since(start)
		assert.LessOrEqual(t, took, 2*3*time.Second, "the wait is bounded by the lease")
		assert.Positive(t, took, "the write waited for the replica's lease to run out")
		primary, replica := p.scripts(t, n1)
		assert.Contains(t, primary, "v=new")
		assert.Empty(t, replica, "the replica no longer serves: its nodes go to the primary")

		p.down.Store(false)
		time.Sleep(time.Second) // a renewal is refused and the replica registers again
		synctest.Wait()
		primary, replica = p.scripts(t, n1)
		assert.Contains(t, replica, "v=new")
		assert.Equal(t, primary, replica)
	})
}

// Cut off from the primary, the replica stops serving by itself 0.9 of a lease after
// it last heard from it, before the primary counts its lease as over.
func TestReplicaCutOffFromThePrimaryStopsServing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.put(t, `{"hosts":["`+n1+`"],"kernel":"s3://boot/k","params":"v=1"}`)
		p.run(t)
		defer p.stop()
		p.down.Store(true)
		time.Sleep(3*time.Second*9/10 - time.Millisecond)
		assert.True(t, p.replica.Serving(), "within its lease")
		time.Sleep(2 * time.Millisecond)
		assert.False(t, p.replica.Serving(), "renewals failed: its lease ran out")
		_, replica := p.scripts(t, n1)
		assert.Empty(t, replica)
	})
}

// A change that does not follow the replica's last one is refused (409): the replica
// stops serving (putChange ends its lease before answering) and registers again.
func TestReplicaRefusesAChangeOutOfOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.run(t)
		defer p.stop()
		w := call(t, p.replica.Handler(), "PUT", ReplicaPathPrefix+"/replica", `{"seq": 7}`)
		assert.Equal(t, http.StatusConflict, w.Code)
		synctest.Wait()
		assert.True(t, p.replica.Serving(), "registered again")
		p.primary.repl.mu.Lock()
		assert.Equal(t, 2, p.primary.repl.next, "a second registration")
		p.primary.repl.mu.Unlock()
	})
}

// The replica answers only boot-script requests for nodes it knows; the rest (an
// unknown node, any other path) are the primary's. The fetches it serves reach the
// primary's endpoint history with its next renewal.
func TestReplicaRoutesBootScriptsOfKnownNodesAndReportsHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.put(t, `{"hosts":["`+n1+`"],"kernel":"s3://boot/k","params":"v=1"}`)
		p.run(t)
		defer p.stop()
		for target, want := range map[string]bool{
			"/boot/v1/bootscript?name=" + n1:           true,
			"/apis/bss/boot/v1/bootscript?mac=" + mac1: true,
			"/boot/v1/bootscript?nid=1":                true,
			"/boot/v1/bootscript?name=x9c0s0b0n0":      false,
			"/boot/v1/bootparameters?name=" + n1:       false,
			"/boot/v1/bootscript":                      false,
		} {
			assert.Equal(t, want, p.replica.Route(httptest.NewRequest("GET", target, nil)) != nil, target)
		}
		_, replica := p.scripts(t, n1)
		require.Contains(t, replica, "v=1")
		time.Sleep(time.Second + time.Millisecond) // a renewal
		synctest.Wait()
		var hist []bssapi.EndpointAccess
		w := call(t, p.primary.Handler(), "GET", "/boot/v1/endpoint-history?name="+n1, "")
		require.Equal(t, http.StatusOK, w.Code)
		require.NoError(t, jsonUnmarshal(w.Body.String(), &hist))
		require.Len(t, hist, 1)
		assert.Positive(t, hist[0].LastEpoch, "the replica's fetch is in the primary's history")
		assert.True(t, strings.EqualFold(hist[0].Endpoint, bssapi.EndpointBootscript))
	})
}

// A replica of some nodes (a shard's) keeps their inventory and entries, and every
// entry not under a node's xname (a role's, Default), not the other nodes': their
// boot scripts are the primary's to serve.
func TestReplicaOfSomeNodesKeepsOnlyTheirs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t, n1, n3)
		p.put(t, `{"hosts":["`+n1+`","`+n2+`"],"kernel":"s3://boot/k","params":"v=1"}`)
		p.put(t, `{"hosts":["Compute"],"kernel":"s3://boot/role","params":"role=1"}`)
		p.run(t)
		defer p.stop()
		p.put(t, `{"hosts":["`+n2+`"],"kernel":"s3://boot/k","params":"v=2"}`)
		p.replica.srv.mu.RLock()
		_, hasN2 := p.replica.srv.store.hosts[n2]
		_, hasRole := p.replica.srv.store.hosts["Compute"]
		p.replica.srv.mu.RUnlock()
		assert.False(t, hasN2, "another node's entry")
		assert.True(t, hasRole, "a role's entry")
		assert.Len(t, p.replica.srv.inv.Load().hosts, 2)
		primary, replica := p.scripts(t, n1)
		assert.Equal(t, primary, replica)
		primary, replica = p.scripts(t, n3) // disabled endpoint: the unknown-node script
		assert.Equal(t, primary, replica)
		_, replica = p.scripts(t, n2)
		assert.Empty(t, replica, "not its node: the primary's")
		// In-process, the same: its nodes' scripts, and status 0 (HTTP) for another's.
		primary, _ = p.scripts(t, n1)
		served := p.replica.Served()
		status, script := p.replica.BootScript(t.Context(), n1)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, primary, script)
		status, _ = p.replica.BootScript(t.Context(), n2)
		assert.Zero(t, status, "not its node: the primary's")
		assert.Equal(t, served+1, p.replica.Served())
	})
}

// A replica the primary cannot reach is refused at registration, so no write waits for it.
func TestReplicaThePrimaryCannotReachIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newReplicaPair(t)
		p.oneWay.Store(true)
		err := p.replica.Register(t.Context())
		require.ErrorContains(t, err, "status 502")
		start := time.Now()
		p.put(t, `{"hosts":["`+n1+`"],"kernel":"s3://boot/k","params":"v=1"}`)
		assert.Zero(t, time.Since(start), "no replica to wait for")
		_, replica := p.scripts(t, n1)
		assert.Empty(t, replica)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
