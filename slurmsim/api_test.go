package slurmsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/internal/testwait"
)

// TestAPI is one row per endpoint outcome: a request against a fresh 4-node controller
// (nid000001 runs job 1; nid000004's reboot is issued), the status, fragments the body
// must hold, and a check of the controller afterwards.
func TestAPI(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     []string
		after                    func(t *testing.T, e *env)
	}{
		{name: "nodes", method: "GET", path: "/slurm/v0.0.40/nodes", status: 200,
			want: []string{`"name":"nid000001"`, `"state":["ALLOCATED"]`, `"state":["DOWN","REBOOT_ISSUED"]`, `"partitions":["workq"]`,
				`"boot_time":{"set":true,"infinite":false,"number":1709294400}`, `"errors":[]`}},
		{name: "nodes, trailing slash", method: "GET", path: "/slurm/v0.0.40/nodes/", status: 200, want: []string{`"nid000004"`}},
		{name: "node", method: "GET", path: "/slurm/v0.0.40/node/nid000004", status: 200,
			want: []string{`"reason":"reboot requested : reboot issued"`, `"reason_set_by_user":"root"`, `"alloc_cpus":0`}},
		{name: "node hostlist", method: "GET", path: "/slurm/v0.0.40/node/nid00000[1-2]", status: 200, want: []string{`"nid000001"`, `"nid000002"`}},
		{name: "node unknown", method: "GET", path: "/slurm/v0.0.40/node/nid000009", status: 404,
			want: []string{`"error":"Invalid node name specified"`, `"error_number":2018`}},
		{name: "node update drain", method: "POST", path: "/slurm/v0.0.40/node/nid00000[2-3]", body: `{"state":["DRAIN"],"reason":"maint"}`,
			status: 200, after: func(t *testing.T, e *env) {
				assert.Equal(t, "IDLE+DRAIN", e.state("nid000003"))
				assert.Equal(t, "tester", e.node("nid000003").ReasonUser)
			}},
		{name: "node update without reason", method: "POST", path: "/slurm/v0.0.40/node/nid000002", body: `{"state":["DOWN"]}`,
			status: 400, want: []string{"You must specify a reason"}},
		{name: "node update two states", method: "POST", path: "/slurm/v0.0.40/node/nid000002", body: `{"state":["DOWN","DRAIN"],"reason":"x"}`, status: 400},
		{name: "node update unknown field", method: "POST", path: "/slurm/v0.0.40/node/nid000002", body: `{"features":"x"}`,
			status: 400, want: []string{"unknown field"}},
		{name: "node update malformed", method: "POST", path: "/slurm/v0.0.40/node/nid000002", body: `{"state":`, status: 400},
		{name: "node update oversized", method: "POST", path: "/slurm/v0.0.40/node/nid000002",
			body: `{"reason":"` + strings.Repeat("x", maxBody) + `"}`, status: 413},
		{name: "node update unknown node", method: "POST", path: "/slurm/v0.0.40/node/nid000009", body: `{"state":["DRAIN"],"reason":"x"}`, status: 404},
		{name: "node resume of idle node", method: "POST", path: "/slurm/v0.0.40/node/nid000002", body: `{"state":["RESUME"]}`, status: 409},
		{name: "jobs", method: "GET", path: "/slurm/v0.0.40/jobs", status: 200,
			want: []string{`"job_id":1`, `"job_state":["RUNNING"]`, `"nodes":"nid000001"`, `"time_limit":{"set":true,"infinite":true,"number":0}`}},
		{name: "job", method: "GET", path: "/slurm/v0.0.40/job/1", status: 200, want: []string{`"jobs":[{"job_id":1`}},
		{name: "job unknown", method: "GET", path: "/slurm/v0.0.40/job/7", status: 404, want: []string{`"error_number":2017`}},
		{name: "job id not a number", method: "GET", path: "/slurm/v0.0.40/job/x", status: 404},
		{name: "job cancel", method: "DELETE", path: "/slurm/v0.0.40/job/1", status: 200,
			after: func(t *testing.T, e *env) { assert.Equal(t, slurmapi.JobCancelled, e.job(1).State) }},
		{name: "job submit", method: "POST", path: "/slurm/v0.0.40/job/submit",
			body:   `{"job":{"name":"sleeper","nodes":"2","time_limit":{"set":true,"number":5},"script":"#!/bin/sh\nsleep 30\n","environment":["PATH=/bin"]}}`,
			status: 200, want: []string{`"job_id":2`, `"step_id":"batch"`},
			after: func(t *testing.T, e *env) {
				j := e.job(2)
				assert.Equal(t, "sleeper", j.Name)
				assert.Equal(t, "tester", j.User)
				assert.Equal(t, 5*time.Minute, j.TimeLimit)
				assert.Equal(t, 30*time.Second, j.Duration, "from the script's sleep")
				assert.Equal(t, "nid[000002-000003]", j.Nodes)
			}},
		{name: "job submit sim fields", method: "POST", path: "/slurm/v0.0.40/job/submit",
			body: `{"job":{"minimum_nodes":1,"sim_time_limit":90,"sim_duration":12.5}}`, status: 200,
			after: func(t *testing.T, e *env) {
				assert.Equal(t, 90*time.Second, e.job(2).TimeLimit)
				assert.Equal(t, 12500*time.Millisecond, e.job(2).Duration)
			}},
		{name: "job submit bad partition", method: "POST", path: "/slurm/v0.0.40/job/submit", body: `{"job":{"partition":"x"}}`,
			status: 400, want: []string{`"error_number":2000`}},
		{name: "job submit bad node count", method: "POST", path: "/slurm/v0.0.40/job/submit", body: `{"job":{"nodes":"many"}}`, status: 400},
		{name: "job submit too many nodes", method: "POST", path: "/slurm/v0.0.40/job/submit", body: `{"job":{"nodes":"5"}}`, status: 400},
		{name: "job submit no job", method: "POST", path: "/slurm/v0.0.40/job/submit", body: `{"script":"x"}`, status: 400},
		{name: "job submit unsupported field", method: "POST", path: "/slurm/v0.0.40/job/submit", body: `{"job":{"qos":"high"}}`, status: 400},
		{name: "partitions", method: "GET", path: "/slurm/v0.0.40/partitions", status: 200,
			want: []string{`"name":"workq"`, `"configured":"nid[000001-000004]"`, `"total":4`, `"default":true`}},
		{name: "partition", method: "GET", path: "/slurm/v0.0.40/partition/workq", status: 200},
		{name: "partition unknown", method: "GET", path: "/slurm/v0.0.40/partition/debug", status: 404},
		{name: "ping", method: "GET", path: "/slurm/v0.0.40/ping", status: 200, want: []string{`"pinged":"UP"`}},
		{name: "reboot", method: "POST", path: "/slurm/v0.0.40/reboot", body: `{"nodes":"nid00000[1-2]","asap":true,"next_state":"RESUME","reason":"Rolling Reboot"}`,
			status: 200, after: func(t *testing.T, e *env) {
				assert.Equal(t, "ALLOCATED+DRAIN+REBOOT_REQUESTED", e.state("nid000001"))
				assert.Equal(t, "Rolling Reboot", e.node("nid000002").Reason)
			}},
		{name: "reboot unknown node", method: "POST", path: "/slurm/v0.0.40/reboot", body: `{"nodes":"nid000009"}`, status: 404},
		{name: "reboot bad nextstate", method: "POST", path: "/slurm/v0.0.40/reboot", body: `{"nodes":"nid000001","next_state":"UP"}`,
			status: 400, want: []string{"Invalid state: UP"}},
		{name: "reboot no nodes", method: "POST", path: "/slurm/v0.0.40/reboot", body: `{}`, status: 400, want: []string{"Missing node list"}},
		{name: "cancel_reboot issued", method: "POST", path: "/slurm/v0.0.40/cancel_reboot", body: `{"nodes":"nid000004"}`,
			status: 409, want: []string{"already in progress"}},
		{name: "cancel_reboot", method: "POST", path: "/slurm/v0.0.40/cancel_reboot", body: `{"nodes":"nid000001"}`, status: 200},
		{name: "register completes the reboot", method: "POST", path: "/slurmsim/v1/nodes/nid000004/register",
			body: `{"boot_time":"2024-03-01T12:00:30Z"}`, status: 200,
			after: func(t *testing.T, e *env) { assert.Equal(t, "IDLE", e.state("nid000004")) }},
		{name: "register without boot time", method: "POST", path: "/slurmsim/v1/nodes/nid000004/register", body: `{}`, status: 400},
		{name: "register unknown node", method: "POST", path: "/slurmsim/v1/nodes/nid000009/register", body: `{"boot_time":"2024-03-01T12:00:30Z"}`, status: 404},
		{name: "stop", method: "POST", path: "/slurmsim/v1/nodes/nid000002/stop", status: 200,
			after: func(t *testing.T, e *env) {
				e.tick(time.Second)
				assert.Equal(t, "IDLE+NOT_RESPONDING", e.state("nid000002"))
			}},
		{name: "history", method: "GET", path: "/slurmsim/v1/nodes/nid000004/history", status: 200,
			want: []string{`"node":"nid000004"`, `"state":"DOWN+REBOOT_ISSUED"`, `"cause":"reboot issued"`}},
		{name: "history unknown", method: "GET", path: "/slurmsim/v1/nodes/x/history", status: 404},
		{name: "stats", method: "GET", path: "/slurmsim/v1/stats", status: 200, want: []string{`"jobs_started":1`, `"reboots_issued":1`}},
		{name: "workload none", method: "GET", path: "/slurmsim/v1/workload", status: 404},
		{name: "workload start", method: "PUT", path: "/slurmsim/v1/workload", body: `{"busy_share":0.5,"max_nodes":2,"min_duration":60,"max_duration":120,"seed":1}`,
			status: 200, want: []string{`"busy_share":0.5`, `"time_limit_factor":1.5`, `"partition":"workq"`},
			after: func(t *testing.T, e *env) {
				cfg, ok := e.s.Workload()
				require.True(t, ok)
				assert.Equal(t, 2*time.Minute, cfg.MaxDuration)
			}},
		{name: "workload invalid", method: "PUT", path: "/slurmsim/v1/workload", body: `{"busy_share":2}`, status: 400},
		{name: "workload stop", method: "DELETE", path: "/slurmsim/v1/workload", status: 200},
		{name: "wrong method", method: "PUT", path: "/slurm/v0.0.40/nodes", status: 405},
		{name: "unknown path", method: "GET", path: "/slurm/v0.0.39/nodes", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 4)
			e.submit(1, 0)
			e.reboot(slurmapi.RebootRequest{Nodes: "nid000004"})
			e.tick(time.Second)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, tt.path, body)
			req.Header.Set(slurmapi.UserHeader, "tester")
			rec := httptest.NewRecorder()
			e.s.Handler().ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			for _, w := range tt.want {
				assert.Contains(t, rec.Body.String(), w)
			}
			if rec.Header().Get("Content-Type") == "application/json" {
				assert.True(t, json.Valid(rec.Body.Bytes()), "JSON body")
			} else {
				assert.Contains(t, []int{404, 405}, rec.Code, "only the mux's own answers are not JSON")
			}
			if tt.after != nil {
				tt.after(t, e)
			}
		})
	}
}

