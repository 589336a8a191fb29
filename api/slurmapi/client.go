package slurmapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/api/slurmapi/hostlist"
)

// Client speaks the simulator's slurmrestd-shaped API (and its extensions). Errors the
// server reports come back as *Error with slurmctld's message.
type Client struct {
	base string
	hc   *http.Client
	// User is sent as X-SLURM-USER-NAME; empty sends nothing (the server assumes root).
	User string
}

// NewClient returns a client for baseURL (scheme://host:port, no path); hc nil means
// http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// do sends body (JSON-encoded unless nil) and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("slurm %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("slurm %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.User != "" {
		req.Header.Set(UserHeader, c.User)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("slurm %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("slurm %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return responseError(resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("slurm %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// responseError turns an error answer back into an *Error.
func responseError(status int, raw []byte) error {
	code := CodeInvalid
	switch status {
	case http.StatusNotFound:
		code = CodeNotFound
	case http.StatusConflict:
		code = CodeConflict
	}
	var env APIEnvelope
	if json.Unmarshal(raw, &env) == nil && len(env.Errors) > 0 {
		e := env.Errors[0]
		msg := e.Error
		if msg == "" {
			msg = e.Description
		}
		return &Error{Code: code, Errno: e.ErrorNumber, Msg: msg}
	}
	msg := strings.TrimSpace(string(raw))
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Code: code, Msg: fmt.Sprintf("HTTP %d: %s", status, msg)}
}

// Nodes lists every node.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var resp APINodesResp
	if err := c.do(ctx, http.MethodGet, APIPrefix+"/nodes", nil, &resp); err != nil {
		return nil, err
	}
	return nodesOf(resp)
}

// Node returns one node (or several, for a hostlist).
func (c *Client) Node(ctx context.Context, name string) ([]Node, error) {
	var resp APINodesResp
	if err := c.do(ctx, http.MethodGet, APIPrefix+"/node/"+url.PathEscape(name), nil, &resp); err != nil {
		return nil, err
	}
	return nodesOf(resp)
}

func nodesOf(resp APINodesResp) ([]Node, error) {
	out := make([]Node, len(resp.Nodes))
	for i, a := range resp.Nodes {
		n, err := FromAPINode(a)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// UpdateNode is scontrol update for nodes (a hostlist) through POST /node/{name}.
func (c *Client) UpdateNode(ctx context.Context, u NodeUpdate) error {
	body := APINodeUpdate{Reason: u.Reason}
	if u.State != "" {
		body.State = []string{u.State}
	}
	if u.Weight > 0 {
		body.Weight = &NoVal{Set: true, Number: int64(u.Weight)}
	}
	return c.do(ctx, http.MethodPost, APIPrefix+"/node/"+url.PathEscape(u.Nodes), body, nil)
}

// Reboot is scontrol reboot (our POST /reboot extension).
func (c *Client) Reboot(ctx context.Context, req RebootRequest) error {
	return c.do(ctx, http.MethodPost, APIPrefix+"/reboot", req, nil)
}

// CancelReboot is scontrol cancel_reboot (our POST /cancel_reboot extension).
func (c *Client) CancelReboot(ctx context.Context, nodes string) error {
	return c.do(ctx, http.MethodPost, APIPrefix+"/cancel_reboot", APICancelReboot{Nodes: nodes}, nil)
}

// Jobs lists the jobs the controller knows.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	jobs, _, err := c.JobsAt(ctx)
	return jobs, err
}

// JobsAt is Jobs with the server's clock (last_update), so squeue's elapsed times follow
// the controller's clock, injected or not.
func (c *Client) JobsAt(ctx context.Context) ([]Job, time.Time, error) {
	var resp APIJobsResp
	if err := c.do(ctx, http.MethodGet, APIPrefix+"/jobs", nil, &resp); err != nil {
		return nil, time.Time{}, err
	}
	out := make([]Job, len(resp.Jobs))
	for i, a := range resp.Jobs {
		out[i] = FromAPIJob(a)
	}
	now := resp.LastUpdate.Time()
	if now.IsZero() {
		now = time.Now()
	}
	return out, now, nil
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, id int) (Job, error) {
	var resp APIJobsResp
	if err := c.do(ctx, http.MethodGet, APIPrefix+"/job/"+strconv.Itoa(id), nil, &resp); err != nil {
		return Job{}, err
	}
	if len(resp.Jobs) != 1 {
		return Job{}, fmt.Errorf("slurm job %d: answer holds %d jobs", id, len(resp.Jobs))
	}
	return FromAPIJob(resp.Jobs[0]), nil
}

// Submit submits a job and returns its id. Time limit and duration travel exactly in
// our sim_ fields (time_limit is also set, in minutes, for real-API readers).
func (c *Client) Submit(ctx context.Context, d JobDesc) (int, error) {
	desc := &APIJobDesc{Name: d.Name, Partition: d.Partition, Nodes: strconv.Itoa(d.Nodes),
		MinimumCpusPerNode: d.CPUsPerNode, SimTimeLimit: d.TimeLimit.Seconds(), SimDuration: d.Duration.Seconds(),
		Script: "#!/bin/sh\n"}
	if d.TimeLimit > 0 {
		tl := MinutesNoVal(d.TimeLimit)
		desc.TimeLimit = &tl
	}
	var resp APIJobSubmitResp
	if err := c.do(ctx, http.MethodPost, APIPrefix+"/job/submit", APIJobSubmit{Job: desc}, &resp); err != nil {
		return 0, err
	}
	return resp.JobID, nil
}

// CancelJob is scancel.
func (c *Client) CancelJob(ctx context.Context, id int) error {
	return c.do(ctx, http.MethodDelete, APIPrefix+"/job/"+strconv.Itoa(id), nil, nil)
}

// Partitions lists the partitions.
func (c *Client) Partitions(ctx context.Context) ([]Partition, error) {
	var resp APIPartitionsResp
	if err := c.do(ctx, http.MethodGet, APIPrefix+"/partitions", nil, &resp); err != nil {
		return nil, err
	}
	out := make([]Partition, len(resp.Partitions))
	for i, a := range resp.Partitions {
		names, err := hostlist.Expand(a.Nodes.Configured) // "" gives nil
		if err != nil {
			return nil, fmt.Errorf("slurm partition %s: %w", a.Name, err)
		}
		out[i] = Partition{Name: a.Name, Nodes: names, Default: a.Default, MaxTime: a.Maximums.Time.Minutes()}
	}
	return out, nil
}

// Register is a slurmd registration (our extension): the node booted at bootTime.
func (c *Client) Register(ctx context.Context, node string, bootTime time.Time) error {
	return c.do(ctx, http.MethodPost, SimPrefix+"/nodes/"+url.PathEscape(node)+"/register", APIRegister{BootTime: bootTime}, nil)
}

// StopSlurmd says a node's slurmd went away (our extension).
func (c *Client) StopSlurmd(ctx context.Context, node string) error {
	return c.do(ctx, http.MethodPost, SimPrefix+"/nodes/"+url.PathEscape(node)+"/stop", nil, nil)
}

// History returns a node's recorded transitions (our extension).
func (c *Client) History(ctx context.Context, node string) ([]Transition, error) {
	var resp APIHistoryResp
	if err := c.do(ctx, http.MethodGet, SimPrefix+"/nodes/"+url.PathEscape(node)+"/history", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Transitions, nil
}

// Stats returns the controller's counters (our extension).
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var resp APIStatsResp
	err := c.do(ctx, http.MethodGet, SimPrefix+"/stats", nil, &resp)
	return resp.Stats, err
}

// StartWorkload starts or replaces the workload generator (our extension).
func (c *Client) StartWorkload(ctx context.Context, cfg WorkloadConfig) (WorkloadConfig, error) {
	var resp APIWorkloadResp
	if err := c.do(ctx, http.MethodPut, SimPrefix+"/workload", ToAPIWorkload(cfg), &resp); err != nil {
		return WorkloadConfig{}, err
	}
	return resp.Workload.Config(), nil
}

// Workload returns the running generator's configuration; a *Error with CodeNotFound
// means none runs.
func (c *Client) Workload(ctx context.Context) (WorkloadConfig, error) {
	var resp APIWorkloadResp
	if err := c.do(ctx, http.MethodGet, SimPrefix+"/workload", nil, &resp); err != nil {
		return WorkloadConfig{}, err
	}
	return resp.Workload.Config(), nil
}

// StopWorkload stops the generator.
func (c *Client) StopWorkload(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, SimPrefix+"/workload", nil, nil)
}
