package hsm

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// NodeMap maps a node xname to the NID (and optionally Role and SubRole) HSM gives the
// node when it first appears without them (/Defaults/NodeMaps).
type NodeMap struct {
	ID       string          `json:"ID"`
	NID      int             `json:"NID"`
	Role     string          `json:"Role,omitempty"`
	SubRole  string          `json:"SubRole,omitempty"`
	NodeInfo json.RawMessage `json:"NodeInfo,omitempty"`
}

// NodeMapArray is the GET /Defaults/NodeMaps reply.
type NodeMapArray struct {
	NodeMaps []NodeMap `json:"NodeMaps"`
}

// checkNodeMap validates and normalizes m as hms-smd's NewNodeMap does.
func (s *Server) checkNodeMap(m NodeMap) (NodeMap, error) {
	id := xname.Normalize(m.ID)
	if xname.TypeOf(id) != xname.Node {
		return NodeMap{}, fmt.Errorf("xname ID '%s' is invalid or not a node", m.ID)
	}
	if m.NID <= 0 {
		return NodeMap{}, fmt.Errorf("NID '%d' is out of range", m.NID)
	}
	out := NodeMap{ID: id, NID: m.NID, NodeInfo: m.NodeInfo}
	var ok bool
	if m.Role != "" {
		if out.Role, ok = s.roles.norm(m.Role); !ok {
			return NodeMap{}, fmt.Errorf("Role '%s' is not valid.", m.Role)
		}
	}
	if m.SubRole != "" {
		if out.SubRole, ok = s.subRoles.norm(m.SubRole); !ok {
			return NodeMap{}, fmt.Errorf("SubRole '%s' is not valid.", m.SubRole)
		}
	}
	return out, nil
}

// putNodeMaps stores maps, all or none: a NID another node's map holds is a conflict.
// Call with s.mu held.
func (s *Server) putNodeMaps(maps []NodeMap) bool {
	ids := map[string]bool{}
	nids := map[int]string{}
	for _, m := range maps {
		ids[m.ID] = true
		if other, ok := nids[m.NID]; ok && other != m.ID {
			return false
		}
		nids[m.NID] = m.ID
	}
	for id, m := range s.nodeMaps {
		if other, ok := nids[m.NID]; ok && other != id && !ids[id] {
			return false
		}
	}
	for _, m := range maps {
		s.nodeMaps[m.ID] = m
	}
	return true
}

const nodeMapConflict = "operation would conflict with an existing xname ID that has the same NID."

func (s *Server) getNodeMaps(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	out := NodeMapArray{NodeMaps: make([]NodeMap, 0, len(s.nodeMaps))}
	for _, id := range sortedKeys(s.nodeMaps) {
		out.NodeMaps = append(out.NodeMaps, s.nodeMaps[id])
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getNodeMap(w http.ResponseWriter, r *http.Request) {
	getEntry(s, w, s.nodeMaps, pathID(r))
}

// getEntry answers one map entry, or 404 "no such xname.". The map must be guarded by
// s.mu.
func getEntry[V any](s *Server, w http.ResponseWriter, m map[string]V, id string) {
	s.mu.RLock()
	v, ok := m[id]
	s.mu.RUnlock()
	if !ok {
		problem.Write(w, http.StatusNotFound, "no such xname.")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// postNodeMaps takes one NodeMap or {"NodeMaps":[...]}, as HSM does.
func (s *Server) postNodeMaps(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in struct {
		NodeMap
		NodeMaps *[]NodeMap `json:"NodeMaps"`
	}
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	var maps []NodeMap
	switch {
	case in.NodeMaps != nil:
		for i, m := range *in.NodeMaps {
			v, err := s.checkNodeMap(m)
			if err != nil {
				return problem.New(http.StatusBadRequest, "couldn't validate map data at idx %d: %s", i, err)
			}
			maps = append(maps, v)
		}
	case in.ID != "" || in.NID != 0:
		v, err := s.checkNodeMap(in.NodeMap)
		if err != nil {
			return problem.New(http.StatusBadRequest, "couldn't validate mapping data: %s", err)
		}
		maps = append(maps, v)
	}
	s.mu.Lock()
	ok := s.putNodeMaps(maps)
	s.mu.Unlock()
	if !ok {
		return problem.New(http.StatusConflict, nodeMapConflict)
	}
	writeMessage(w, http.StatusOK, "Created or modified %d entries", len(maps))
	return nil
}

func (s *Server) putNodeMap(w http.ResponseWriter, r *http.Request) *problem.Details {
	id := pathID(r)
	var in NodeMap
	if d := s.decodePut(w, r, &in, &in.ID, id); d != nil {
		return d
	}
	m, err := s.checkNodeMap(in)
	if err != nil {
		return problem.New(http.StatusBadRequest, "couldn't validate NodeMap data: %s", err)
	}
	s.mu.Lock()
	ok := s.putNodeMaps([]NodeMap{m})
	s.mu.Unlock()
	if !ok {
		return problem.New(http.StatusConflict, nodeMapConflict)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) deleteNodeMap(w http.ResponseWriter, r *http.Request) {
	deleteEntry(s, w, s.nodeMaps, pathID(r))
}

func (s *Server) deleteNodeMaps(w http.ResponseWriter, r *http.Request) {
	deleteEntries(s, w, s.nodeMaps)
}

// deleteEntry removes one map entry, as HSM's map DELETEs answer. The map must be
// guarded by s.mu.
func deleteEntry[V any](s *Server, w http.ResponseWriter, m map[string]V, id string) {
	s.mu.Lock()
	_, ok := m[id]
	delete(m, id)
	s.mu.Unlock()
	if !ok {
		problem.Write(w, http.StatusNotFound, "no such xname.")
		return
	}
	writeMessage(w, http.StatusOK, "deleted 1 entry")
}

// deleteEntries empties a map, as HSM's collection DELETEs answer.
func deleteEntries[V any](s *Server, w http.ResponseWriter, m map[string]V) {
	s.mu.Lock()
	n := len(m)
	clear(m)
	s.mu.Unlock()
	if n == 0 {
		problem.Write(w, http.StatusNotFound, "no entries to delete")
		return
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
}

// nodeDefaults returns the NodeMap of a node xname, if one is stored.
func (s *Server) nodeDefaults(id string) (NodeMap, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.nodeMaps[id]
	return m, ok
}
