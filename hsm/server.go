package hsm

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // see simMAC
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/internal/uuid"
	"github.com/cray-bos/bos/internal/xname"
)

// BMCEndpoint says where a BMC simulator listens and which credentials it takes.
type BMCEndpoint struct {
	FQDN     string // "ip:port" (or a host name); becomes RedfishEndpoint FQDN
	User     string
	Password string
}

// Config configures a Server.
type Config struct {
	// Topology seeds components, groups, partitions and the Redfish inventory.
	// Nil starts an empty HSM.
	Topology *topology.Topology
	// BMCs maps a BMC xname to where its simulator listens. A BMC without an entry
	// gets its topology Address (or, failing that, its xname) as FQDN and its topology
	// credentials. May be nil; SetBMCEndpoints fills it in later.
	BMCs map[string]BMCEndpoint
	// Now is the clock for reservation expiry and timestamps. Default time.Now.
	Now func() time.Time
	// Logger receives debug and warning records. Nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (bytes); larger ones get 413.
	// Default problem.DefaultMaxBody (8 MiB).
	MaxBodyBytes int64
	// SCNClient POSTs state change notifications to subscribers. Default: an
	// http.Client with hms-smd's 30 s timeout.
	SCNClient *http.Client
	// SCNQueueLimit bounds each subscriber's queue of undelivered notifications;
	// past it the oldest are dropped. Default 1000.
	SCNQueueLimit int
	// BMCClient is the HTTP client discovery reads BMCs with (POST /Inventory/Discover,
	// and RedfishEndpoint POST/PUT/PATCH with RediscoverOnUpdate). Default: 10 s per
	// request, BMC certificates not verified (as HSM).
	BMCClient *http.Client
	// BMCScheme is the scheme of the BMCs' Redfish URLs: "https" (default, as HSM) or "http".
	BMCScheme string
	// OnDiscovered, if set, is called after each successful discovery of a BMC, outside
	// the server's lock, with the systems it read (the hardware inventory is already
	// updated from them), for observers of discovery.
	OnDiscovered func(DiscoveredBMC)
}

// Server is one simulated HSM. All state hangs off it; it is safe for concurrent use.
type Server struct {
	log     *slog.Logger
	now     func() time.Time
	maxBody int64
	handler http.Handler

	// Topology facts used to "discover" BMCs registered through the API.
	topoNodes map[string]topology.Node
	topoBMCs  map[string]topology.BMC

	mu         sync.RWMutex
	roles      *enum
	subRoles   *enum
	comps      map[string]*compRec
	sorted     sorted[*compRec]
	byNID      map[int]*compRec
	groups     map[string]*groupRec
	partitions map[string]*groupRec
	compPart   map[string]string // component → partition name
	rfeps      map[string]*hsmapi.RedfishEndpoint
	ceps       map[string]*cepRec
	cepSorted  sorted[*cepRec]
	cepsOf     map[string]map[string]*cepRec // by RedfishEndpointID, then ID
	eths       map[string]*ethRec
	nodeMaps   map[string]NodeMap
	powerMaps  map[string]PowerMap
	ethSorted  sorted[*ethRec]
	// eventTargets maps a BMC and a Redfish path to the component it names.
	eventTargets map[eventKey]string

	scn         scnSubs                     // SCN subscriptions (their own lock)
	scnOut      *scnDelivery                // SCN queues, one per subscriber URL
	hw          hwStore                     // hardware inventory and its history
	seps        map[string]*ServiceEndpoint // by sepKey(service, RedfishEndpoint)
	sepsOf      map[string]map[string]bool  // sepKeys by RedfishEndpointID
	discStatus  DiscoveryStatus             // DiscoveryStatus 0
	discRunning int                         // discoveries not yet applied
	// walked counts the records handed to walks over every ComponentEndpoint or
	// ServiceEndpoint of the cluster (allCEPs, allSEPs; atomic: lists walk under the
	// read lock). A BMC's registration and discovery add none (TestRegisterCostFlat).
	walked atomic.Int64

	bmcClient    *http.Client
	bmcScheme    string
	onDiscovered func(DiscoveredBMC)
	discWG       sync.WaitGroup
}

type eventKey struct{ bmc, path string }

