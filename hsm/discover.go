package hsm

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/xname"
)

// Redfish discovery, as hms-smd's discoverFromEndpoints/doDiscovery: read a BMC's
// service root, its services, systems and managers over Redfish with the credentials
// HSM keeps for it, then store what was read as the RedfishEndpoint's DiscoveryInfo,
// ComponentEndpoints, Components, EthernetInterfaces, ServiceEndpoints and hardware
// inventory (hwinv_discover.go). The reads
// happen outside Server.mu; the results are applied under it in one step.

// LastDiscoveryStatus values of hms-smd's pkg/redfish that this simulator produces.
const (
	discNotYetQueried  = "NotYetQueried"
	discStarted        = "DiscoveryStarted"
	discOK             = "DiscoverOK"
	discHTTPsGetFailed = "HTTPsGetFailed"
	discDecodeFailed   = "EPResponseFailedDecode"
)

// DiscoveryStatus statuses (DiscoveryStatus.1.0.0).
const (
	discStatusNotStarted = "NotStarted"
	discStatusInProgress = "InProgress"
	discStatusComplete   = "Complete"
)

// redfishServices are the service-root links HSM records as ServiceEndpoints, by the
// root's property name and the RedfishType HSM stores.
var redfishServices = []struct{ rootKey, redfishType string }{
	{"AccountService", "AccountService"},
	{"EventService", "EventService"},
	{"SessionService", "SessionService"},
	{"Tasks", "TaskService"},
	{"UpdateService", "UpdateService"},
}

// ServiceEndpoint is a Redfish service of a discovered BMC (ServiceEndpoint.1.0.0):
// ServiceInfo is the service's own JSON as the BMC served it.
type ServiceEndpoint struct {
	RedfishEndpointID   string          `json:"RedfishEndpointID"`
	RedfishType         string          `json:"RedfishType"`
	RedfishSubtype      string          `json:"RedfishSubtype,omitempty"`
	UUID                string          `json:"UUID,omitempty"`
	OdataID             string          `json:"OdataID"`
	RedfishEndpointFQDN string          `json:"RedfishEndpointFQDN"`
	RedfishURL          string          `json:"RedfishURL"`
	ServiceInfo         json.RawMessage `json:"ServiceInfo,omitempty"`
}

// ServiceEndpointArray is the collection wrapper of Inventory/ServiceEndpoints.
type ServiceEndpointArray struct {
	ServiceEndpoints []ServiceEndpoint `json:"ServiceEndpoints"`
}

// DiscoveryStatus is a discovery operation's status (DiscoveryStatus.1.0.0). HSM has
// one, ID 0, which every Discover request reuses.
type DiscoveryStatus struct {
	ID             int             `json:"ID"`
	Status         string          `json:"Status"`
	LastUpdateTime string          `json:"LastUpdateTime"`
	Details        json.RawMessage `json:"Details,omitempty"` // reserved; HSM leaves it out
}

// DiscoveredSystem is one ComputerSystem discovery read, for Config.OnDiscovered.
type DiscoveredSystem struct {
	ID      string          // the node's xname
	OdataID string          // its path on the BMC
	Raw     json.RawMessage // the ComputerSystem as the BMC served it
}

// DiscoveredBMC is what a successful discovery read from one BMC, for
// Config.OnDiscovered. Fetch is an authenticated GET of a path on that BMC, valid
// during the callback.
type DiscoveredBMC struct {
	ID      string
	Systems []DiscoveredSystem
	Fetch   func(ctx context.Context, path string) (json.RawMessage, error)
}

// defaultBMCClient reaches BMCs as HSM does: TLS without verifying the BMC's
// certificate (hms-smd's default), bounded per request.
func defaultBMCClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // as HSM: BMC certificates are self-signed
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// bmcReader reads one BMC over Redfish.
type bmcReader struct {
	client         *http.Client
	base           string // scheme://fqdn
	user, password string
}