// TestClientContract runs the Client against the real handler and compares what it
// returns with the controller's own view.
func TestClientContract(t *testing.T) {
	e := newEnv(t, 4, func(c *Config) { c.Epilog = time.Second })
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	c := slurmapi.NewClient(srv.URL, srv.Client())
	c.User = "alice"
	ctx := context.Background()

	id, err := c.Submit(ctx, slurmapi.JobDesc{Name: "a", Nodes: 2, TimeLimit: 90 * time.Second, Duration: 30 * time.Second})
	require.NoError(t, err)
	job, err := c.Job(ctx, id)
	require.NoError(t, err)
	want := e.job(id)
	assert.Equal(t, utcJob(want), utcJob(job))
	assert.Equal(t, "alice", job.User)

	require.NoError(t, c.Reboot(ctx, slurmapi.RebootRequest{Nodes: "nid00000[1-3]", ASAP: true, Reason: "rolling"}))
	e.tick(time.Second)
	nodes, err := c.Nodes(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 4)
	for i, got := range nodes {
		want := e.s.Nodes()[i]
		want.Xname, want.Jobs, want.BootReqTime = "", nil, time.Time{} // Go-only fields
		assert.Equal(t, utcNode(want), utcNode(got), want.Name)
	}
	assert.Equal(t, "DOWN+DRAIN+REBOOT_ISSUED", nodes[2].State.String())
	assert.Equal(t, "alice", nodes[0].ReasonUser)

	one, err := c.Node(ctx, "nid000001")
	require.NoError(t, err)
	assert.Equal(t, slurmapi.NextResume, one[0].NextState)
	assert.True(t, one[0].Undrain)

	err = c.CancelReboot(ctx, "nid000003")
	assert.Equal(t, slurmapi.CodeConflict, slurmapi.CodeOf(err))
	assert.EqualError(t, err, "REBOOT on node nid000003 already in progress -- unable to cancel")
	require.NoError(t, c.CancelReboot(ctx, "nid000001"))
	require.NoError(t, c.UpdateNode(ctx, slurmapi.NodeUpdate{Nodes: "nid00000[1,4]", State: "DRAIN", Reason: "maint"}))
	assert.Equal(t, "IDLE+DRAIN", e.state("nid000004"))
	assert.Equal(t, "maint", e.node("nid000001").Reason, "a hostlist survives path escaping")

	require.NoError(t, c.Register(ctx, "nid000003", e.clk.Now()))
	assert.Equal(t, "IDLE", e.state("nid000003"))
	require.NoError(t, c.StopSlurmd(ctx, "nid000003"))
	e.tick(time.Second)
	assert.Equal(t, "IDLE+NOT_RESPONDING", e.state("nid000003"))

	hist, err := c.History(ctx, "nid000003")
	require.NoError(t, err)
	local, _ := e.s.History("nid000003")
	require.Len(t, hist, len(local))
	for i := range hist {
		assert.True(t, local[i].At.Equal(hist[i].At))
		assert.Equal(t, local[i].State, hist[i].State)
		assert.Equal(t, local[i].Cause, hist[i].Cause)
	}

	parts, err := c.Partitions(ctx)
	require.NoError(t, err)
	assert.Equal(t, e.s.Partitions(), parts)

	jobs, err := c.Jobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.NoError(t, c.CancelJob(ctx, id))
	assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(c.CancelJob(ctx, 99)))

	_, err = c.Workload(ctx)
	assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(err))
	cfg, err := c.StartWorkload(ctx, slurmapi.WorkloadConfig{BusyShare: 0.5, MaxNodes: 2, Seed: 9})
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, cfg.MaxDuration)
	got, err := c.Workload(ctx)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)
	require.NoError(t, c.StopWorkload(ctx))

	st, err := c.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, e.s.Stats().RebootsIssued, st.RebootsIssued)

	_, err = c.Node(ctx, "nid000042")
	assert.Equal(t, slurmapi.CodeNotFound, slurmapi.CodeOf(err))
	assert.EqualError(t, err, "Invalid node name specified")
}