// New builds a Server seeded from cfg.Topology.
func New(cfg Config) (*Server, error) {
	s := &Server{
		log:          cfg.Logger,
		now:          cfg.Now,
		maxBody:      cfg.MaxBodyBytes,
		topoNodes:    map[string]topology.Node{},
		topoBMCs:     map[string]topology.BMC{},
		roles:        newEnum("Role", defaultRoles...),
		subRoles:     newEnum("SubRole", defaultSubRoles...),
		comps:        map[string]*compRec{},
		byNID:        map[int]*compRec{},
		groups:       map[string]*groupRec{},
		partitions:   map[string]*groupRec{},
		compPart:     map[string]string{},
		rfeps:        map[string]*hsmapi.RedfishEndpoint{},
		ceps:         map[string]*cepRec{},
		cepsOf:       map[string]map[string]*cepRec{},
		eths:         map[string]*ethRec{},
		nodeMaps:     map[string]NodeMap{},
		powerMaps:    map[string]PowerMap{},
		eventTargets: map[eventKey]string{},
		hw:           newHWStore(),
		seps:         map[string]*ServiceEndpoint{},
		sepsOf:       map[string]map[string]bool{},
		bmcClient:    cfg.BMCClient,
		bmcScheme:    cfg.BMCScheme,
		onDiscovered: cfg.OnDiscovered,
	}
	if s.bmcClient == nil {
		s.bmcClient = defaultBMCClient()
	}
	if s.bmcScheme == "" {
		s.bmcScheme = "https"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = problem.DefaultMaxBody
	}
	s.scn.byID = map[int64]*SCNSubscription{}
	s.scnOut = newSCNDelivery(cfg.SCNClient, cfg.SCNQueueLimit, s.log)
	s.discStatus = DiscoveryStatus{Status: discStatusNotStarted, LastUpdateTime: stamp(s.now())}
	if cfg.Topology != nil {
		if err := s.seed(cfg.Topology, cfg.BMCs); err != nil {
			return nil, fmt.Errorf("hsm: seed: %w", err)
		}
	}
	for id := range cfg.BMCs {
		if _, ok := s.topoBMCs[xname.Normalize(id)]; !ok {
			return nil, fmt.Errorf("hsm: BMCs: %q is not a BMC of the topology", id)
		}
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves the HSM API under BasePath and GatewayPath.
func (s *Server) Handler() http.Handler { return s.handler }

// routes is the route table, in the order of the HSM API document.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"GET /service/ready", s.ready},
		{"GET /service/liveness", s.liveness},
		{"GET /service/values", problem.Handler(s.values)},
		{"GET /service/values/{name}", problem.Handler(s.values)},

		{"GET /State/Components", problem.Handler(s.getComponents)},
		{"POST /State/Components", problem.Handler(s.postComponents)},
		{"DELETE /State/Components", problem.Handler(s.deleteComponents)},
		{"GET /State/Components/{xname}", s.getComponent},
		{"PUT /State/Components/{xname}", problem.Handler(s.putComponent)},
		{"DELETE /State/Components/{xname}", problem.Handler(s.deleteComponent)},
		{"POST /State/Components/Query", problem.Handler(s.queryComponents)},
		{"GET /State/Components/Query/{xname}", problem.Handler(s.queryComponent)},
		{"GET /State/Components/ByNID/{nid}", problem.Handler(s.getComponentByNID)},
		{"POST /State/Components/ByNID/Query", problem.Handler(s.queryComponentsByNID)},
		{"PATCH /State/Components/BulkStateData", s.bulkPatch(patchState)},
		{"PATCH /State/Components/BulkFlagOnly", s.bulkPatch(patchFlag)},
		{"PATCH /State/Components/BulkEnabled", s.bulkPatch(patchEnabled)},
		{"PATCH /State/Components/BulkSoftwareStatus", s.bulkPatch(patchSoftwareStatus)},
		{"PATCH /State/Components/BulkRole", s.bulkPatch(patchRole)},
		{"PATCH /State/Components/BulkNID", problem.Handler(s.bulkNIDPatch)},
		{"PATCH /State/Components/{xname}/StateData", s.onePatch(patchState)},
		{"PATCH /State/Components/{xname}/FlagOnly", s.onePatch(patchFlag)},
		{"PATCH /State/Components/{xname}/Enabled", s.onePatch(patchEnabled)},
		{"PATCH /State/Components/{xname}/SoftwareStatus", s.onePatch(patchSoftwareStatus)},
		{"PATCH /State/Components/{xname}/Role", s.onePatch(patchRole)},
		{"PATCH /State/Components/{xname}/NID", s.onePatch(patchNID)},

		{"GET /Inventory/RedfishEndpoints", problem.Handler(s.getRedfishEndpoints)},
		{"POST /Inventory/RedfishEndpoints", problem.Handler(s.postRedfishEndpoints)},
		{"DELETE /Inventory/RedfishEndpoints", problem.Handler(s.deleteRedfishEndpoints)},
		{"GET /Inventory/RedfishEndpoints/{xname}", problem.Handler(s.getRedfishEndpoint)},
		{"PUT /Inventory/RedfishEndpoints/{xname}", problem.Handler(s.putRedfishEndpoint)},
		{"PATCH /Inventory/RedfishEndpoints/{xname}", problem.Handler(s.patchRedfishEndpoint)},
		{"DELETE /Inventory/RedfishEndpoints/{xname}", problem.Handler(s.deleteRedfishEndpoint)},
		{"GET /Inventory/ComponentEndpoints", problem.Handler(s.getComponentEndpoints)},
		{"GET /Inventory/ComponentEndpoints/{xname}", s.getComponentEndpoint},
		// Hardware inventory and its history (hwinv_api.go).
		{"GET /Inventory/Hardware", problem.Handler(s.getHWLocs)},
		{"POST /Inventory/Hardware", problem.Handler(s.postHWLocs)},
		{"DELETE /Inventory/Hardware", problem.Handler(s.deleteHWLocs)},
		{"GET /Inventory/Hardware/{xname}", problem.Handler(s.getHWLoc)},
		{"DELETE /Inventory/Hardware/{xname}", problem.Handler(s.deleteHWLoc)},
		{"GET /Inventory/Hardware/Query/{xname}", problem.Handler(s.queryHW)},
		{"GET /Inventory/HardwareByFRU", problem.Handler(s.getHWFRUs)},
		{"DELETE /Inventory/HardwareByFRU", problem.Handler(s.deleteHWFRUs)},
		{"GET /Inventory/HardwareByFRU/{fruid}", problem.Handler(s.getHWFRU)},
		{"DELETE /Inventory/HardwareByFRU/{fruid}", problem.Handler(s.deleteHWFRU)},
		{"GET /Inventory/Hardware/History", s.getHWHistory(false)},
		{"DELETE /Inventory/Hardware/History", problem.Handler(s.deleteHWHistory)},
		{"GET /Inventory/Hardware/History/{xname}", s.getHWHistoryOf(false)},
		{"DELETE /Inventory/Hardware/History/{xname}", s.deleteHWHistoryOf(false)},
		{"GET /Inventory/HardwareByFRU/History", s.getHWHistory(true)},
		{"GET /Inventory/HardwareByFRU/History/{fruid}", s.getHWHistoryOf(true)},
		{"DELETE /Inventory/HardwareByFRU/History/{fruid}", s.deleteHWHistoryOf(true)},

		{"GET /Inventory/EthernetInterfaces", problem.Handler(s.getEthernetInterfaces)},
		{"POST /Inventory/EthernetInterfaces", problem.Handler(s.postEthernetInterface)},
		{"GET /Inventory/EthernetInterfaces/{id}", problem.Handler(s.getEthernetInterface)},
		{"DELETE /Inventory/EthernetInterfaces/{id}", problem.Handler(s.deleteEthernetInterface)},

		// Discovery and the inventory operations around it (discover.go, discover_api.go).
		{"GET /Inventory/RedfishEndpoints/Query/{xname}", problem.Handler(s.queryRedfishEndpoints)},
		{"DELETE /Inventory/ComponentEndpoints", problem.Handler(s.deleteComponentEndpoints)},
		{"DELETE /Inventory/ComponentEndpoints/{xname}", problem.Handler(s.deleteComponentEndpoint)},
		{"GET /Inventory/ServiceEndpoints", problem.Handler(s.getServiceEndpoints)},
		{"DELETE /Inventory/ServiceEndpoints", problem.Handler(s.deleteServiceEndpoints)},
		{"GET /Inventory/ServiceEndpoints/{service}", problem.Handler(s.getServiceEndpoints)},
		{"GET /Inventory/ServiceEndpoints/{service}/RedfishEndpoints/{xname}", problem.Handler(s.getServiceEndpoint)},
		{"DELETE /Inventory/ServiceEndpoints/{service}/RedfishEndpoints/{xname}", problem.Handler(s.deleteServiceEndpoint)},
		{"DELETE /Inventory/EthernetInterfaces", problem.Handler(s.deleteEthernetInterfaces)},
		{"PATCH /Inventory/EthernetInterfaces/{id}", problem.Handler(s.patchEthernetInterface)},
		{"GET /Inventory/EthernetInterfaces/{id}/IPAddresses", problem.Handler(s.getIPAddresses)},
		{"POST /Inventory/EthernetInterfaces/{id}/IPAddresses", problem.Handler(s.postIPAddress)},
		{"PATCH /Inventory/EthernetInterfaces/{id}/IPAddresses/{ip}", problem.Handler(s.patchIPAddress)},
		{"DELETE /Inventory/EthernetInterfaces/{id}/IPAddresses/{ip}", problem.Handler(s.deleteIPAddress)},
		{"GET /Inventory/DiscoveryStatus", s.getDiscoveryStatuses},
		{"GET /Inventory/DiscoveryStatus/{id}", problem.Handler(s.getDiscoveryStatus)},
		{"POST /Inventory/Discover", problem.Handler(s.postDiscover)},

		{"GET /groups", s.listSets(groupKind)},
		{"POST /groups", s.createSet(groupKind)},
		{"GET /groups/labels", s.setNames(groupKind)},
		{"GET /groups/{label}", s.getSet(groupKind, false)},
		{"PATCH /groups/{label}", s.patchSet(groupKind)},
		{"DELETE /groups/{label}", s.deleteSet(groupKind)},
		{"GET /groups/{label}/members", s.getSet(groupKind, true)},
		{"POST /groups/{label}/members", s.addMember(groupKind)},
		{"PUT /groups/{label}/members", problem.Handler(s.putGroupMembers)},
		{"DELETE /groups/{label}/members/{xname}", s.removeMember(groupKind)},

		{"GET /partitions", s.listSets(partKind)},
		{"POST /partitions", s.createSet(partKind)},
		{"GET /partitions/names", s.setNames(partKind)},
		{"GET /partitions/{name}", s.getSet(partKind, false)},
		{"PATCH /partitions/{name}", s.patchSet(partKind)},
		{"DELETE /partitions/{name}", s.deleteSet(partKind)},
		{"GET /partitions/{name}/members", s.getSet(partKind, true)},
		{"POST /partitions/{name}/members", s.addMember(partKind)},
		{"DELETE /partitions/{name}/members/{xname}", s.removeMember(partKind)},

		{"GET /memberships", problem.Handler(s.getMemberships)},
		{"GET /memberships/{xname}", problem.Handler(s.getMembership)},

		{"GET /locks/status", problem.Handler(s.getLockStatus)},
		{"POST /locks/status", problem.Handler(s.postLockStatus)},
		{"POST /locks/lock", s.lockUpdate(actLock)},
		{"POST /locks/unlock", s.lockUpdate(actUnlock)},
		{"POST /locks/repair", s.lockUpdate(actRepair)},
		{"POST /locks/disable", s.lockUpdate(actDisable)},
		{"POST /locks/reservations", s.createReservations(false)},
		{"POST /locks/reservations/remove", serveLockFilter(s, s.removeReservationsLocked)},
		{"POST /locks/reservations/release", s.releaseOrRenew(false)},
		{"POST /locks/service/reservations", s.createReservations(true)},
		{"POST /locks/service/reservations/renew", s.releaseOrRenew(true)},
		{"POST /locks/service/reservations/release", s.releaseOrRenew(false)},
		{"POST /locks/service/reservations/check", problem.Handler(s.checkReservations)},

		{"GET /Defaults/NodeMaps", s.getNodeMaps},
		{"POST /Defaults/NodeMaps", problem.Handler(s.postNodeMaps)},
		{"DELETE /Defaults/NodeMaps", s.deleteNodeMaps},
		{"GET /Defaults/NodeMaps/{xname}", s.getNodeMap},
		{"PUT /Defaults/NodeMaps/{xname}", problem.Handler(s.putNodeMap)},
		{"DELETE /Defaults/NodeMaps/{xname}", s.deleteNodeMap},

		{"GET /sysinfo/powermaps", s.getPowerMaps},
		{"POST /sysinfo/powermaps", problem.Handler(s.postPowerMaps)},
		{"DELETE /sysinfo/powermaps", s.deletePowerMaps},
		{"GET /sysinfo/powermaps/{xname}", s.getPowerMap},
		{"PUT /sysinfo/powermaps/{xname}", problem.Handler(s.putPowerMap)},
		{"DELETE /sysinfo/powermaps/{xname}", s.deletePowerMap},

		{"GET /Subscriptions/SCN", s.getSCNSubscriptions},
		{"POST /Subscriptions/SCN", problem.Handler(s.postSCNSubscription)},
		{"DELETE /Subscriptions/SCN", s.deleteSCNSubscriptions},
		{"GET /Subscriptions/SCN/{id}", problem.Handler(s.getSCNSubscription)},
		{"PUT /Subscriptions/SCN/{id}", problem.Handler(s.putSCNSubscription)},
		{"PATCH /Subscriptions/SCN/{id}", problem.Handler(s.patchSCNSubscription)},
		{"DELETE /Subscriptions/SCN/{id}", problem.Handler(s.deleteSCNSubscription)},

		// Not in the real API: stands in for hmcollector + Kafka (see doc.go).
		{"POST /RedfishEvents", s.redfishEvents},
	} {
		method, path, _ := strings.Cut(rt.pattern, " ")
		for _, prefix := range []string{hsmapi.BasePath, hsmapi.GatewayPath} {
			mux.HandleFunc(method+" "+prefix+path, rt.h)
		}
	}
	// Everything else: problem+json 404, or 405 with Allow when another method fits.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isServicePath(r.URL.Path) { // HSM routes /service/* by method too: 404
			problem.Write(w, http.StatusNotFound, "no such resource: %s", r.URL.Path)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			problem.Write(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
			return
		}
		problem.Write(w, http.StatusNotFound, "no such resource: %s", r.URL.Path)
	})
	return mux
}

