package simulator

import (
	"crypto/sha1" //nolint:gosec // name-based UUIDs (RFC 4122 version 5) are defined on SHA-1
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cray-bos/bos/internal/uuid"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/topology"
)

// routes is the Redfish API of one BMC, in the order of the service root's links.
// Everything but the service root and the session login needs authentication (serveBMC).
func (s *Simulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, *bmc)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { fn(w, r, bmcFrom(r)) })
	}
	h("GET /redfish", s.getVersions)
	h("GET /redfish/v1", s.getServiceRoot)
	h("GET /redfish/v1/Systems", s.getSystems)
	h("GET /redfish/v1/Systems/{id}", s.getSystem)
	h("POST /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset", s.postReset)
	h("GET /redfish/v1/Chassis", s.getChassisCollection)
	h("GET /redfish/v1/Chassis/{id}", s.getChassis)
	h("GET /redfish/v1/Managers", s.getManagers)
	h("GET /redfish/v1/Managers/{id}", s.getManager)
	h("GET /redfish/v1/SessionService", s.getSessionService)
	h("GET /redfish/v1/SessionService/Sessions", s.getSessions)
	h("POST /redfish/v1/SessionService/Sessions", s.postSession)
	h("GET /redfish/v1/SessionService/Sessions/{id}", s.getSession)
	h("DELETE /redfish/v1/SessionService/Sessions/{id}", s.deleteSession)
	h("GET /redfish/v1/EventService", s.getEventService)
	h("GET /redfish/v1/EventService/Subscriptions", s.getSubscriptions)
	h("POST /redfish/v1/EventService/Subscriptions", s.postSubscription)
	h("GET /redfish/v1/EventService/Subscriptions/{id}", s.getSubscription)
	h("PATCH /redfish/v1/EventService/Subscriptions/{id}", s.patchSubscription)
	h("DELETE /redfish/v1/EventService/Subscriptions/{id}", s.deleteSubscription)
	return mux
}

// public reports whether a request needs no credentials: the service root (as on real
// BMCs) and the login POST.
func public(r *http.Request) bool {
	switch r.URL.Path {
	case "/redfish", "/redfish/v1":
		return r.Method == http.MethodGet || r.Method == http.MethodHead
	case "/redfish/v1/SessionService/Sessions":
		return r.Method == http.MethodPost
	}
	return false
}

// serveBMC is every request to one BMC: BMC faults, path normalisation, authentication,
// then the route table (whose own 404/405 become Redfish errors).
func (s *Simulator) serveBMC(w http.ResponseWriter, r *http.Request, b *bmc) {
	if fs := faultSet(b.faults.Load()); fs != 0 {
		switch {
		case fs.has(FaultUnreachable):
			// The listener is closed; a request on a connection opened before is cut.
			panic(http.ErrAbortHandler)
		case fs.has(FaultHang):
			s.hanging.Add(1)
			select {
			case <-r.Context().Done():
			case <-s.ctx.Done():
			}
			s.hanging.Add(-1)
			panic(http.ErrAbortHandler)
		case fs.has(FaultSlow):
			t := time.NewTimer(s.timing.SlowLatency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r.URL.Path = strings.TrimRight(p, "/")
		r.URL.RawPath = ""
	}
	if !public(r) && !s.authorized(r, b) {
		writeError(w, http.StatusUnauthorized, msgNoValidSession)
		return
	}
	s.mux.ServeHTTP(&muxErrors{ResponseWriter: w, path: r.URL.Path}, r)
}

// decodeBody reads a JSON request body (at most 64 KiB) into v, answering the Redfish
// error itself when it cannot: 413, MalformedJSON, PropertyUnknown, PropertyValueTypeError.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON value")
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, msgPayloadTooLarge)
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, msgPropertyValueTypeError, typeErr.Value, typeErr.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeError(w, http.StatusBadRequest, msgPropertyUnknown, strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	default:
		writeError(w, http.StatusBadRequest, msgMalformedJSON)
	}
	return false
}

// --- shared JSON shapes ---

type odataRef struct {
	ID string `json:"@odata.id"`
}

type statusJSON struct {
	State  string `json:"State"`
	Health string `json:"Health"`
}

type collectionJSON struct {
	ODataID      string     `json:"@odata.id"`
	ODataType    string     `json:"@odata.type"`
	Name         string     `json:"Name"`
	Members      []odataRef `json:"Members"`
	MembersCount int        `json:"Members@odata.count"`
}