func (b *bmcReader) get(ctx context.Context, path string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(b.user, b.password)
	req.Header.Set("Accept", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

type odataLink struct {
	ID string `json:"@odata.id"`
}

type rfCollection struct {
	Members []odataLink `json:"Members"`
}

type rfResetAction struct {
	Target          string   `json:"target"`
	AllowableValues []string `json:"ResetType@Redfish.AllowableValues"`
	ActionInfo      string   `json:"@Redfish.ActionInfo"`
}

type rfNIC struct {
	ID                  string `json:"Id"`
	ODataID             string `json:"@odata.id"`
	Description         string `json:"Description"`
	InterfaceEnabled    *bool  `json:"InterfaceEnabled"`
	MACAddress          string `json:"MACAddress"`
	PermanentMACAddress string `json:"PermanentMACAddress"`
}

// rfResource is what discovery reads of a system or manager.
type rfResource struct {
	ID          string `json:"Id"`
	ODataID     string `json:"@odata.id"`
	Name        string `json:"Name"`
	UUID        string `json:"UUID"`
	PowerState  string `json:"PowerState"`
	ManagerType string `json:"ManagerType"`
	SystemType  string `json:"SystemType"`
	Actions     struct {
		SystemReset  *rfResetAction `json:"#ComputerSystem.Reset"`
		ManagerReset *rfResetAction `json:"#Manager.Reset"`
	} `json:"Actions"`
	EthernetInterfaces *odataLink `json:"EthernetInterfaces"`

	raw  json.RawMessage
	nics []rfNIC
}

// bmcReading is everything one discovery read from a BMC.
type bmcReading struct {
	status         string // LastDiscoveryStatus
	redfishVersion string
	uuid           string
	services       []ServiceEndpoint
	systems        []rfResource
	managers       []rfResource
}

// readBMC crawls the BMC as hms-smd's GetRootInfo does: a failed GET of the root or of
// a system or manager (unreachable, refused credentials) is HTTPsGetFailed, an
// undecodable one EPResponseFailedDecode. A service that cannot be read is left out.
func (b *bmcReader) readBMC(ctx context.Context) bmcReading {
	raw, err := b.get(ctx, "/redfish/v1/")
	if err != nil {
		return bmcReading{status: discHTTPsGetFailed}
	}
	var root map[string]json.RawMessage
	var rootInfo struct {
		RedfishVersion string    `json:"RedfishVersion"`
		UUID           string    `json:"UUID"`
		Systems        odataLink `json:"Systems"`
		Managers       odataLink `json:"Managers"`
	}
	if json.Unmarshal(raw, &root) != nil || json.Unmarshal(raw, &rootInfo) != nil {
		return bmcReading{status: discDecodeFailed}
	}
	out := bmcReading{status: discOK, redfishVersion: rootInfo.RedfishVersion, uuid: rootInfo.UUID}
	for _, svc := range redfishServices {
		var link odataLink
		if json.Unmarshal(root[svc.rootKey], &link) != nil || link.ID == "" {
			continue
		}
		info, err := b.get(ctx, link.ID)
		if err != nil {
			continue // HSM records the services it could read
		}
		out.services = append(out.services, ServiceEndpoint{RedfishType: svc.redfishType, UUID: rootInfo.UUID,
			OdataID: strings.TrimSuffix(link.ID, "/"), ServiceInfo: info})
	}
	var status string
	if out.systems, status = b.readMembers(ctx, rootInfo.Systems.ID); status != discOK {
		return bmcReading{status: status}
	}
	if out.managers, status = b.readMembers(ctx, rootInfo.Managers.ID); status != discOK {
		return bmcReading{status: status}
	}
	return out
}

// readMembers reads a collection's members and each member's EthernetInterfaces,
// sorted by path (HSM numbers a BMC's systems in that order).
func (b *bmcReader) readMembers(ctx context.Context, collection string) ([]rfResource, string) {
	if collection == "" {
		return nil, discOK
	}
	raw, err := b.get(ctx, collection)
	if err != nil {
		return nil, discHTTPsGetFailed
	}
	var coll rfCollection
	if json.Unmarshal(raw, &coll) != nil {
		return nil, discDecodeFailed
	}
	sort.Slice(coll.Members, func(i, j int) bool { return coll.Members[i].ID < coll.Members[j].ID })
	out := make([]rfResource, 0, len(coll.Members))
	for _, m := range coll.Members {
		raw, err := b.get(ctx, m.ID)
		if err != nil {
			return nil, discHTTPsGetFailed
		}
		var res rfResource
		if json.Unmarshal(raw, &res) != nil {
			return nil, discDecodeFailed
		}
		res.raw = raw
		if res.ODataID == "" {
			res.ODataID = m.ID
		}
		if res.EthernetInterfaces != nil && res.EthernetInterfaces.ID != "" {
			if nraw, err := b.get(ctx, res.EthernetInterfaces.ID); err == nil {
				var nics rfCollection
				if json.Unmarshal(nraw, &nics) == nil {
					for _, n := range nics.Members {
						var nic rfNIC
						if r, err := b.get(ctx, n.ID); err == nil && json.Unmarshal(r, &nic) == nil {
							if nic.ODataID == "" {
								nic.ODataID = n.ID
							}
							res.nics = append(res.nics, nic)
						}
					}
				}
			}
		}
		out = append(out, res)
	}
	return out, discOK
}

// discoveryJob is one endpoint to read: a copy of what reading it needs.
type discoveryJob struct {
	id, fqdn, user, password string
}

// startDiscovery marks the endpoints DiscoveryStarted (skipping those already being
// discovered unless force, as UpdateRFEndpointForDiscover) and status 0 InProgress,
// and returns the jobs to run. Disabled endpoints and, when update, endpoints without
// RediscoverOnUpdate are skipped as in hms-smd. Call with s.mu held.
func (s *Server) startDiscovery(ids []string, update, force bool) []discoveryJob {
	now := stamp(s.now())
	var jobs []discoveryJob
	for _, id := range ids {
		ep, ok := s.rfeps[id]
		if !ok || !ep.Enabled || update && !ep.RediscoverOnUpdate {
			continue
		}
		if ep.DiscoveryInfo.LastDiscoveryStatus == discStarted && !force {
			continue
		}
		ep.DiscoveryInfo.LastDiscoveryStatus = discStarted
		ep.DiscoveryInfo.LastDiscoveryAttempt = now
		jobs = append(jobs, discoveryJob{id: ep.ID, fqdn: ep.FQDN, user: ep.User, password: ep.Password})
	}
	if len(jobs) > 0 {
		s.discStatus = DiscoveryStatus{Status: discStatusInProgress, LastUpdateTime: now}
		s.discRunning++
	}
	return jobs
}

// runDiscovery reads the jobs' BMCs concurrently in the background and applies each
// result; WaitDiscoveries waits for it.
func (s *Server) runDiscovery(jobs []discoveryJob) {
	if len(jobs) == 0 {
		return
	}
	s.discWG.Add(1)
	go func() {
		defer s.discWG.Done()
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.discoverOne(j)
			}()
		}
		wg.Wait()
		s.mu.Lock()
		s.discRunning--
		if s.discRunning == 0 {
			s.discStatus.Status = discStatusComplete
			s.discStatus.LastUpdateTime = stamp(s.now())
		}
		s.mu.Unlock()
	}()
}