// seed loads the topology: components, groups, partitions, inventory.
func (s *Server) seed(t *topology.Topology, eps map[string]BMCEndpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range t.Nodes {
		s.topoNodes[n.Xname] = n
		s.roles.add(n.Role)
		s.subRoles.add(n.SubRole)
	}
	for _, b := range t.BMCs {
		s.topoBMCs[b.Xname] = b
	}
	byID := make(map[string]BMCEndpoint, len(eps))
	for k, ep := range eps {
		byID[xname.Normalize(k)] = ep
	}
	for _, b := range t.BMCs {
		if err := s.discover(b.Xname, s.bmcEndpoint(b.Xname, byID)); err != nil {
			return err
		}
	}
	s.seedHW(t)
	for _, g := range t.Groups {
		in := hsmapi.Group{Label: g.Label, Description: g.Description, ExclusiveGroup: g.ExclusiveGroup, Tags: g.Tags,
			Members: hsmapi.Members{IDs: g.Members}}
		if d := s.insertGroup(&in); d != nil {
			return fmt.Errorf("group %s: %w", g.Label, d)
		}
	}
	for _, p := range t.Partitions {
		in := hsmapi.Partition{Name: p.Name, Description: p.Description, Members: hsmapi.Members{IDs: p.Members}}
		if d := s.insertPartition(&in); d != nil {
			return fmt.Errorf("partition %s: %w", p.Name, d)
		}
	}
	return nil
}