func collection(id, typ, name string, members []odataRef) collectionJSON {
	return collectionJSON{ODataID: id, ODataType: typ, Name: name, Members: members, MembersCount: len(members)}
}

// nameUUID is a stable RFC 4122 version 5 UUID for a name (a node or BMC xname).
func nameUUID(name string) string { return uuid.FromName([]byte("cray-bos-simulator:"), name) }

// serialFor is a stable serial number in the vendor's style.
func serialFor(prefix, name string) string {
	sum := sha1.Sum([]byte("serial:" + name)) //nolint:gosec // see import
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	return fmt.Sprintf("%s%010d", prefix, v%10_000_000_000)
}

// --- service root ---

func (s *Simulator) getVersions(w http.ResponseWriter, r *http.Request, b *bmc) {
	writeJSON(w, http.StatusOK, map[string]string{"v1": "/redfish/v1/"})
}

type serviceRootJSON struct {
	ODataID        string   `json:"@odata.id"`
	ODataType      string   `json:"@odata.type"`
	ID             string   `json:"Id"`
	Name           string   `json:"Name"`
	RedfishVersion string   `json:"RedfishVersion"`
	UUID           string   `json:"UUID"`
	Vendor         string   `json:"Vendor"`
	Product        string   `json:"Product"`
	Systems        odataRef `json:"Systems"`
	Chassis        odataRef `json:"Chassis"`
	Managers       odataRef `json:"Managers"`
	SessionService odataRef `json:"SessionService"`
	EventService   odataRef `json:"EventService"`
	Links          struct {
		Sessions odataRef `json:"Sessions"`
	} `json:"Links"`
}

func (s *Simulator) getServiceRoot(w http.ResponseWriter, r *http.Request, b *bmc) {
	root := serviceRootJSON{ODataID: "/redfish/v1/", ODataType: "#ServiceRoot.v1_20_0.ServiceRoot", ID: "RootService",
		Name: "Root Service", RedfishVersion: "1.11.0", UUID: nameUUID(b.xname), Vendor: "HPE",
		Product: "HPE Cray EX node controller", Systems: odataRef{"/redfish/v1/Systems"},
		Chassis: odataRef{"/redfish/v1/Chassis"}, Managers: odataRef{"/redfish/v1/Managers"},
		SessionService: odataRef{"/redfish/v1/SessionService"}, EventService: odataRef{"/redfish/v1/EventService"}}
	if !b.mountain {
		root.Product = "ProLiant"
	}
	root.Links.Sessions = odataRef{"/redfish/v1/SessionService/Sessions"}
	writeJSON(w, http.StatusOK, root)
}

// --- systems ---

func (s *Simulator) getSystems(w http.ResponseWriter, r *http.Request, b *bmc) {
	members := make([]odataRef, len(b.nodes))
	for i, n := range b.nodes {
		members[i] = odataRef{topology.SystemPath(n.systemID)}
	}
	writeJSON(w, http.StatusOK, collection("/redfish/v1/Systems", "#ComputerSystemCollection.ComputerSystemCollection",
		"Computer System Collection", members))
}

