package hsm

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Inventory operations beside discovery: RedfishEndpoints/Query, DELETE of
// ComponentEndpoints, EthernetInterface PATCH, collection DELETE and IPAddresses.

// queryRedfishEndpoints serves GET RedfishEndpoints/Query/{xname}: the endpoint named,
// or those under a parent xname; "all" and "s0" mean every endpoint.
func (s *Server) queryRedfishEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	raw := strings.ToLower(r.PathValue("xname"))
	all := raw == "all" || raw == "s0"
	id := ""
	if !all {
		var err error
		if id, _, err = parseXname(raw); err != nil {
			return problem.New(http.StatusBadRequest, "invalid xname %q", r.PathValue("xname"))
		}
	}
	s.mu.RLock()
	out := hsmapi.RedfishEndpointArray{RedfishEndpoints: []hsmapi.RedfishEndpoint{}}
	for _, epID := range sortedKeys(s.rfeps) {
		if all || epID == id || strings.HasPrefix(epID, id) && epID[len(id)] >= 'a' && epID[len(id)] <= 'z' {
			out.RedfishEndpoints = append(out.RedfishEndpoints, *s.rfeps[epID])
		}
	}
	s.mu.RUnlock()
	if len(out.RedfishEndpoints) == 0 {
		return problem.New(http.StatusNotFound, "no such xname.")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dropCEPSetEmpty deletes a ComponentEndpoint and, as hms-smd's
// DeleteCompEndpointByIDSetEmpty, marks its component Empty. Call with s.mu held.
func (s *Server) dropCEPSetEmpty(id string) bool {
	if _, ok := s.ceps[id]; !ok {
		return false
	}
	s.dropCEP(id)
	if c, ok := s.comps[id]; ok {
		c.c.State, c.c.Flag = StateEmpty, FlagOK
		c.encode()
	}
	return true
}

func (s *Server) deleteComponentEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	return s.deleteByXname(w, r, s.dropCEPSetEmpty)
}

func (s *Server) deleteComponentEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	s.mu.Lock()
	n := 0
	for _, rec := range slices.Clone(s.allCEPs()) {
		if s.dropCEPSetEmpty(rec.ce.ID) {
			n++
		}
	}
	s.mu.Unlock()
	if n == 0 {
		return problem.New(http.StatusNotFound, "no entries to delete")
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
	return nil
}

func (s *Server) deleteEthernetInterfaces(w http.ResponseWriter, r *http.Request) *problem.Details {
	s.mu.Lock()
	n := len(s.eths)
	clear(s.eths)
	s.ethSorted = nil
	s.mu.Unlock()
	if n == 0 {
		return problem.New(http.StatusNotFound, "no entries to delete")
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
	return nil
}

// ethPatchIn is CompEthInterface.1.0.0_Patch.
type ethPatchIn struct {
	Description *string             `json:"Description"`
	IPAddresses *[]hsmapi.IPAddress `json:"IPAddresses"`
	ComponentID *string             `json:"ComponentID"`
}

// checkIPs validates IP mappings: each needs a valid IPAddress, none twice.
func checkIPs(ips []hsmapi.IPAddress) *problem.Details {
	seen := map[string]bool{}
	for _, ip := range ips {
		if _, err := netip.ParseAddr(ip.IPAddress); err != nil {
			return problem.New(http.StatusBadRequest, "invalid IP address %q", ip.IPAddress)
		}
		if seen[ip.IPAddress] {
			return problem.New(http.StatusBadRequest, "IP address %s given twice", ip.IPAddress)
		}
		seen[ip.IPAddress] = true
	}
	return nil
}

// ethID reads the {id} path value as an interface ID.
func ethID(r *http.Request) (string, *problem.Details) {
	_, id, ok := normMAC(r.PathValue("id"))
	if !ok {
		return "", problem.New(http.StatusBadRequest, "invalid EthernetInterface ID %q", r.PathValue("id"))
	}
	return id, nil
}

// changeEth applies change to a copy of interface id and stores it, refreshing
// LastUpdate; 404 when there is no such interface, or change's problem.
func (s *Server) changeEth(id string, change func(*hsmapi.EthernetInterface) *problem.Details) (hsmapi.EthernetInterface, *problem.Details) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.eths[id]
	if !ok {
		return hsmapi.EthernetInterface{}, problem.New(http.StatusNotFound, "no such EthernetInterface.")
	}
	e := rec.e
	e.IPAddresses = slices.Clone(e.IPAddresses)
	if d := change(&e); d != nil {
		return hsmapi.EthernetInterface{}, d
	}
	e.LastUpdate = stamp(s.now())
	s.putEth(e)
	return e, nil
}