// bmcEndpoint picks where BMC id listens: eps (keyed by normalized xname), else the
// topology address, else the xname.
func (s *Server) bmcEndpoint(id string, eps map[string]BMCEndpoint) BMCEndpoint {
	if ep, ok := eps[id]; ok {
		return ep
	}
	b := s.topoBMCs[id]
	ep := BMCEndpoint{FQDN: b.Address, User: b.Username, Password: b.Password}
	if ep.FQDN == "" {
		ep.FQDN = id
	}
	return ep
}

// discover does what HSM's Redfish discovery would for a topology BMC reached at ep:
// it registers the RedfishEndpoint, then runs discoverBMC. Call with s.mu held.
func (s *Server) discover(bmcID string, ep BMCEndpoint) error {
	rfep := newRedfishEndpoint(bmcID, ep, s.now())
	s.rfeps[bmcID] = &rfep
	return s.discoverBMC(&rfep)
}

// discoverBMC creates the BMC's and its nodes' components (if missing), their
// ComponentEndpoints and the nodes' EthernetInterfaces from the topology. Call with
// s.mu held.
func (s *Server) discoverBMC(rfep *hsmapi.RedfishEndpoint) error {
	b, ok := s.topoBMCs[rfep.ID]
	if !ok {
		return fmt.Errorf("%s is not a BMC of the topology", rfep.ID)
	}
	now := s.now()
	class := ""
	for ordinal, nodeID := range b.Nodes {
		n := s.topoNodes[nodeID]
		class = n.Class
		if r, exists := s.comps[nodeID]; exists {
			s.repopulate(r, StateOff)
		} else {
			arch, ok := archs.norm(n.Arch)
			if !ok {
				return fmt.Errorf("node %s: arch %q is not an HMS arch", nodeID, n.Arch)
			}
			cl, ok := classes.norm(n.Class)
			if !ok {
				return fmt.Errorf("node %s: class %q is not an HMS class", nodeID, n.Class)
			}
			s.putComp(&compRec{c: hsmapi.Component{ID: nodeID, Type: string(xname.Node), State: StateOff, Flag: FlagOK,
				Enabled: boolPtr(!n.Disabled), Role: n.Role, SubRole: n.SubRole, NID: n.NID, NetType: "Sling",
				Arch: arch, Class: cl}})
		}
		s.putCEP(systemEndpoint(n, ordinal, rfep))
		s.putEth(nodeInterface(n, now))
	}
	if r, exists := s.comps[rfep.ID]; exists {
		s.repopulate(r, StateReady)
	} else {
		cl, _ := classes.norm(class)
		s.putComp(&compRec{c: hsmapi.Component{ID: rfep.ID, Type: string(xname.NodeBMC), State: StateReady, Flag: FlagOK,
			Enabled: boolPtr(true), NetType: "Sling", Arch: "X86", Class: cl}})
	}
	s.putCEP(managerEndpoint(rfep, class))
	rfep.DiscoveryInfo = hsmapi.DiscoveryInfo{LastDiscoveryAttempt: stamp(now), LastDiscoveryStatus: discOK,
		RedfishVersion: simRedfishVersion}
	return nil
}