// WaitDiscoveries blocks until every discovery started so far has been applied.
func (s *Server) WaitDiscoveries() { s.discWG.Wait() }

func (s *Server) discoverOne(j discoveryJob) {
	ctx := context.Background()
	r := &bmcReader{client: s.bmcClient, base: s.bmcScheme + "://" + j.fqdn, user: j.user, password: j.password}
	reading := r.readBMC(ctx)
	var hw []*HWInvByLoc
	if reading.status == discOK {
		hw = r.readHW(ctx, j.id, reading)
	}
	s.mu.Lock()
	ep, ok := s.rfeps[j.id]
	if ok {
		s.applyReading(ep, reading)
		s.putHW(hw)
	}
	s.mu.Unlock()
	if !ok || reading.status != discOK || s.onDiscovered == nil {
		return
	}
	d := DiscoveredBMC{ID: j.id, Fetch: r.get}
	for i, sys := range reading.systems {
		d.Systems = append(d.Systems, DiscoveredSystem{ID: systemXname(j.id, i), OdataID: sys.ODataID, Raw: sys.raw})
	}
	s.onDiscovered(d)
}

// systemXname is the node xname of a BMC's i-th system (sorted by path), as HSM
// assigns it for a NodeBMC.
func systemXname(bmc string, i int) string { return fmt.Sprintf("%sn%d", bmc, i) }

