package slurmsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/cray-bos/bos/api/slurmapi"
	"github.com/cray-bos/bos/api/slurmapi/hostlist"
	"github.com/cray-bos/bos/internal/problem"
)

// maxBody bounds request bodies (they are all small).
const maxBody = 1 << 20

// routes is the whole API on one screen: slurmrestd's paths first (in its document's
// order), then our extensions. Collection paths answer with and without the trailing
// slash slurmrestd's spec writes.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	both := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, h)
		mux.HandleFunc(pattern+"/{$}", h)
	}
	both("GET "+slurmapi.APIPrefix+"/jobs", s.getJobs)
	mux.HandleFunc("POST "+slurmapi.APIPrefix+"/job/submit", s.postJobSubmit)
	mux.HandleFunc("GET "+slurmapi.APIPrefix+"/job/{job_id}", s.getJob)
	mux.HandleFunc("DELETE "+slurmapi.APIPrefix+"/job/{job_id}", s.deleteJob)
	both("GET "+slurmapi.APIPrefix+"/nodes", s.getNodes)
	mux.HandleFunc("GET "+slurmapi.APIPrefix+"/node/{node_name}", s.getNode)
	mux.HandleFunc("POST "+slurmapi.APIPrefix+"/node/{node_name}", s.postNode)
	both("GET "+slurmapi.APIPrefix+"/partitions", s.getPartitions)
	mux.HandleFunc("GET "+slurmapi.APIPrefix+"/partition/{partition_name}", s.getPartition)
	both("GET "+slurmapi.APIPrefix+"/ping", s.getPing)
	// Extensions: slurmrestd has no reboot endpoints; these take scontrol's arguments.
	mux.HandleFunc("POST "+slurmapi.APIPrefix+"/reboot", s.postReboot)
	mux.HandleFunc("POST "+slurmapi.APIPrefix+"/cancel_reboot", s.postCancelReboot)
	// Simulator controls.
	mux.HandleFunc("POST "+slurmapi.SimPrefix+"/nodes/{node_name}/register", s.postRegister)
	mux.HandleFunc("POST "+slurmapi.SimPrefix+"/nodes/{node_name}/stop", s.postStop)
	mux.HandleFunc("GET "+slurmapi.SimPrefix+"/nodes/{node_name}/history", s.getHistory)
	mux.HandleFunc("GET "+slurmapi.SimPrefix+"/stats", s.getStats)
	mux.HandleFunc("GET "+slurmapi.SimPrefix+"/workload", s.getWorkload)
	mux.HandleFunc("PUT "+slurmapi.SimPrefix+"/workload", s.putWorkload)
	mux.HandleFunc("DELETE "+slurmapi.SimPrefix+"/workload", s.deleteWorkload)
	return mux
}

func (s *Server) meta(r *http.Request) *slurmapi.APIMeta {
	m := &slurmapi.APIMeta{}
	m.Plugin.Type, m.Plugin.Name, m.Plugin.DataParser = "openapi/slurmctld", "Slurm OpenAPI slurmctld", "data_parser/v0.0.40"
	m.Client.Source, m.Client.User = r.RemoteAddr, userOr(r.Header.Get(slurmapi.UserHeader))
	m.Slurm.Version.Major, m.Slurm.Version.Minor, m.Slurm.Version.Micro = "22", "05", "8"
	m.Slurm.Release, m.Slurm.Cluster = slurmapi.Release, "slurmsim"
	return m
}