// repopulate gives a component that deleting its RedfishEndpoint left Empty the state
// rediscovery would find (a simulated node is found powered off). Call with s.mu held.
func (s *Server) repopulate(r *compRec, state string) {
	if r.c.State == StateEmpty {
		r.c.State, r.c.Flag = state, FlagOK
		r.encode()
	}
}

// SetBMCEndpoints records where BMC simulators listen once they have bound their
// addresses: it updates the RedfishEndpoints (FQDN, IP, credentials) and the
// ComponentEndpoints behind them. BMCs not in the topology are logged and skipped.
func (s *Server) SetBMCEndpoints(eps map[string]BMCEndpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byEP := map[string][]*cepRec{}
	for _, r := range s.allCEPs() {
		byEP[r.ce.RedfishEndpointID] = append(byEP[r.ce.RedfishEndpointID], r)
	}
	for raw, ep := range eps {
		id, _, err := parseXname(raw)
		if err != nil {
			s.log.Warn("hsm: SetBMCEndpoints: invalid xname", "bmc", raw)
			continue
		}
		rfep, ok := s.rfeps[id]
		if !ok {
			if _, known := s.topoBMCs[id]; !known {
				s.log.Warn("hsm: SetBMCEndpoints: not a BMC of the topology", "bmc", raw)
				continue
			}
			if err := s.discover(id, ep); err != nil {
				s.log.Warn("hsm: SetBMCEndpoints: discover", "bmc", id, "err", err)
			}
			continue
		}
		host, ip := splitFQDN(ep.FQDN)
		rfep.FQDN, rfep.Hostname, rfep.IPAddress = ep.FQDN, host, ip
		rfep.User, rfep.Password = ep.User, ep.Password
		for _, r := range byEP[id] {
			setEndpointFQDN(&r.ce, ep.FQDN)
		}
	}
}

// putComp inserts or replaces a component and its indexes. Call with s.mu held.
func (s *Server) putComp(r *compRec) {
	if old, ok := s.comps[r.c.ID]; ok {
		s.unindexNID(old)
	}
	r.encode()
	s.comps[r.c.ID] = r
	s.sorted.insert(r)
	if r.c.NID != 0 {
		s.byNID[r.c.NID] = r
	}
}

// setNID changes r's NID and the NID index. Call with s.mu held.
func (s *Server) setNID(r *compRec, nid int) {
	s.unindexNID(r)
	r.c.NID = nid
	if nid != 0 {
		s.byNID[nid] = r
	}
}