func (s *Server) patchEthernetInterface(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := ethID(r)
	if d != nil {
		return d
	}
	var in ethPatchIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if in.Description == nil && in.IPAddresses == nil && in.ComponentID == nil {
		return problem.New(http.StatusBadRequest, "request must have at least one patch field")
	}
	out, d := s.changeEth(id, func(e *hsmapi.EthernetInterface) *problem.Details {
		if in.IPAddresses != nil {
			if d := checkIPs(*in.IPAddresses); d != nil {
				return d
			}
			e.IPAddresses = append([]hsmapi.IPAddress{}, *in.IPAddresses...)
		}
		if in.ComponentID != nil {
			cid, typ, err := parseXname(*in.ComponentID)
			if err != nil {
				return problem.New(http.StatusBadRequest, "invalid ComponentID %q", *in.ComponentID)
			}
			e.ComponentID, e.Type = cid, string(typ)
		}
		if in.Description != nil {
			e.Description = *in.Description
		}
		return nil
	})
	if d != nil {
		return d
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getIPAddresses(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := ethID(r)
	if d != nil {
		return d
	}
	s.mu.RLock()
	rec, found := s.eths[id]
	var ips []hsmapi.IPAddress
	if found {
		ips = slices.Clone(rec.e.IPAddresses)
	}
	s.mu.RUnlock()
	if !found {
		return problem.New(http.StatusNotFound, "no such EthernetInterface.")
	}
	if ips == nil {
		ips = []hsmapi.IPAddress{}
	}
	writeJSON(w, http.StatusOK, ips)
	return nil
}

func (s *Server) postIPAddress(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := ethID(r)
	if d != nil {
		return d
	}
	var in hsmapi.IPAddress
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if d := checkIPs([]hsmapi.IPAddress{in}); d != nil {
		return d
	}
	_, d = s.changeEth(id, func(e *hsmapi.EthernetInterface) *problem.Details {
		if slices.ContainsFunc(e.IPAddresses, func(ip hsmapi.IPAddress) bool { return ip.IPAddress == in.IPAddress }) {
			return problem.New(http.StatusConflict, "operation would conflict with an existing IP address on the same ethernet interface.")
		}
		e.IPAddresses = append(e.IPAddresses, in)
		return nil
	})
	if d != nil {
		return d
	}
	uri := hsmapi.BasePath + "/Inventory/EthernetInterfaces/" + id + "/IPAddresses/" + in.IPAddress
	w.Header().Set("Location", uri)
	writeJSON(w, http.StatusCreated, hsmapi.ResourceURI{URI: uri})
	return nil
}

// ipIndex finds ip among e's addresses, or returns a 404 problem.
func ipIndex(e *hsmapi.EthernetInterface, ip string) (int, *problem.Details) {
	i := slices.IndexFunc(e.IPAddresses, func(a hsmapi.IPAddress) bool { return a.IPAddress == ip })
	if i < 0 {
		return -1, problem.New(http.StatusNotFound, "no such IP address.")
	}
	return i, nil
}

func (s *Server) patchIPAddress(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := ethID(r)
	if d != nil {
		return d
	}
	var in struct {
		Network *string `json:"Network"`
	}
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if in.Network == nil {
		return problem.New(http.StatusBadRequest, "request must have at least one patch field")
	}
	var out hsmapi.IPAddress
	_, d = s.changeEth(id, func(e *hsmapi.EthernetInterface) *problem.Details {
		i, d := ipIndex(e, r.PathValue("ip"))
		if d != nil {
			return d
		}
		e.IPAddresses[i].Network = *in.Network
		out = e.IPAddresses[i]
		return nil
	})
	if d != nil {
		return d
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteIPAddress(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, d := ethID(r)
	if d != nil {
		return d
	}
	_, d = s.changeEth(id, func(e *hsmapi.EthernetInterface) *problem.Details {
		i, d := ipIndex(e, r.PathValue("ip"))
		if d != nil {
			return d
		}
		e.IPAddresses = slices.Delete(e.IPAddresses, i, i+1)
		return nil
	})
	if d != nil {
		return d
	}
	writeMessage(w, http.StatusOK, "deleted 1 entry")
	return nil
}