// applyReading stores a discovery's results. Failed discoveries only update the
// endpoint's DiscoveryInfo, as hms-smd's updateFromRfEndpoint. Call with s.mu held.
func (s *Server) applyReading(ep *hsmapi.RedfishEndpoint, rd bmcReading) {
	now := s.now()
	ep.DiscoveryInfo.LastDiscoveryStatus = rd.status
	ep.DiscoveryInfo.LastDiscoveryAttempt = stamp(now)
	if rd.status != discOK {
		return
	}
	ep.DiscoveryInfo.RedfishVersion = rd.redfishVersion
	if rd.uuid != "" {
		ep.UUID = rd.uuid
	}
	// The endpoint's ComponentEndpoints that this reading no longer has go; the others
	// are replaced in place (never a walk over the cluster's: this runs once per BMC).
	found := map[string]bool{}
	for i := range rd.systems {
		found[systemXname(ep.ID, i)] = true
	}
	for i, m := range rd.managers {
		if i == 0 && (m.ManagerType == "" || m.ManagerType == "BMC") {
			found[ep.ID] = true
		}
	}
	for id := range s.cepsOf[ep.ID] {
		if !found[id] {
			s.dropCEP(id)
		}
	}
	for i, sys := range rd.systems {
		id := systemXname(ep.ID, i)
		ce := hsmapi.ComponentEndpoint{ID: id, Type: string(xname.Node), FQDN: id, RedfishType: "ComputerSystem",
			RedfishSubtype: orDefault(sys.SystemType, "Physical"), UUID: sys.UUID, OdataID: sys.ODataID,
			RedfishEndpointID: ep.ID, Enabled: true, ComponentEndpointType: hsmapi.CompEPTypeSystem,
			RedfishSystemInfo: &hsmapi.SystemInfo{Name: sys.ID, EthernetNICInfo: nicInfo(sys.nics)}}
		if a := sys.Actions.SystemReset; a != nil {
			ce.RedfishSystemInfo.Actions = &hsmapi.SystemActions{Reset: hsmapi.ResetAction{AllowableValues: a.AllowableValues,
				ActionInfo: a.ActionInfo, Target: a.Target}}
		}
		if len(sys.nics) > 0 {
			ce.MACAddr = strings.ToLower(sys.nics[0].MACAddress)
		}
		setEndpointFQDN(&ce, ep.FQDN)
		s.putCEP(ce)
		s.discoveredNode(id, sys.PowerState)
		s.discoveredNICs(id, xname.Node, sys.nics, now)
	}
	for i, m := range rd.managers {
		if i > 0 || m.ManagerType != "" && m.ManagerType != "BMC" {
			continue // the BMC's own manager is the endpoint's component
		}
		ce := hsmapi.ComponentEndpoint{ID: ep.ID, Type: ep.Type, FQDN: ep.ID, RedfishType: "Manager",
			RedfishSubtype: orDefault(m.ManagerType, "BMC"), UUID: m.UUID, OdataID: m.ODataID,
			RedfishEndpointID: ep.ID, Enabled: true, ComponentEndpointType: hsmapi.CompEPTypeManager,
			RedfishManagerInfo: &hsmapi.ManagerInfo{Name: m.ID, EthernetNICInfo: nicInfo(m.nics)}}
		if a := m.Actions.ManagerReset; a != nil {
			ce.RedfishManagerInfo.Actions = &hsmapi.ManagerActions{Reset: hsmapi.ResetAction{AllowableValues: a.AllowableValues,
				ActionInfo: a.ActionInfo, Target: a.Target}}
		}
		if len(m.nics) > 0 {
			ce.MACAddr = strings.ToLower(m.nics[0].MACAddress)
			ep.MACAddr = ce.MACAddr
		}
		setEndpointFQDN(&ce, ep.FQDN)
		s.putCEP(ce)
		if r, ok := s.comps[ep.ID]; ok {
			s.repopulate(r, StateReady)
		} else {
			s.putComp(&compRec{c: hsmapi.Component{ID: ep.ID, Type: ep.Type, State: StateReady, Flag: FlagOK,
				Enabled: boolPtr(true), NetType: "Sling", Arch: "X86"}})
		}
		s.discoveredNICs(ep.ID, xname.TypeOf(ep.ID), m.nics, now)
	}
	s.dropSEPsOf(ep.ID)
	for _, se := range rd.services {
		se.RedfishEndpointID = ep.ID
		se.RedfishEndpointFQDN, se.RedfishURL = ep.FQDN, ep.FQDN+se.OdataID
		s.putSEP(&se)
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func nicInfo(nics []rfNIC) []hsmapi.EthernetNICInfo {
	out := make([]hsmapi.EthernetNICInfo, 0, len(nics))
	for _, n := range nics {
		out = append(out, hsmapi.EthernetNICInfo{RedfishID: n.ID, ODataID: n.ODataID, Description: n.Description,
			InterfaceEnabled: n.InterfaceEnabled, MACAddress: strings.ToLower(n.MACAddress),
			PermanentMACAddress: strings.ToLower(n.PermanentMACAddress)})
	}
	return out
}

// discoveredNode creates the node component discovery found (topology facts when the
// topology knows it, else HSM's defaults) or brings an Empty one back. Call with s.mu held.
func (s *Server) discoveredNode(id, power string) {
	state := StateOff
	if power == "On" {
		state = StateOn
	}
	if r, ok := s.comps[id]; ok {
		s.repopulate(r, state)
		return
	}
	c := hsmapi.Component{ID: id, Type: string(xname.Node), State: state, Flag: FlagOK, Enabled: boolPtr(true),
		Role: "Compute", NetType: "Sling", Arch: "X86", Class: "River", NID: syntheticNID(id)}
	if n, ok := s.topoNodes[id]; ok {
		c.Role, c.SubRole, c.NID, c.Enabled = n.Role, n.SubRole, n.NID, boolPtr(!n.Disabled)
		if a, ok := archs.norm(n.Arch); ok {
			c.Arch = a
		}
		if cl, ok := classes.norm(n.Class); ok {
			c.Class = cl
		}
	} else if m, ok := s.nodeMaps[id]; ok {
		c.NID, c.Role, c.SubRole = m.NID, orDefault(m.Role, "Compute"), m.SubRole
	}
	s.putComp(&compRec{c: c})
}

// discoveredNICs records the component's interfaces by MAC, keeping IP addresses an
// interface already has (they come from DHCP, not discovery). Call with s.mu held.
func (s *Server) discoveredNICs(id string, typ xname.Type, nics []rfNIC, now time.Time) {
	for _, n := range nics {
		mac, eid, ok := normMAC(n.MACAddress)
		if !ok {
			continue
		}
		e := hsmapi.EthernetInterface{ID: eid, Description: n.Description, MACAddress: mac, IPAddresses: []hsmapi.IPAddress{},
			LastUpdate: stamp(now), ComponentID: id, Type: string(typ)}
		if old, ok := s.eths[eid]; ok {
			e.IPAddresses = old.e.IPAddresses
			if e.Description == "" {
				e.Description = old.e.Description
			}
		}
		s.putEth(e)
	}
}

func sepKey(service, rfep string) string { return strings.ToLower(service) + "/" + rfep }