// unindexNID removes r's NID from the NID index if the index points at r (another
// component may have taken the NID since). Call with s.mu held.
func (s *Server) unindexNID(r *compRec) {
	if s.byNID[r.c.NID] == r {
		delete(s.byNID, r.c.NID)
	}
}

// dropComp deletes a component and cascades to groups, partition and reservation, as
// HSM's foreign keys do. Call with s.mu held.
func (s *Server) dropComp(id string) bool {
	r, ok := s.comps[id]
	if !ok {
		return false
	}
	delete(s.comps, id)
	s.sorted.remove(id)
	s.unindexNID(r)
	for _, g := range s.groups {
		g.remove(id)
	}
	if p, ok := s.compPart[id]; ok {
		s.partitions[p].remove(id)
		delete(s.compPart, id)
	}
	return true
}

// allCEPs is every ComponentEndpoint, sorted by ID, counted in s.walked: the one way
// to walk them all (a BMC's own are cepsOf's). Call with s.mu held (read or write);
// the slice is HSM's own, so clone it to change the records while walking.
func (s *Server) allCEPs() []*cepRec {
	s.walked.Add(int64(len(s.cepSorted)))
	return s.cepSorted
}

// allSEPs is every ServiceEndpoint by sepKey, counted in s.walked: the one way to walk
// them all (a BMC's own are sepsOf's). Call with s.mu held (read or write).
func (s *Server) allSEPs() map[string]*ServiceEndpoint {
	s.walked.Add(int64(len(s.seps)))
	return s.seps
}

// putCEP stores ce over any ComponentEndpoint of its ID. Call with s.mu held.
func (s *Server) putCEP(ce hsmapi.ComponentEndpoint) {
	if old, ok := s.ceps[ce.ID]; ok {
		s.unindexCEP(old)
	}
	r := &cepRec{ce: ce}
	s.ceps[ce.ID] = r
	s.cepSorted.insert(r)
	s.eventTargets[eventKey{ce.RedfishEndpointID, ce.OdataID}] = ce.ID
	of := s.cepsOf[ce.RedfishEndpointID]
	if of == nil {
		of = map[string]*cepRec{}
		s.cepsOf[ce.RedfishEndpointID] = of
	}
	of[ce.ID] = r
}

func (s *Server) dropCEP(id string) {
	r, ok := s.ceps[id]
	if !ok {
		return
	}
	delete(s.ceps, id)
	s.cepSorted.remove(id)
	s.unindexCEP(r)
}

// unindexCEP forgets r's event target and its place among its endpoint's.
func (s *Server) unindexCEP(r *cepRec) {
	k := eventKey{r.ce.RedfishEndpointID, r.ce.OdataID}
	if s.eventTargets[k] == r.ce.ID {
		delete(s.eventTargets, k)
	}
	if of := s.cepsOf[r.ce.RedfishEndpointID]; of[r.ce.ID] == r {
		delete(of, r.ce.ID)
		if len(of) == 0 {
			delete(s.cepsOf, r.ce.RedfishEndpointID)
		}
	}
}

// putSEP stores se under its service and endpoint. Call with s.mu held.
func (s *Server) putSEP(se *ServiceEndpoint) {
	key := sepKey(se.RedfishType, se.RedfishEndpointID)
	if old, ok := s.seps[key]; ok {
		delete(s.sepsOf[old.RedfishEndpointID], key)
	}
	s.seps[key] = se
	of := s.sepsOf[se.RedfishEndpointID]
	if of == nil {
		of = map[string]bool{}
		s.sepsOf[se.RedfishEndpointID] = of
	}
	of[key] = true
}

// dropSEP deletes the ServiceEndpoint of key, saying whether there was one.
func (s *Server) dropSEP(key string) bool {
	se, ok := s.seps[key]
	if !ok {
		return false
	}
	delete(s.seps, key)
	if of := s.sepsOf[se.RedfishEndpointID]; of != nil {
		delete(of, key)
		if len(of) == 0 {
			delete(s.sepsOf, se.RedfishEndpointID)
		}
	}
	return true
}

// dropSEPsOf deletes every ServiceEndpoint of RedfishEndpoint id.
func (s *Server) dropSEPsOf(id string) {
	for key := range s.sepsOf[id] {
		delete(s.seps, key)
	}
	delete(s.sepsOf, id)
}

func (s *Server) putEth(e hsmapi.EthernetInterface) {
	r := &ethRec{e: e}
	s.eths[e.ID] = r
	s.ethSorted.insert(r)
}

func newRedfishEndpoint(id string, ep BMCEndpoint, now time.Time) hsmapi.RedfishEndpoint {
	host, ip := splitFQDN(ep.FQDN)
	return hsmapi.RedfishEndpoint{ID: id, Type: string(xname.TypeOf(id)), Hostname: host, FQDN: ep.FQDN, Enabled: true,
		UUID: simUUID(id), User: ep.User, Password: ep.Password, MACAddr: simMAC(id), IPAddress: ip,
		RediscoverOnUpdate: true,
		DiscoveryInfo:      hsmapi.DiscoveryInfo{LastDiscoveryAttempt: stamp(now), LastDiscoveryStatus: "NotYetQueried"}}
}