// TestRunningJobExpectedEnd: a running job's end time is its expected end (start plus
// time limit, as slurmctld shows it), in process and through the client alike; a rollout
// orders busy nodes by it. The client used to drop it.
func TestRunningJobExpectedEnd(t *testing.T) {
	e := newEnv(t, 2)
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	c := slurmapi.NewClient(srv.URL, srv.Client())
	ctx := context.Background()
	id, err := c.Submit(ctx, slurmapi.JobDesc{Name: "a", Nodes: 1, TimeLimit: 90 * time.Second, Duration: 30 * time.Second})
	require.NoError(t, err)
	e.tick(time.Second)
	jobs, err := c.Jobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, slurmapi.JobRunning, jobs[0].State)
	assert.Equal(t, jobs[0].StartTime.Add(90*time.Second), jobs[0].EndTime)
	assert.Equal(t, utcJob(e.job(id)), utcJob(jobs[0]))

	e.ticks(30)
	assert.Equal(t, slurmapi.JobCompleted, e.job(id).State)
	assert.Equal(t, e.job(id).StartTime.Add(30*time.Second), e.job(id).EndTime, "ended: when it ended")
}

// utcNode and utcJob drop the time zone, which JSON does not carry (Unix seconds).
func utcNode(n slurmapi.Node) slurmapi.Node {
	for _, p := range []*time.Time{&n.ReasonTime, &n.BootTime, &n.BootReqTime, &n.SlurmdStartTime, &n.LastBusy} {
		*p = p.UTC()
	}
	return n
}

