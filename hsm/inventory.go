package hsm

import (
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// Inventory: RedfishEndpoints (BMCs), ComponentEndpoints (what discovery found behind
// them) and EthernetInterfaces (MAC → component).

// queryValues lowercases the keys of q and keeps those in allowed; HSM ignores others.
func queryValues(q url.Values, allowed ...string) (map[string][]string, *problem.Details) {
	out := map[string][]string{}
	for key, vals := range q {
		k := strings.ToLower(key)
		if slices.Contains(allowed, k) {
			out[k] = append(out[k], vals...)
		}
	}
	return out, nil
}

// normIDs normalizes and validates xnames from a query.
func normIDs(vals []string) ([]string, *problem.Details) {
	out := make([]string, len(vals))
	for i, v := range vals {
		id, _, err := parseXname(v)
		if err != nil {
			return nil, badParam("invalid xname %q", v)
		}
		out[i] = id
	}
	return out, nil
}

// normTypes normalizes HMS type names from a query.
func normTypes(vals []string) ([]string, *problem.Details) {
	out := make([]string, len(vals))
	for i, v := range vals {
		t, ok := hmsType.norm(v)
		if !ok {
			return nil, badParam("%q is not a valid HMS Type", v)
		}
		out[i] = t
	}
	return out, nil
}

// anyOf reports whether v is in vals (true when vals is empty: no filter).
func anyOf(vals []string, v string) bool { return len(vals) == 0 || slices.Contains(vals, v) }

func (s *Server) getRedfishEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	q, d := queryValues(r.URL.Query(), "id", "fqdn", "type", "uuid", "macaddr", "ipaddress", "laststatus")
	if d == nil {
		q["id"], d = normIDs(q["id"])
	}
	if d == nil {
		q["type"], d = normTypes(q["type"])
	}
	if d != nil {
		return d
	}
	s.mu.RLock()
	out := hsmapi.RedfishEndpointArray{RedfishEndpoints: []hsmapi.RedfishEndpoint{}}
	for _, id := range sortedKeys(s.rfeps) {
		ep := s.rfeps[id]
		if anyOf(q["id"], ep.ID) && anyOf(q["fqdn"], ep.FQDN) && anyOf(q["type"], ep.Type) &&
			anyOf(q["uuid"], ep.UUID) && anyOf(q["macaddr"], ep.MACAddr) && anyOf(q["ipaddress"], ep.IPAddress) &&
			anyOf(q["laststatus"], ep.DiscoveryInfo.LastDiscoveryStatus) {
			out.RedfishEndpoints = append(out.RedfishEndpoints, *ep)
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getRedfishEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	id := pathID(r)
	s.mu.RLock()
	ep, ok := s.rfeps[id]
	var out hsmapi.RedfishEndpoint
	if ok {
		out = *ep
	}
	s.mu.RUnlock()
	if !ok {
		return problem.New(http.StatusNotFound, "no such xname.")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// rfepIn is a RedfishEndpoint as clients send it; DiscoveryInfo is read-only.
type rfepIn struct {
	ID                 string                `json:"ID"`
	Type               string                `json:"Type"`
	Name               string                `json:"Name"`
	Hostname           string                `json:"Hostname"`
	Domain             string                `json:"Domain"`
	FQDN               string                `json:"FQDN"`
	Enabled            *bool                 `json:"Enabled"`
	UUID               string                `json:"UUID"`
	User               string                `json:"User"`
	Password           string                `json:"Password"`
	UseSSDP            bool                  `json:"UseSSDP"`
	MACRequired        bool                  `json:"MACRequired"`
	MACAddr            string                `json:"MACAddr"`
	IPAddress          string                `json:"IPAddress"`
	RediscoverOnUpdate *bool                 `json:"RediscoverOnUpdate"`
	TemplateID         string                `json:"TemplateID"`
	DiscoveryInfo      *hsmapi.DiscoveryInfo `json:"DiscoveryInfo"`
}

// rfepPostIn takes one endpoint or {"RedfishEndpoints":[...]}.
type rfepPostIn struct {
	rfepIn
	RedfishEndpoints []rfepIn `json:"RedfishEndpoints"`
}

// rfepTypes are the xname types hms-smd takes as RedfishEndpoints: controllers
// (hms-base's IsHMSTypeController) and management switches.
var rfepTypes = []xname.Type{xname.ChassisBMC, xname.NodeBMC, xname.RouterBMC, xname.CabinetBMC,
	xname.CabinetPDUController, xname.MgmtSwitch, xname.MgmtHLSwitch, xname.CDUMgmtSwitch}

// ipString returns s as an IP address string, or "" when it is not one.
func ipString(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return ""
}

// redfishEndpoint validates in and derives Hostname, Domain, FQDN and IPAddress as
// hms-smd's NewRedfishEPDescription does, with its error texts. Beyond hms-smd, an
// FQDN may carry a port ("ip:port", how simulated BMCs listen): it is kept on the FQDN.
func redfishEndpoint(in rfepIn) (hsmapi.RedfishEndpoint, *problem.Details) {
	bad := func(format string, a ...any) (hsmapi.RedfishEndpoint, *problem.Details) {
		return hsmapi.RedfishEndpoint{}, problem.New(http.StatusBadRequest, "couldn't validate endpoint data: "+format, a...)
	}
	fqdnIn, port := in.FQDN, ""
	if h, p, err := net.SplitHostPort(fqdnIn); err == nil {
		fqdnIn, port = h, p
	}
	domain := strings.Trim(in.Domain, "./ ")
	host := strings.Trim(in.Hostname, "./ ")
	hostIsIP := false
	if host != "" {
		if ip := ipString(host); ip != "" {
			host, hostIsIP = ip, true
		} else if strings.Contains(host, ".") {
			return bad("Hostname is not a basename or IP address.")
		}
	}
	if fqdnIn != "" {
		if ip := ipString(fqdnIn); ip != "" && host == "" {
			host, hostIsIP = ip, true
		}
		fqdnHost, fqdnDomain, _ := strings.Cut(fqdnIn, ".")
		fqdnHost, fqdnDomain = strings.Trim(fqdnHost, "./ "), strings.Trim(fqdnDomain, "./ ")
		if host == "" {
			host = fqdnHost
		}
		if domain == "" && host == fqdnHost {
			domain = fqdnDomain
		}
	}
	id := strings.Trim(in.ID, "./ ")
	if id == "" {
		id = host
	}
	if id == "" {
		return bad("No xname ID found")
	}
	id = xname.Normalize(id)
	typ := xname.TypeOf(id)
	if typ == xname.Invalid {
		return bad("%s is not a valid locational xname ID", id)
	}
	if !slices.Contains(rfepTypes, typ) {
		return bad("xname ID %s has wrong type for RF endpoint: %s", id, typ)
	}
	hostname := host
	if hostname == "" {
		hostname = id
	}
	fqdn := hostname
	if domain != "" && !hostIsIP {
		fqdn = hostname + "." + domain
	}
	want := ipString(fqdnIn)
	if want == "" {
		want = fqdnIn
	}
	if fqdnIn != "" && fqdn != want {
		return bad("host/domain conflicts with FQDN: '%s' != '%s'", fqdn, want)
	}
	ip := ""
	if in.IPAddress != "" {
		if ip = ipString(in.IPAddress); ip == "" {
			return bad("IPAddress is not a valid IP address: '%s'", in.IPAddress)
		}
		if hostIsIP && ip != host {
			return bad("hostname IP address conflicts with given IP address: '%s' != '%s'", host, ip)
		}
	} else if hostIsIP {
		ip = host
	}
	if port != "" {
		fqdn = net.JoinHostPort(fqdn, port)
	}
	return hsmapi.RedfishEndpoint{ID: id, Type: string(typ), Name: in.Name, Hostname: host, Domain: domain, FQDN: fqdn,
		Enabled: in.Enabled == nil || *in.Enabled, UUID: in.UUID, User: in.User, Password: in.Password,
		UseSSDP: in.UseSSDP, MACRequired: in.MACRequired, MACAddr: in.MACAddr, IPAddress: ip,
		// hms-smd's RediscOnUpdateDefault is false.
		RediscoverOnUpdate: in.RediscoverOnUpdate != nil && *in.RediscoverOnUpdate, TemplateID: in.TemplateID}, nil
}

func (s *Server) postRedfishEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in rfepPostIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	batch := in.RedfishEndpoints
	if batch == nil {
		batch = []rfepIn{in.rfepIn}
	} else if in.rfepIn != (rfepIn{}) {
		return problem.New(http.StatusBadRequest, "give one endpoint or a RedfishEndpoints list, not both")
	}
	eps := make([]hsmapi.RedfishEndpoint, 0, len(batch))
	for _, b := range batch {
		ep, d := redfishEndpoint(b)
		if d != nil {
			return d
		}
		eps = append(eps, ep)
	}
	s.mu.Lock()
	uris, d := s.insertRedfishEndpoints(eps)
	var jobs []discoveryJob
	if d == nil {
		ids := make([]string, len(eps))
		for i, ep := range eps {
			ids[i] = ep.ID
		}
		jobs = s.startDiscovery(ids, true, false)
	}
	s.mu.Unlock()
	if d != nil {
		return d
	}
	s.runDiscovery(jobs) // as hms-smd: in the background, after the reply is decided
	writeCreated(w, uris...)
	return nil
}

// insertRedfishEndpoints adds eps, NotYetQueried, unless an ID or FQDN is taken.
// Call with s.mu held.
func (s *Server) insertRedfishEndpoints(eps []hsmapi.RedfishEndpoint) ([]string, *problem.Details) {
	ids, fqdns := map[string]bool{}, map[string]bool{}
	for _, ep := range s.rfeps {
		fqdns[ep.FQDN] = true
	}
	for _, ep := range eps {
		if _, dup := s.rfeps[ep.ID]; dup || ids[ep.ID] {
			return nil, problem.New(http.StatusConflict, "operation would conflict with an existing resource that has the same ID: %s", ep.ID)
		}
		if fqdns[ep.FQDN] {
			return nil, problem.New(http.StatusConflict, "operation would conflict with an existing resource that has the same FQDN: %s", ep.FQDN)
		}
		ids[ep.ID], fqdns[ep.FQDN] = true, true
	}
	uris := make([]string, 0, len(eps))
	for _, ep := range eps {
		ep := ep
		ep.DiscoveryInfo = hsmapi.DiscoveryInfo{LastDiscoveryStatus: discNotYetQueried}
		s.rfeps[ep.ID] = &ep
		uris = append(uris, hsmapi.BasePath+"/Inventory/RedfishEndpoints/"+ep.ID)
	}
	return uris, nil
}

// refreshEndpoints points ep's ComponentEndpoints at its current FQDN. Call with s.mu held.
func (s *Server) refreshEndpoints(ep *hsmapi.RedfishEndpoint) {
	for _, r := range s.cepsOf[ep.ID] {
		setEndpointFQDN(&r.ce, ep.FQDN)
	}
}

func (s *Server) putRedfishEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, _, d := pathXname(r, "xname")
	if d != nil {
		return d
	}
	var in rfepIn
	if d := s.decodePut(w, r, &in, &in.ID, id); d != nil {
		return d
	}
	ep, d := redfishEndpoint(in)
	if d != nil {
		return d
	}
	s.mu.Lock()
	out, jobs, ok := s.updateRedfishEndpoint(id, func(old *hsmapi.RedfishEndpoint) {
		ep.DiscoveryInfo = old.DiscoveryInfo
		if ep.Password == "" {
			// GET never shows the password, so a PUT of what GET returned keeps it (as
			// HSM with Vault does: it writes Vault only when a password is sent).
			ep.Password = old.Password
		}
		*old = ep
	})
	s.mu.Unlock()
	if !ok {
		return problem.New(http.StatusNotFound, "no such xname.")
	}
	s.runDiscovery(jobs)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// updateRedfishEndpoint changes endpoint id with change, repoints its
// ComponentEndpoints and starts its rediscovery if RediscoverOnUpdate (the caller runs
// the jobs after unlocking). Call with s.mu held.
func (s *Server) updateRedfishEndpoint(id string, change func(*hsmapi.RedfishEndpoint)) (hsmapi.RedfishEndpoint, []discoveryJob, bool) {
	ep, ok := s.rfeps[id]
	if !ok {
		return hsmapi.RedfishEndpoint{}, nil, false
	}
	change(ep)
	s.refreshEndpoints(ep)
	jobs := s.startDiscovery([]string{id}, true, false)
	return *ep, jobs, true
}

// rfepPatchIn holds the patchable fields of a RedfishEndpoint.
type rfepPatchIn struct {
	ID                 *string `json:"ID"`
	Type               *string `json:"Type"`
	Name               *string `json:"Name"`
	Hostname           *string `json:"Hostname"`
	Domain             *string `json:"Domain"`
	FQDN               *string `json:"FQDN"`
	Enabled            *bool   `json:"Enabled"`
	UUID               *string `json:"UUID"`
	User               *string `json:"User"`
	Password           *string `json:"Password"`
	UseSSDP            *bool   `json:"UseSSDP"`
	MACRequired        *bool   `json:"MACRequired"`
	MACAddr            *string `json:"MACAddr"`
	IPAddress          *string `json:"IPAddress"`
	RediscoverOnUpdate *bool   `json:"RediscoverOnUpdate"`
	TemplateID         *string `json:"TemplateID"`
}

func (s *Server) patchRedfishEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	id, _, d := pathXname(r, "xname")
	if d != nil {
		return d
	}
	var in rfepPatchIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	if in.ID != nil && xname.Normalize(*in.ID) != id {
		return problem.New(http.StatusBadRequest, "xname in URL and PATCH body do not match")
	}
	if in.Type != nil && !strings.EqualFold(*in.Type, string(xname.TypeOf(id))) {
		return problem.New(http.StatusBadRequest, "Type %q does not match the xname", *in.Type)
	}
	s.mu.Lock()
	out, jobs, ok := s.updateRedfishEndpoint(id, func(ep *hsmapi.RedfishEndpoint) {
		for _, f := range []struct {
			in  *string
			dst *string
		}{{in.Name, &ep.Name}, {in.Hostname, &ep.Hostname}, {in.Domain, &ep.Domain}, {in.FQDN, &ep.FQDN},
			{in.UUID, &ep.UUID}, {in.User, &ep.User}, {in.Password, &ep.Password}, {in.MACAddr, &ep.MACAddr},
			{in.IPAddress, &ep.IPAddress}, {in.TemplateID, &ep.TemplateID}} {
			if f.in != nil {
				*f.dst = *f.in
			}
		}
		for _, f := range []struct {
			in  *bool
			dst *bool
		}{{in.Enabled, &ep.Enabled}, {in.UseSSDP, &ep.UseSSDP}, {in.MACRequired, &ep.MACRequired},
			{in.RediscoverOnUpdate, &ep.RediscoverOnUpdate}} {
			if f.in != nil {
				*f.dst = *f.in
			}
		}
		if in.FQDN != nil && in.Hostname == nil {
			ep.Hostname, ep.IPAddress = splitFQDN(ep.FQDN)
		}
	})
	s.mu.Unlock()
	if !ok {
		return problem.New(http.StatusNotFound, "no such xname.")
	}
	s.runDiscovery(jobs)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dropRedfishEndpoint deletes an endpoint with its ComponentEndpoints and, as HSM's
// DeleteRFEndpointByIDSetEmpty does, marks the components behind it Empty. Call with
// s.mu held.
func (s *Server) dropRedfishEndpoint(id string) bool {
	if _, ok := s.rfeps[id]; !ok {
		return false
	}
	delete(s.rfeps, id)
	s.dropSEPsOf(id)
	for cep := range s.cepsOf[id] {
		s.dropCEPSetEmpty(cep)
	}
	return true
}

func (s *Server) deleteRedfishEndpoint(w http.ResponseWriter, r *http.Request) *problem.Details {
	return s.deleteByXname(w, r, s.dropRedfishEndpoint)
}

func (s *Server) deleteRedfishEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	s.mu.Lock()
	n := 0
	for _, id := range sortedKeys(s.rfeps) {
		if s.dropRedfishEndpoint(id) {
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

func (s *Server) getComponentEndpoints(w http.ResponseWriter, r *http.Request) *problem.Details {
	q, d := queryValues(r.URL.Query(), "id", "redfish_ep", "type", "redfish_type")
	if d == nil {
		q["id"], d = normIDs(q["id"])
	}
	if d == nil {
		q["redfish_ep"], d = normIDs(q["redfish_ep"])
	}
	if d == nil {
		q["type"], d = normTypes(q["type"])
	}
	if d != nil {
		return d
	}
	s.mu.RLock()
	recs := s.allCEPs()
	if len(q["id"]) > 0 {
		recs = lookup(s.ceps, q["id"])
	}
	raws := make([][]byte, 0, len(recs))
	for _, r := range recs {
		if anyOf(q["redfish_ep"], r.ce.RedfishEndpointID) && anyOf(q["type"], r.ce.Type) &&
			(len(q["redfish_type"]) == 0 || slices.ContainsFunc(q["redfish_type"], func(t string) bool { return strings.EqualFold(t, r.ce.RedfishType) })) {
			raws = append(raws, r.encoding())
		}
	}
	body := listJSON("ComponentEndpoints", raws)
	s.mu.RUnlock()
	writeRaw(w, http.StatusOK, body)
	return nil
}

func (s *Server) getComponentEndpoint(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	writeRecord(s, w, s.ceps, id, "no such xname.")
}

// normMAC returns a MAC as aa:bb:cc:dd:ee:ff and its interface ID aabbccddeeff.
func normMAC(mac string) (string, string, bool) {
	id := strings.NewReplacer(":", "", "-", "", ".", "").Replace(strings.ToLower(strings.TrimSpace(mac)))
	if len(id) != 12 {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	parts := make([]string, 6)
	for i := range parts {
		parts[i] = id[2*i : 2*i+2]
	}
	return strings.Join(parts, ":"), id, true
}

func (s *Server) getEthernetInterfaces(w http.ResponseWriter, r *http.Request) *problem.Details {
	q, d := queryValues(r.URL.Query(), "id", "macaddress", "ipaddress", "network", "componentid", "type")
	if d == nil {
		q["componentid"], d = normIDs(q["componentid"])
	}
	if d == nil {
		q["type"], d = normTypes(q["type"])
	}
	if d != nil {
		return d
	}
	for _, key := range []string{"id", "macaddress"} {
		for i, v := range q[key] {
			if mac, id, ok := normMAC(v); ok {
				q[key][i] = map[string]string{"id": id, "macaddress": mac}[key]
			}
		}
	}
	hasIP := func(e *hsmapi.EthernetInterface, match func(hsmapi.IPAddress) bool) bool {
		return slices.ContainsFunc(e.IPAddresses, match)
	}
	s.mu.RLock()
	raws := make([][]byte, 0, len(s.ethSorted))
	for _, r := range s.ethSorted {
		e := &r.e
		if anyOf(q["id"], e.ID) && anyOf(q["macaddress"], e.MACAddress) && anyOf(q["componentid"], e.ComponentID) &&
			anyOf(q["type"], e.Type) &&
			(len(q["ipaddress"]) == 0 || hasIP(e, func(ip hsmapi.IPAddress) bool { return slices.Contains(q["ipaddress"], ip.IPAddress) })) &&
			(len(q["network"]) == 0 || hasIP(e, func(ip hsmapi.IPAddress) bool { return slices.Contains(q["network"], ip.Network) })) {
			raws = append(raws, r.encoding())
		}
	}
	body := arrayJSON(raws)
	s.mu.RUnlock()
	writeRaw(w, http.StatusOK, body)
	return nil
}

func (s *Server) getEthernetInterface(w http.ResponseWriter, r *http.Request) *problem.Details {
	_, id, ok := normMAC(r.PathValue("id"))
	if !ok {
		return problem.New(http.StatusBadRequest, "invalid EthernetInterface ID %q", r.PathValue("id"))
	}
	writeRecord(s, w, s.eths, id, "no such EthernetInterface.")
	return nil
}

type ethIn struct {
	ID          string             `json:"ID"`
	Description string             `json:"Description"`
	MACAddress  string             `json:"MACAddress"`
	IPAddresses []hsmapi.IPAddress `json:"IPAddresses"`
	LastUpdate  string             `json:"LastUpdate"`
	ComponentID string             `json:"ComponentID"`
	Type        string             `json:"Type"`
}

func (s *Server) postEthernetInterface(w http.ResponseWriter, r *http.Request) *problem.Details {
	var in ethIn
	if d := s.decode(w, r, &in); d != nil {
		return d
	}
	mac, id, ok := normMAC(in.MACAddress)
	if !ok {
		return problem.New(http.StatusBadRequest, "invalid MACAddress %q", in.MACAddress)
	}
	if in.ID != "" && strings.ToLower(in.ID) != id {
		return problem.New(http.StatusBadRequest, "ID %q does not match MACAddress %q", in.ID, in.MACAddress)
	}
	e := hsmapi.EthernetInterface{ID: id, Description: in.Description, MACAddress: mac, IPAddresses: in.IPAddresses,
		ComponentID: in.ComponentID, Type: in.Type}
	if e.IPAddresses == nil {
		e.IPAddresses = []hsmapi.IPAddress{}
	}
	if e.ComponentID != "" {
		cid, typ, err := parseXname(e.ComponentID)
		if err != nil {
			return problem.New(http.StatusBadRequest, "invalid ComponentID %q", in.ComponentID)
		}
		e.ComponentID, e.Type = cid, string(typ)
	}
	s.mu.Lock()
	_, dup := s.eths[id]
	if !dup {
		e.LastUpdate = stamp(s.now())
		s.putEth(e)
	}
	s.mu.Unlock()
	if dup {
		return problem.New(http.StatusConflict, "operation would conflict with an existing ethernet interface that has the same MAC address.")
	}
	// hms-smd answers a single ResourceURI here, not the array of other POSTs.
	w.Header().Set("Location", hsmapi.BasePath+"/Inventory/EthernetInterfaces/"+id)
	writeJSON(w, http.StatusCreated, hsmapi.ResourceURI{URI: hsmapi.BasePath + "/Inventory/EthernetInterfaces/" + id})
	return nil
}

func (s *Server) deleteEthernetInterface(w http.ResponseWriter, r *http.Request) *problem.Details {
	_, id, ok := normMAC(r.PathValue("id"))
	if !ok {
		return problem.New(http.StatusBadRequest, "invalid EthernetInterface ID %q", r.PathValue("id"))
	}
	s.mu.Lock()
	_, found := s.eths[id]
	if found {
		delete(s.eths, id)
		s.ethSorted.remove(id)
	}
	s.mu.Unlock()
	if !found {
		return problem.New(http.StatusNotFound, "no such EthernetInterface.")
	}
	writeMessage(w, http.StatusOK, "deleted 1 entry")
	return nil
}