// splitFQDN returns the host part of "host[:port]" and the host if it is an IP.
func splitFQDN(fqdn string) (host, ip string) {
	host = fqdn
	if h, _, err := net.SplitHostPort(fqdn); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		ip = host
	}
	return host, ip
}

// systemEndpoint is the ComponentEndpoint of node n, the ordinal-th system of its BMC.
func systemEndpoint(n topology.Node, ordinal int, bmc *hsmapi.RedfishEndpoint) hsmapi.ComponentEndpoint {
	sysID := topology.SystemIDOf(n, ordinal)
	path := topology.SystemPath(sysID)
	mac := strings.ToLower(n.MAC)
	ce := hsmapi.ComponentEndpoint{ID: n.Xname, Type: string(xname.Node), FQDN: n.Xname, RedfishType: "ComputerSystem",
		RedfishSubtype: "Physical", MACAddr: mac, UUID: simUUID(n.Xname), OdataID: path,
		RedfishEndpointID: bmc.ID, Enabled: true, ComponentEndpointType: hsmapi.CompEPTypeSystem,
		RedfishSystemInfo: &hsmapi.SystemInfo{Name: sysID,
			Actions: &hsmapi.SystemActions{Reset: hsmapi.ResetAction{AllowableValues: slices.Clone(topology.ResetTypes),
				Target: path + "/Actions/ComputerSystem.Reset"}},
			EthernetNICInfo: []hsmapi.EthernetNICInfo{{RedfishID: "1", ODataID: path + "/EthernetInterfaces/1",
				Description: "Node management NIC", Hostname: n.Name, InterfaceEnabled: boolPtr(true),
				MACAddress: mac, PermanentMACAddress: mac}}}}
	setEndpointFQDN(&ce, bmc.FQDN)
	return ce
}

// managerEndpoint is the ComponentEndpoint of the BMC itself: Managers/BMC on a blade
// (Mountain), Managers/Self on a rack server, as the simulated BMCs serve them.
func managerEndpoint(bmc *hsmapi.RedfishEndpoint, class string) hsmapi.ComponentEndpoint {
	id := "Self"
	if class == topology.ClassMountain {
		id = "BMC"
	}
	path := "/redfish/v1/Managers/" + id
	ce := hsmapi.ComponentEndpoint{ID: bmc.ID, Type: bmc.Type, FQDN: bmc.ID, RedfishType: "Manager", RedfishSubtype: "BMC",
		MACAddr: bmc.MACAddr, UUID: bmc.UUID, OdataID: path, RedfishEndpointID: bmc.ID, Enabled: true,
		ComponentEndpointType: hsmapi.CompEPTypeManager,
		RedfishManagerInfo: &hsmapi.ManagerInfo{Name: id, Actions: &hsmapi.ManagerActions{Reset: hsmapi.ResetAction{
			AllowableValues: []string{"GracefulRestart", "ForceRestart"}, Target: path + "/Actions/Manager.Reset"}}}}
	setEndpointFQDN(&ce, bmc.FQDN)
	return ce
}

func setEndpointFQDN(ce *hsmapi.ComponentEndpoint, fqdn string) {
	ce.RedfishEndpointFQDN = fqdn
	ce.RedfishURL = fqdn + ce.OdataID
}

// nodeInterface is the EthernetInterface of node n's management NIC. The IP is
// derived from the NID (10.<nid>), which keeps it unique and stable.
func nodeInterface(n topology.Node, now time.Time) hsmapi.EthernetInterface {
	mac := strings.ToLower(n.MAC)
	ip := fmt.Sprintf("10.%d.%d.%d", n.NID>>16&0xff, n.NID>>8&0xff, n.NID&0xff)
	return hsmapi.EthernetInterface{ID: strings.ReplaceAll(mac, ":", ""), Description: "Node management NIC",
		MACAddress: mac, IPAddresses: []hsmapi.IPAddress{{IPAddress: ip, Network: "NMN"}},
		LastUpdate: now.UTC().Format(time.RFC3339), ComponentID: n.Xname, Type: string(xname.Node)}
}

// The seeded records stand in for a discovery of the simulated BMCs, so they repeat
// what those BMCs serve (TestDiscoverAgreesWithSeed reads one and compares): the
// service root's RedfishVersion, name-based UUIDs and the BMC's MAC.
const simRedfishVersion = "1.11.0"

func simUUID(name string) string { return uuid.FromName([]byte("cray-bos-simulator:"), name) }

func simMAC(name string) string {
	sum := sha1.Sum([]byte("mac:" + name)) //nolint:gosec // a name-derived MAC, nothing secret
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4])
}

func boolPtr(b bool) *bool { return &b }

// message is HSM's old-style success body: {"code":0,"message":"deleted 1 entry"}.
type message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		problem.Write(w, http.StatusInternalServerError, "encode reply: %v", err)
		return
	}
	writeRaw(w, status, append(raw, '\n'))
}

// encoded is a record that keeps its JSON encoding (compRec, cepRec, ethRec).
type encoded interface{ encoding() []byte }