func utcJob(j slurmapi.Job) slurmapi.Job {
	for _, p := range []*time.Time{&j.SubmitTime, &j.StartTime, &j.EndTime} {
		*p = p.UTC()
	}
	return j
}

func TestNoValDecoding(t *testing.T) {
	var v struct{ A, B, C slurmapi.NoVal }
	require.NoError(t, json.Unmarshal([]byte(`{"A":42,"B":{"set":true,"infinite":true,"number":0},"C":null}`), &v))
	assert.Equal(t, slurmapi.NoVal{Set: true, Number: 42}, v.A)
	assert.True(t, v.B.Infinite)
	assert.Equal(t, slurmapi.NoVal{}, v.C)
	assert.Error(t, json.Unmarshal([]byte(`{"A":"x"}`), &v))
}

// TestConcurrentRealTime drives the real-time loop while clients hammer the API, for the
// race detector, and waits (with a deadline) for the outcome.
func TestConcurrentRealTime(t *testing.T) {
	prog := &recorder{}
	s, err := New(Config{Nodes: nodeNames(16), RebootProgram: prog, TickInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c := slurmapi.NewClient(srv.URL, srv.Client())
	require.NoError(t, s.StartWorkload(slurmapi.WorkloadConfig{BusyShare: 0.7, MaxNodes: 3, MinDuration: 20 * time.Millisecond, MaxDuration: 80 * time.Millisecond}))

	errs := make(chan error, 8)
	for w := 0; w < 4; w++ {
		go func() {
			for i := 0; i < 25; i++ {
				if _, err := c.Nodes(ctx); err != nil {
					errs <- err
					return
				}
				if _, err := c.Jobs(ctx); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	require.NoError(t, c.Reboot(ctx, slurmapi.RebootRequest{Nodes: "ALL", ASAP: true}))
	for w := 0; w < 4; w++ {
		require.NoError(t, <-errs)
	}
	stats := func() string { return fmt.Sprintf("stats %+v", s.Stats()) }
	testwait.Until(t, "16 reboots issued", func() bool { return s.Stats().RebootsIssued == 16 }, stats)
	for _, n := range s.Nodes() {
		require.NoError(t, c.Register(ctx, n.Name, time.Now()))
	}
	testwait.Until(t, "16 reboots completed", func() bool { return s.Stats().RebootsCompleted == 16 }, stats)
	cancel()
	require.NoError(t, <-done)
	require.NoError(t, s.Close())
	total := 0
	for _, call := range prog.Calls() {
		total += len(call)
	}
	assert.Equal(t, 16, total, "every node in exactly one RebootProgram call")
}
