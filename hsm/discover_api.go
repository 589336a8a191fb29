package hsm

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// The discovery API: POST /Inventory/Discover, /Inventory/DiscoveryStatus and the
// ServiceEndpoints discovery fills.

// discoverIn is hms-smd's DiscoverIn.
type discoverIn struct {
	XNames []string `json:"xnames"`
	Force  bool     `json:"force"`
}

func (s *Server) postDiscover(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in discoverIn
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return problem.New(http.StatusBadRequest, "reading request body: %v", err)
	}
	if len(bytes.TrimSpace(raw)) > 0 { // the body is optional
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if d := s.decode(w, r, &in); d != nil {
			return d
		}
	}
	ids := make([]string, 0, len(in.XNames))
	for _, x := range in.XNames {
		id, _, err := parseXname(x)
		if err != nil {
			return problem.New(http.StatusBadRequest, "invalid xname %q", x)
		}
		ids = append(ids, id)
	}
	s.mu.Lock()
	if len(ids) == 0 {
		ids = sortedKeys(s.rfeps)
	}
	for _, id := range ids {
		if _, ok := s.rfeps[id]; !ok {
			s.mu.Unlock()
			return problem.New(http.StatusNotFound, "no such xname: %s", id)
		}
	}
	if s.discStatus.Status == discStatusInProgress && !in.Force {
		s.mu.Unlock()
		return problem.New(http.StatusConflict, "discovery already in progress; use force to start another")
	}
	jobs := s.startDiscovery(ids, false, in.Force)
	s.mu.Unlock()
	s.runDiscovery(jobs)
	writeJSON(w, http.StatusOK, []hsmapi.ResourceURI{{URI: hsmapi.BasePath + "/Inventory/DiscoveryStatus/0"}})
	return nil
}

func (s *Server) getDiscoveryStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	st := s.discStatus
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, []DiscoveryStatus{st})
}

func (s *Server) getDiscoveryStatus(w http.ResponseWriter, r *http.Request) *problem.Details {
	id := r.PathValue("id")
	if strings.TrimLeft(id, "0123456789") != "" || id == "" {
		return problem.New(http.StatusBadRequest, "bad id: %q", id)
	}
	if strings.TrimLeft(id, "0") != "" {
		return problem.New(http.StatusNotFound, "no such DiscoveryStatus ID.")
	}
	s.mu.RLock()
	st := s.discStatus
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, st)
	return nil
}

// listServiceEndpoints returns the ServiceEndpoints of service (any when "") whose
// endpoint is in eps (any when empty), sorted by endpoint then type. Call with s.mu held.
func (s *Server) listServiceEndpoints(services, eps []string) []ServiceEndpoint {
	out := []ServiceEndpoint{}
	for _, se := range s.allSEPs() {
		if (len(services) == 0 || slices.ContainsFunc(services, func(v string) bool { return strings.EqualFold(v, se.RedfishType) })) &&
			anyOf(eps, se.RedfishEndpointID) {
			out = append(out, *se)
		}
	}
	slices.SortFunc(out, func(a, b ServiceEndpoint) int {
		if c := strings.Compare(a.RedfishEndpointID, b.RedfishEndpointID); c != 0 {
			return c
		}
		return strings.Compare(a.RedfishType, b.RedfishType)
	})
	return out
}

func (s *Server) getServiceEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	q, _ := queryValues(r.URL.Query(), "redfish_ep", "service")
	eps, d := normIDs(q["redfish_ep"])
	if d != nil {
		return d
	}
	services := q["service"]
	if svc := r.PathValue("service"); svc != "" {
		services = []string{svc}
	}
	s.mu.RLock()
	out := s.listServiceEndpoints(services, eps)
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, ServiceEndpointArray{ServiceEndpoints: out})
	return nil
}

func (s *Server) getServiceEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	key := sepKey(r.PathValue("service"), pathID(r))
	s.mu.RLock()
	se, ok := s.seps[key]
	var out ServiceEndpoint
	if ok {
		out = *se
	}
	s.mu.RUnlock()
	if !ok {
		return problem.New(http.StatusNotFound, "no such service under redfish endpoint.")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteServiceEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	key := sepKey(r.PathValue("service"), pathID(r))
	s.mu.Lock()
	ok := s.dropSEP(key)
	s.mu.Unlock()
	if !ok {
		return problem.New(http.StatusNotFound, "no such service under redfish endpoint.")
	}
	writeMessage(w, http.StatusOK, "deleted 1 entry")
	return nil
}

func (s *Server) deleteServiceEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	s.mu.Lock()
	n := len(s.seps)
	clear(s.seps)
	clear(s.sepsOf)
	s.mu.Unlock()
	if n == 0 {
		return problem.New(http.StatusNotFound, "no entries to delete")
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
	return nil
}