func (r *compRec) encoding() []byte { return r.raw }
func (r *cepRec) encoding() []byte  { raw, _ := json.Marshal(&r.ce); return raw } // strings, numbers and slices of them always marshal
func (r *ethRec) encoding() []byte  { raw, _ := json.Marshal(&r.e); return raw }

// writeRecord answers with the stored encoding of m[id], or 404 with notFound. The maps
// are made once in New, so reading the field outside the lock is safe.
func writeRecord[K comparable, R encoded](s *Server, w http.ResponseWriter, m map[K]R, id K, notFound string) {
	s.mu.RLock()
	rec, ok := m[id]
	var raw []byte
	if ok {
		raw = rec.encoding()
	}
	s.mu.RUnlock()
	if !ok {
		problem.Write(w, http.StatusNotFound, "%s", notFound)
		return
	}
	writeRaw(w, http.StatusOK, raw)
}

// deleteByXname serves DELETE of one record named by {xname}: drop, called with s.mu
// held, reports whether it was there; 404 "no such xname." when it was not.
func (s *Server) deleteByXname(w http.ResponseWriter, r *http.Request, drop func(id string) bool) *problem.Details {
	id := pathID(r)
	s.mu.Lock()
	ok := drop(id)
	s.mu.Unlock()
	if !ok {
		return problem.New(http.StatusNotFound, "no such xname.")
	}
	writeMessage(w, http.StatusOK, "deleted 1 entry")
	return nil
}

func writeRaw(w http.ResponseWriter, status int, raw []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

func writeMessage(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, message{Message: fmt.Sprintf(format, args...)})
}

// writeCreated answers 201 with a Location header and [{"URI":...}] bodies.
func writeCreated(w http.ResponseWriter, uris ...string) {
	out := make([]hsmapi.ResourceURI, len(uris))
	for i, u := range uris {
		out[i] = hsmapi.ResourceURI{URI: u}
	}
	if len(uris) > 0 {
		w.Header().Set("Location", uris[0])
	}
	writeJSON(w, http.StatusCreated, out)
}

// decode reads r's body into v as HSM does: unknown fields are ignored, and JSON that
// does not parse or does not fit v is 500 "error decoding JSON <Go's message>". Empty,
// null and non-UTF-8 bodies are 400 and oversized ones 413 (deviations, see doc.go).
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) *problem.Details {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return problem.New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit)
	case err != nil:
		return problem.New(http.StatusBadRequest, "reading request body: %v", err)
	case len(bytes.TrimSpace(raw)) == 0:
		return problem.New(http.StatusBadRequest, "request body is empty; a JSON value is required")
	}
	if d := problem.CheckBody(raw); d != nil {
		return d
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return problem.New(http.StatusInternalServerError, "error decoding JSON %s", err)
	}
	return nil
}

// decodePut decodes a PUT body into v and reconciles its ID (*bodyID) with the path's
// id as HSM does: an empty one takes the path's, a different one is 400.
func (s *Server) decodePut(w http.ResponseWriter, r *http.Request, v any, bodyID *string, id string) *problem.Details {
	if d := s.decode(w, r, v); d != nil {
		return d
	}
	if *bodyID == "" {
		*bodyID = id
	} else if xname.Normalize(*bodyID) != id {
		return problem.New(http.StatusBadRequest, "xname in URL and PUT body do not match")
	}
	return nil
}

// isServicePath reports whether p is under /service/ of either API prefix.
func isServicePath(p string) bool {
	return strings.HasPrefix(p, hsmapi.BasePath+"/service/") || strings.HasPrefix(p, hsmapi.GatewayPath+"/service/")
}

// pathID reads the {xname} path value normalized but not validated: HSM looks such
// names up as they are, so an invalid one is simply not found (404).
func pathID(r *http.Request) string { return xname.Normalize(r.PathValue("xname")) }

// pathXname reads and validates the {xname} path value.
func pathXname(r *http.Request, key string) (string, xname.Type, *problem.Details) {
	raw := r.PathValue(key)
	id, t, err := parseXname(raw)
	if err != nil {
		return "", "", problem.New(http.StatusBadRequest, "invalid xname %q", raw)
	}
	return id, t, nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	writeMessage(w, http.StatusOK, "HSM is healthy")
}

func (s *Server) liveness(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

// values serves /service/values and /service/values/{name}.
func (s *Server) values(w http.ResponseWriter, r *http.Request) *problem.Details {
	s.mu.RLock()
	all := hsmapi.Values{Arch: archs.list(), Class: classes.list(), Flag: flags.list(), NetType: netType.list(),
		Role: s.roles.list(), SubRole: s.subRoles.list(), State: states.list(), Type: hmsType.list()}
	s.mu.RUnlock()
	name := r.PathValue("name")
	if name == "" {
		writeJSON(w, http.StatusOK, all)
		return nil
	}
	var v hsmapi.Values
	switch strings.ToLower(name) {
	case "arch":
		v.Arch = all.Arch
	case "class":
		v.Class = all.Class
	case "flag":
		v.Flag = all.Flag
	case "nettype":
		v.NetType = all.NetType
	case "role":
		v.Role = all.Role
	case "subrole":
		v.SubRole = all.SubRole
	case "state":
		v.State = all.State
	case "type":
		v.Type = all.Type
	default:
		return problem.New(http.StatusNotFound, "no such value list %q", name)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
