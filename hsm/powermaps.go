package hsm

import (
	"fmt"
	"net/http"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// PowerMap says which power supplies (PDU outlets, rectifiers...) feed a component
// (/sysinfo/powermaps). The keys are lower camel case, as in HSM.
type PowerMap struct {
	ID        string   `json:"id"`
	PoweredBy []string `json:"poweredBy,omitempty"`
}

// checkPowerMap validates and normalizes m as hms-smd's NewPowerMap does.
func checkPowerMap(m PowerMap) (PowerMap, error) {
	id, _, err := xname.Parse(m.ID)
	if err != nil {
		return PowerMap{}, fmt.Errorf("xname ID '%s' is invalid", m.ID)
	}
	out := PowerMap{ID: id}
	for _, p := range m.PoweredBy {
		n, _, err := xname.Parse(p)
		if err != nil {
			return PowerMap{}, fmt.Errorf("Power supply xname ID '%s' is invalid", p)
		}
		out.PoweredBy = append(out.PoweredBy, n)
	}
	return out, nil
}

func (s *Server) getPowerMaps(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	out := make([]PowerMap, 0, len(s.powerMaps))
	for _, id := range sortedKeys(s.powerMaps) {
		out = append(out, s.powerMaps[id])
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

// powerMapID reads the {xname} of a single-map path: an invalid one is 400 "invalid
// xname" here (HSM validates on these routes).
func powerMapID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, _, err := xname.Parse(r.PathValue("xname"))
	if err != nil {
		problem.Write(w, http.StatusBadRequest, "invalid xname")
		return "", false
	}
	return id, true
}

func (s *Server) getPowerMap(w http.ResponseWriter, r *http.Request) {
	if id, ok := powerMapID(w, r); ok {
		getEntry(s, w, s.powerMaps, id)
	}
}

// postPowerMaps creates or replaces the maps of a JSON array, all or none.
func (s *Server) postPowerMaps(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in []PowerMap
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	maps := make([]PowerMap, 0, len(in))
	for i, m := range in {
		if len(m.PoweredBy) == 0 {
			return problem.New(http.StatusBadRequest, "poweredby is required for PowerMaps")
		}
		v, err := checkPowerMap(m)
		if err != nil {
			return problem.New(http.StatusBadRequest, "couldn't validate map data at idx %d: %s", i, err)
		}
		maps = append(maps, v)
	}
	s.mu.Lock()
	for _, m := range maps {
		s.powerMaps[m.ID] = m
	}
	s.mu.Unlock()
	writeMessage(w, http.StatusOK, "Created or modified %d entries", len(maps))
	return nil
}

func (s *Server) putPowerMap(w http.ResponseWriter, r *http.Request) *problem.Details {
	id := pathID(r)
	var in PowerMap
	if d := s.decodePut(w, r, &in, &in.ID, id); d != nil {
		return d
	}
	if len(in.PoweredBy) == 0 {
		return problem.New(http.StatusBadRequest, "poweredby is required in PUT body")
	}
	m, err := checkPowerMap(in)
	if err != nil {
		return problem.New(http.StatusBadRequest, "couldn't validate PowerMap data: %s", err)
	}
	s.mu.Lock()
	s.powerMaps[m.ID] = m
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) deletePowerMap(w http.ResponseWriter, r *http.Request) {
	if id, ok := powerMapID(w, r); ok {
		deleteEntry(s, w, s.powerMaps, id)
	}
}

func (s *Server) deletePowerMaps(w http.ResponseWriter, r *http.Request) {
	deleteEntries(s, w, s.powerMaps)
}