func (s *Server) envelope(r *http.Request) slurmapi.APIEnvelope {
	return slurmapi.APIEnvelope{Meta: s.meta(r), Errors: []slurmapi.APIError{}, Warnings: []slurmapi.APIWarning{}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr answers with slurmrestd's error shape; the status comes from the error code.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	status, errno := http.StatusInternalServerError, 0
	var e *slurmapi.Error
	var d *problem.Details
	switch {
	case errors.As(err, &e):
		status, errno = e.Code.HTTPStatus(), e.Errno
	case errors.As(err, &d):
		status = d.Status
		err = errors.New(d.Detail)
	}
	env := s.envelope(r)
	env.Errors = []slurmapi.APIError{{Description: err.Error(), ErrorNumber: errno, Error: err.Error(), Source: r.URL.Path}}
	writeJSON(w, status, env)
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if d := problem.DecodeJSON(w, r, v, maxBody); d != nil {
		return d
	}
	return nil
}

func (s *Server) getJobs(w http.ResponseWriter, r *http.Request) {
	jobs := s.Jobs()
	resp := slurmapi.APIJobsResp{APIEnvelope: s.envelope(r), Jobs: make([]slurmapi.APIJob, len(jobs)), LastUpdate: slurmapi.UnixNoVal(s.now())}
	for i, j := range jobs {
		resp.Jobs[i] = slurmapi.ToAPIJob(j)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id, err := parseJobID(r.PathValue("job_id"))
	if err == nil {
		var j slurmapi.Job
		if j, err = s.Job(id); err == nil {
			writeJSON(w, http.StatusOK, slurmapi.APIJobsResp{APIEnvelope: s.envelope(r), Jobs: []slurmapi.APIJob{slurmapi.ToAPIJob(j)}, LastUpdate: slurmapi.UnixNoVal(s.now())})
			return
		}
	}
	s.writeErr(w, r, err)
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	id, err := parseJobID(r.PathValue("job_id"))
	if err == nil {
		err = s.CancelJob(id)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.envelope(r))
}

func (s *Server) postJobSubmit(w http.ResponseWriter, r *http.Request) {
	var req slurmapi.APIJobSubmit
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	d, err := jobDesc(req, r.Header.Get(slurmapi.UserHeader))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	id, err := s.Submit(d)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	resp := slurmapi.APIJobSubmitResp{APIEnvelope: s.envelope(r), JobID: id, StepID: "batch"}
	resp.Result.JobID, resp.Result.StepID = id, "batch"
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getNodes(w http.ResponseWriter, r *http.Request) {
	nodes := s.Nodes()
	resp := slurmapi.APINodesResp{APIEnvelope: s.envelope(r), Nodes: make([]slurmapi.APINode, len(nodes)), LastUpdate: slurmapi.UnixNoVal(s.now())}
	for i, n := range nodes {
		resp.Nodes[i] = slurmapi.ToAPINode(n)
	}
	writeJSON(w, http.StatusOK, resp)
}

// getNode accepts a hostlist as well as one name, as slurmrestd passes the path to
// slurmctld's node lookup.
func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	names, err := hostlist.Expand(r.PathValue("node_name"))
	if err != nil || len(names) == 0 {
		s.writeErr(w, r, errInvalidNode())
		return
	}
	resp := slurmapi.APINodesResp{APIEnvelope: s.envelope(r), LastUpdate: slurmapi.UnixNoVal(s.now())}
	for _, name := range names {
		n, err := s.Node(name)
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		resp.Nodes = append(resp.Nodes, slurmapi.ToAPINode(n))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) postNode(w http.ResponseWriter, r *http.Request) {
	var req slurmapi.APINodeUpdate
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if len(req.State) > 1 {
		s.writeErr(w, r, invalidf(0, "only one state may be given, not %s", strings.Join(req.State, "+")))
		return
	}
	u := slurmapi.NodeUpdate{Nodes: r.PathValue("node_name"), Reason: req.Reason, User: r.Header.Get(slurmapi.UserHeader)}
	if len(req.State) == 1 {
		u.State = req.State[0]
	}
	if req.Weight != nil && req.Weight.Set {
		u.Weight = int(req.Weight.Number)
	}
	if err := s.UpdateNode(u); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.envelope(r))
}

func (s *Server) partitionsResp(r *http.Request, only string) (slurmapi.APIPartitionsResp, error) {
	resp := slurmapi.APIPartitionsResp{APIEnvelope: s.envelope(r), Partitions: []slurmapi.APIPartition{}, LastUpdate: slurmapi.UnixNoVal(s.now())}
	for _, p := range s.Partitions() {
		if only != "" && p.Name != only {
			continue
		}
		a := slurmapi.APIPartition{Name: p.Name, Default: p.Default}
		a.Nodes.Configured, a.Nodes.Total = hostlist.Compress(p.Nodes), len(p.Nodes)
		a.Partition.State = []string{"UP"}
		a.Maximums.Time = slurmapi.MinutesNoVal(p.MaxTime)
		resp.Partitions = append(resp.Partitions, a)
	}
	if only != "" && len(resp.Partitions) == 0 {
		return resp, notFoundf(slurmapi.ErrnoInvalidPartitionName, "Invalid partition name specified")
	}
	return resp, nil
}

func (s *Server) getPartitions(w http.ResponseWriter, r *http.Request) {
	resp, _ := s.partitionsResp(r, "")
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getPartition(w http.ResponseWriter, r *http.Request) {
	resp, err := s.partitionsResp(r, r.PathValue("partition_name"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getPing(w http.ResponseWriter, r *http.Request) {
	type ping struct {
		Hostname   string `json:"hostname"`
		Pinged     string `json:"pinged"`
		Latency    int    `json:"latency"`
		Mode       string `json:"mode"`
		Responding bool   `json:"responding"`
		Primary    bool   `json:"primary"`
	}
	writeJSON(w, http.StatusOK, struct {
		slurmapi.APIEnvelope
		Pings []ping `json:"pings"`
	}{s.envelope(r), []ping{{Hostname: "slurmsim", Pinged: "UP", Mode: "primary", Responding: true, Primary: true}}})
}

func (s *Server) postReboot(w http.ResponseWriter, r *http.Request) {
	var req slurmapi.RebootRequest
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	req.User = r.Header.Get(slurmapi.UserHeader)
	if err := s.Reboot(req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.envelope(r))
}

func (s *Server) postCancelReboot(w http.ResponseWriter, r *http.Request) {
	var req slurmapi.APICancelReboot
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if err := s.CancelReboot(req.Nodes); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.envelope(r))
}

func (s *Server) postRegister(w http.ResponseWriter, r *http.Request) {
	var req slurmapi.APIRegister
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if req.BootTime.IsZero() {
		s.writeErr(w, r, invalidf(0, "boot_time is required"))
		return
	}
	if err := s.NodeRegistered(r.PathValue("node_name"), req.BootTime); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.envelope(r))
}

func (s *Server) postStop(w http.ResponseWriter, r *http.Request) {
	if err := s.SlurmdStopped(r.PathValue("node_name")); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.envelope(r))
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("node_name")
	hist, err := s.History(name)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, slurmapi.APIHistoryResp{APIEnvelope: s.envelope(r), Node: name, Transitions: hist})
}

func (s *Server) getStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, slurmapi.APIStatsResp{APIEnvelope: s.envelope(r), Stats: s.Stats()})
}

func (s *Server) getWorkload(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.Workload()
	if !ok {
		s.writeErr(w, r, notFoundf(0, "no workload is running"))
		return
	}
	writeJSON(w, http.StatusOK, slurmapi.APIWorkloadResp{APIEnvelope: s.envelope(r), Workload: slurmapi.ToAPIWorkload(cfg)})
}

func (s *Server) putWorkload(w http.ResponseWriter, r *http.Request) {
	var req slurmapi.APIWorkload
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if err := s.StartWorkload(req.Config()); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.getWorkload(w, r)
}

func (s *Server) deleteWorkload(w http.ResponseWriter, r *http.Request) {
	s.StopWorkload()
	writeJSON(w, http.StatusOK, s.envelope(r))
}