type systemJSON struct {
	ODataID            string     `json:"@odata.id"`
	ODataType          string     `json:"@odata.type"`
	ODataEtag          string     `json:"@odata.etag"`
	ID                 string     `json:"Id"`
	Name               string     `json:"Name"`
	Description        string     `json:"Description"`
	SystemType         string     `json:"SystemType"`
	Manufacturer       string     `json:"Manufacturer"`
	Model              string     `json:"Model"`
	SerialNumber       string     `json:"SerialNumber"`
	PartNumber         string     `json:"PartNumber"`
	UUID               string     `json:"UUID"`
	HostName           string     `json:"HostName"`
	BiosVersion        string     `json:"BiosVersion"`
	PowerState         string     `json:"PowerState"`
	PowerRestorePolicy string     `json:"PowerRestorePolicy"`
	LastResetTime      string     `json:"LastResetTime,omitempty"`
	Status             statusJSON `json:"Status"`
	Boot               struct {
		BootSourceOverrideEnabled string   `json:"BootSourceOverrideEnabled"`
		BootSourceOverrideMode    string   `json:"BootSourceOverrideMode"`
		BootSourceOverrideTarget  string   `json:"BootSourceOverrideTarget"`
		AllowableTargets          []string `json:"BootSourceOverrideTarget@Redfish.AllowableValues"`
	} `json:"Boot"`
	BootProgress struct {
		LastState string `json:"LastState"`
	} `json:"BootProgress"`
	ProcessorSummary struct {
		Count  int        `json:"Count"`
		Model  string     `json:"Model"`
		Status statusJSON `json:"Status"`
	} `json:"ProcessorSummary"`
	MemorySummary struct {
		TotalSystemMemoryGiB int        `json:"TotalSystemMemoryGiB"`
		Status               statusJSON `json:"Status"`
	} `json:"MemorySummary"`
	SerialConsole struct {
		MaxConcurrentSessions int             `json:"MaxConcurrentSessions"`
		IPMI                  consolePortJSON `json:"IPMI"`
		SSH                   consolePortJSON `json:"SSH"`
		Telnet                consolePortJSON `json:"Telnet"`
	} `json:"SerialConsole"`
	Actions struct {
		Reset struct {
			Target     string   `json:"target"`
			ResetTypes []string `json:"ResetType@Redfish.AllowableValues"`
		} `json:"#ComputerSystem.Reset"`
	} `json:"Actions"`
	Links struct {
		Chassis   []odataRef `json:"Chassis"`
		ManagedBy []odataRef `json:"ManagedBy"`
	} `json:"Links"`
}

type consolePortJSON struct {
	ServiceEnabled bool `json:"ServiceEnabled"`
	Port           int  `json:"Port"`
}

var bootTargets = []string{"None", "Pxe", "Hdd", "BiosSetup", "UefiHttp"}

// hardware is the inventory a node type reports.
type hardware struct {
	model, bios, cpu, partNumber, serialPrefix string
	cpus, memGiB                               int
}

func (n *node) hardware() hardware {
	switch {
	case n.mountain && n.arch == topology.ArchARM:
		return hardware{"EX254n", "ex254n.bios-1.2.0", "NVIDIA Grace CPU", "P59700-001", "HF", 2, 480}
	case n.mountain:
		return hardware{"EX425", "wnc.bios-1.7.3", "AMD EPYC 7763 64-Core Processor", "P43436-001", "HF", 2, 256}
	default:
		return hardware{"ProLiant DL325 Gen10 Plus", "A43 v2.72 (06/29/2023)", "AMD EPYC 7502P 32-Core Processor", "P18606-B21", "MXQ", 1, 512}
	}
}

func (s *Simulator) getSystem(w http.ResponseWriter, r *http.Request, b *bmc) {
	id := r.PathValue("id")
	n := b.system(id)
	if n == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "ComputerSystem", id)
		return
	}
	b.mu.Lock()
	power, etag, progress, lastRst := n.power, n.etagValue(), n.progress, n.lastRst
	b.mu.Unlock()
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hw := n.hardware()
	path := topology.SystemPath(n.systemID)
	v := systemJSON{ODataID: path, ODataType: "#ComputerSystem.v1_27_0.ComputerSystem", ODataEtag: etag,
		ID: n.systemID, Name: n.systemID, Description: "Node " + n.xname, SystemType: "Physical",
		Manufacturer: "HPE", Model: hw.model, SerialNumber: serialFor(hw.serialPrefix, n.xname), PartNumber: hw.partNumber,
		UUID: nameUUID(n.xname), HostName: n.name, BiosVersion: hw.bios, PowerState: power.String(),
		PowerRestorePolicy: "AlwaysOff", Status: statusJSON{systemState(power), "OK"}}
	if !lastRst.IsZero() {
		v.LastResetTime = lastRst.UTC().Format(time.RFC3339)
	}
	v.Boot.BootSourceOverrideEnabled, v.Boot.BootSourceOverrideMode, v.Boot.BootSourceOverrideTarget = "Disabled", "UEFI", "None"
	v.Boot.AllowableTargets = bootTargets
	v.BootProgress.LastState = progress.String()
	v.ProcessorSummary.Count, v.ProcessorSummary.Model, v.ProcessorSummary.Status = hw.cpus, hw.cpu, statusJSON{"Enabled", "OK"}
	v.MemorySummary.TotalSystemMemoryGiB, v.MemorySummary.Status = hw.memGiB, statusJSON{"Enabled", "OK"}
	v.SerialConsole.MaxConcurrentSessions = 1
	v.SerialConsole.IPMI = consolePortJSON{true, 623}
	v.SerialConsole.SSH = consolePortJSON{true, 22}
	v.SerialConsole.Telnet = consolePortJSON{false, 23}
	v.Actions.Reset.Target = path + "/Actions/ComputerSystem.Reset"
	v.Actions.Reset.ResetTypes = topology.ResetTypes
	v.Links.Chassis = []odataRef{{"/redfish/v1/Chassis/" + n.systemID}}
	v.Links.ManagedBy = []odataRef{{"/redfish/v1/Managers/" + b.managerID()}}
	writeJSON(w, http.StatusOK, v)
}

// systemState is Status.State for a PowerState.
func systemState(p PowerState) string {
	switch p {
	case On:
		return "Enabled"
	case PoweringOn:
		return "Starting"
	case PoweringOff:
		return "Disabled"
	}
	return "StandbyOffline"
}

// postReset is ComputerSystem.Reset: validate, apply the node's reset faults, honour
// If-Match, then run the state machine. 204 on success (also for a no-op).
func (s *Simulator) postReset(w http.ResponseWriter, r *http.Request, b *bmc) {
	const action = "ComputerSystem.Reset"
	id := r.PathValue("id")
	n := b.system(id)
	if n == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "ComputerSystem", id)
		return
	}
	b.mu.Lock()
	faults := n.faults
	b.mu.Unlock()
	switch {
	case faults.has(FaultReset503):
		writeError(w, http.StatusServiceUnavailable, msgServiceTemporarilyUnavailable,
			strconv.Itoa(max(1, int(s.timing.RetryAfter.Seconds()))))
		return
	case faults.has(FaultReset500):
		writeError(w, http.StatusInternalServerError, msgInternalError)
		return
	}
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return
	}
	for k := range body {
		if k != "ResetType" {
			writeError(w, http.StatusBadRequest, msgActionParameterUnknown, action, k)
			return
		}
	}
	raw, ok := body["ResetType"]
	if !ok {
		writeError(w, http.StatusBadRequest, msgActionParameterMissing, action, "ResetType")
		return
	}
	var rt string
	if err := json.Unmarshal(raw, &rt); err != nil {
		writeError(w, http.StatusBadRequest, msgActionParameterValueTypeError, string(raw), "ResetType", action)
		return
	}
	if !slices.Contains(topology.ResetTypes, rt) {
		writeError(w, http.StatusBadRequest, msgActionParameterValueNotInList, rt, "ResetType", action)
		return
	}
	res := s.reset(n, rt, r.Header.Get("If-Match"))
	switch {
	case res.mismatch:
		writeError(w, http.StatusPreconditionFailed, msgPreconditionFailed)
	case res.outcome == Conflict:
		writeError(w, http.StatusConflict, msgResourceInUse)
	case res.outcome == Invalid:
		writeError(w, http.StatusBadRequest, msgActionParameterValueNotInList, rt, "ResetType", action)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// --- chassis and managers ---

type chassisJSON struct {
	ODataID      string     `json:"@odata.id"`
	ODataType    string     `json:"@odata.type"`
	ID           string     `json:"Id"`
	Name         string     `json:"Name"`
	ChassisType  string     `json:"ChassisType"`
	Manufacturer string     `json:"Manufacturer"`
	Model        string     `json:"Model"`
	SerialNumber string     `json:"SerialNumber"`
	PowerState   string     `json:"PowerState"`
	Status       statusJSON `json:"Status"`
	Links        struct {
		ComputerSystems []odataRef `json:"ComputerSystems"`
		ManagedBy       []odataRef `json:"ManagedBy"`
		Contains        []odataRef `json:"Contains,omitempty"`
		ContainedBy     *odataRef  `json:"ContainedBy,omitempty"`
	} `json:"Links"`
}

// chassisIDs: one chassis per system (same Id) and, on blades, the Enclosure holding them.
func (b *bmc) chassisIDs() []string {
	ids := make([]string, 0, len(b.nodes)+1)
	if b.mountain {
		ids = append(ids, "Enclosure")
	}
	for _, n := range b.nodes {
		ids = append(ids, n.systemID)
	}
	return ids
}

func (s *Simulator) getChassisCollection(w http.ResponseWriter, r *http.Request, b *bmc) {
	ids := b.chassisIDs()
	members := make([]odataRef, len(ids))
	for i, id := range ids {
		members[i] = odataRef{"/redfish/v1/Chassis/" + id}
	}
	writeJSON(w, http.StatusOK, collection("/redfish/v1/Chassis", "#ChassisCollection.ChassisCollection", "Chassis Collection", members))
}

func (s *Simulator) getChassis(w http.ResponseWriter, r *http.Request, b *bmc) {
	id := r.PathValue("id")
	if !slices.Contains(b.chassisIDs(), id) {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "Chassis", id)
		return
	}
	c := chassisJSON{ODataID: "/redfish/v1/Chassis/" + id, ODataType: "#Chassis.v1_28_0.Chassis", ID: id, Name: id,
		Manufacturer: "HPE", Status: statusJSON{"Enabled", "OK"}}
	c.Links.ManagedBy = []odataRef{{"/redfish/v1/Managers/" + b.managerID()}}
	if n := b.system(id); n != nil {
		b.mu.Lock()
		c.PowerState = n.power.String()
		b.mu.Unlock()
		hw := n.hardware()
		c.Model, c.SerialNumber = hw.model, serialFor(hw.serialPrefix, n.xname)
		c.ChassisType = "RackMount"
		if b.mountain {
			c.ChassisType = "Blade"
			c.Links.ContainedBy = &odataRef{"/redfish/v1/Chassis/Enclosure"}
		}
		c.Links.ComputerSystems = []odataRef{{topology.SystemPath(n.systemID)}}
	} else {
		// The blade enclosure: powered while any node is.
		c.ChassisType, c.Model, c.SerialNumber, c.PowerState = "Enclosure", "EX425 blade", serialFor("HF", b.xname), "On"
		for _, n := range b.nodes {
			c.Links.ComputerSystems = append(c.Links.ComputerSystems, odataRef{topology.SystemPath(n.systemID)})
			c.Links.Contains = append(c.Links.Contains, odataRef{"/redfish/v1/Chassis/" + n.systemID})
		}
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Simulator) getManagers(w http.ResponseWriter, r *http.Request, b *bmc) {
	writeJSON(w, http.StatusOK, collection("/redfish/v1/Managers", "#ManagerCollection.ManagerCollection", "Manager Collection",
		[]odataRef{{"/redfish/v1/Managers/" + b.managerID()}}))
}

type managerJSON struct {
	ODataID         string     `json:"@odata.id"`
	ODataType       string     `json:"@odata.type"`
	ID              string     `json:"Id"`
	Name            string     `json:"Name"`
	ManagerType     string     `json:"ManagerType"`
	Manufacturer    string     `json:"Manufacturer"`
	Model           string     `json:"Model"`
	FirmwareVersion string     `json:"FirmwareVersion"`
	UUID            string     `json:"UUID"`
	PowerState      string     `json:"PowerState"`
	Status          statusJSON `json:"Status"`
	Links           struct {
		ManagerForServers []odataRef `json:"ManagerForServers"`
		ManagerForChassis []odataRef `json:"ManagerForChassis"`
	} `json:"Links"`
}

func (s *Simulator) getManager(w http.ResponseWriter, r *http.Request, b *bmc) {
	id := r.PathValue("id")
	if id != b.managerID() {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "Manager", id)
		return
	}
	m := managerJSON{ODataID: "/redfish/v1/Managers/" + id, ODataType: "#Manager.v1_24_0.Manager", ID: id,
		Name: "BMC " + b.xname, ManagerType: "BMC", Manufacturer: "HPE", Model: "nC", FirmwareVersion: "nc.1.9.13",
		UUID: nameUUID(b.xname), PowerState: "On", Status: statusJSON{"Enabled", "OK"}}
	if !b.mountain {
		m.Model, m.FirmwareVersion = "iLO 5", "2.78"
	}
	for _, n := range b.nodes {
		m.Links.ManagerForServers = append(m.Links.ManagerForServers, odataRef{topology.SystemPath(n.systemID)})
	}
	for _, c := range b.chassisIDs() {
		m.Links.ManagerForChassis = append(m.Links.ManagerForChassis, odataRef{"/redfish/v1/Chassis/" + c})
	}
	writeJSON(w, http.StatusOK, m)
}
