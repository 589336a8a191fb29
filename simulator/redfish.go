package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/hwfacts"
	"github.com/cray-bos/bos/internal/topology"
)

// routes is the Redfish API of one BMC, one row per resource in the order of the service
// root's links. Everything but the service root, the OData documents and the session login
// needs authentication (serveBMC). GET answers carry the resource's Allow header.
func (s *Simulator) routes() *http.ServeMux {
	type handler = func(http.ResponseWriter, *http.Request, *bmc)
	table := []struct {
		path                  string
		get, post, patch, del handler
	}{
		{path: "/redfish", get: s.getVersions},
		{path: "/redfish/v1", get: s.getServiceRoot},
		{path: "/redfish/v1/odata", get: s.getODataService},
		{path: "/redfish/v1/$metadata", get: s.getMetadata},
		{path: "/redfish/v1/Systems", get: s.getSystems},
		{path: "/redfish/v1/Systems/{id}", get: s.getSystem, patch: s.patchSystem},
		{path: "/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset", post: s.postReset},
		{path: "/redfish/v1/Systems/{id}/EthernetInterfaces/{nic}", get: s.getSystemNIC},
		{path: "/redfish/v1/Chassis", get: s.getChassisCollection},
		{path: "/redfish/v1/Chassis/{id}", get: s.getChassis},
		{path: "/redfish/v1/Chassis/{id}/Actions/Chassis.Reset", post: s.postChassisReset},
		{path: "/redfish/v1/Managers", get: s.getManagers},
		{path: "/redfish/v1/Managers/{id}", get: s.getManager},
		{path: "/redfish/v1/Managers/{id}/Actions/Manager.Reset", post: s.postManagerReset},
		{path: "/redfish/v1/Managers/{id}/EthernetInterfaces/{nic}", get: s.getManagerNIC},
		{path: "/redfish/v1/AccountService/Accounts", get: s.getAccounts},
		{path: "/redfish/v1/AccountService/Accounts/{id}", get: s.getAccount},
		{path: "/redfish/v1/SessionService", get: s.getSessionService},
		{path: "/redfish/v1/SessionService/Sessions", get: s.getSessions, post: s.postSession},
		{path: "/redfish/v1/SessionService/Sessions/Members", post: s.postSession},
		{path: "/redfish/v1/SessionService/Sessions/{id}", get: s.getSession, del: s.deleteSession},
		{path: "/redfish/v1/EventService", get: s.getEventService},
		{path: "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", post: s.postTestEvent},
		{path: "/redfish/v1/EventService/Subscriptions", get: s.getSubscriptions, post: s.postSubscription},
		{path: "/redfish/v1/EventService/Subscriptions/{id}", get: s.getSubscription, patch: s.patchSubscription, del: s.deleteSubscription},
		{path: "/redfish/v1/Registries/{id}/{file}", get: s.getRegistryFile},
		// The inventory every BMC of a model shares (inventory.go).
		{path: "/redfish/v1/{rest...}", get: s.getStatic},
	}
	mux := http.NewServeMux()
	for _, row := range table {
		allow := []string{}
		if row.get != nil {
			allow = append(allow, "GET", "HEAD")
		}
		for _, m := range []struct {
			name string
			fn   handler
		}{{"POST", row.post}, {"PATCH", row.patch}, {"DELETE", row.del}} {
			if m.fn != nil {
				allow = append(allow, m.name)
				mux.HandleFunc(m.name+" "+row.path, func(w http.ResponseWriter, r *http.Request) { m.fn(w, r, bmcFrom(r)) })
			}
		}
		if row.get != nil {
			allowed := strings.Join(allow, ", ")
			mux.HandleFunc("GET "+row.path, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allowed)
				row.get(w, r, bmcFrom(r))
			})
		}
	}
	return mux
}

// public reports whether a request needs no credentials: the service root (as on real
// BMCs) and the login POST.
func public(r *http.Request) bool {
	switch r.URL.Path {
	case "/redfish", "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/$metadata":
		return r.Method == http.MethodGet || r.Method == http.MethodHead
	case "/redfish/v1/SessionService/Sessions", "/redfish/v1/SessionService/Sessions/Members":
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
	if v := r.Header.Get("OData-Version"); v != "" && v != "4.0" {
		// DSP0266: a service rejects an OData-Version it does not support with 412.
		writeError(w, http.StatusPreconditionFailed, msgHeaderInvalid, "OData-Version: "+v)
		return
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
	AccountService odataRef `json:"AccountService"`
	SessionService odataRef `json:"SessionService"`
	EventService   odataRef `json:"EventService"`
	Tasks          odataRef `json:"Tasks"`
	UpdateService  odataRef `json:"UpdateService"`
	Registries     odataRef `json:"Registries"`
	Links          struct {
		Sessions odataRef `json:"Sessions"`
	} `json:"Links"`
}

func (s *Simulator) getServiceRoot(w http.ResponseWriter, r *http.Request, b *bmc) {
	root := serviceRootJSON{ODataID: "/redfish/v1/", ODataType: "#ServiceRoot.v1_20_0.ServiceRoot", ID: "RootService",
		Name: "Root Service", RedfishVersion: "1.11.0", UUID: b.hardware().UUID, Vendor: "HPE",
		Product: "HPE Cray EX node controller", Systems: odataRef{"/redfish/v1/Systems"},
		Chassis: odataRef{"/redfish/v1/Chassis"}, Managers: odataRef{"/redfish/v1/Managers"},
		AccountService: ref("/redfish/v1/AccountService"), SessionService: ref("/redfish/v1/SessionService"),
		EventService: ref("/redfish/v1/EventService"), Tasks: ref("/redfish/v1/TaskService"),
		UpdateService: ref("/redfish/v1/UpdateService"), Registries: ref("/redfish/v1/Registries")}
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
	ODataID                 string     `json:"@odata.id"`
	ODataType               string     `json:"@odata.type"`
	ODataEtag               string     `json:"@odata.etag"`
	ID                      string     `json:"Id"`
	Name                    string     `json:"Name"`
	Description             string     `json:"Description"`
	SystemType              string     `json:"SystemType"`
	Manufacturer            string     `json:"Manufacturer"`
	Model                   string     `json:"Model"`
	SerialNumber            string     `json:"SerialNumber"`
	PartNumber              string     `json:"PartNumber"`
	UUID                    string     `json:"UUID"`
	HostName                string     `json:"HostName"`
	BiosVersion             string     `json:"BiosVersion"`
	PowerState              string     `json:"PowerState"`
	PowerRestorePolicy      string     `json:"PowerRestorePolicy"`
	LastResetTime           string     `json:"LastResetTime,omitempty"`
	Status                  statusJSON `json:"Status"`
	LocationIndicatorActive bool       `json:"LocationIndicatorActive"`
	Boot                    struct {
		BootSourceOverrideEnabled string   `json:"BootSourceOverrideEnabled"`
		BootSourceOverrideMode    string   `json:"BootSourceOverrideMode"`
		BootSourceOverrideTarget  string   `json:"BootSourceOverrideTarget"`
		AllowableTargets          []string `json:"BootSourceOverrideTarget@Redfish.AllowableValues"`
		AllowableModes            []string `json:"BootSourceOverrideMode@Redfish.AllowableValues"`
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
	Processors         odataRef `json:"Processors"`
	Memory             odataRef `json:"Memory"`
	EthernetInterfaces odataRef `json:"EthernetInterfaces"`
	Storage            odataRef `json:"Storage"`
	SimpleStorage      odataRef `json:"SimpleStorage"`
	Bios               odataRef `json:"Bios"`
	SecureBoot         odataRef `json:"SecureBoot"`
	LogServices        odataRef `json:"LogServices"`
	Actions            struct {
		Reset resetActionJSON `json:"#ComputerSystem.Reset"`
	} `json:"Actions"`
	Links struct {
		Chassis   []odataRef `json:"Chassis"`
		ManagedBy []odataRef `json:"ManagedBy"`
	} `json:"Links"`
}

type resetActionJSON struct {
	Target     string   `json:"target"`
	ResetTypes []string `json:"ResetType@Redfish.AllowableValues"`
}

type consolePortJSON struct {
	ServiceEnabled bool `json:"ServiceEnabled"`
	Port           int  `json:"Port"`
}

var bootTargets = []string{"None", "Pxe", "Hdd", "BiosSetup", "UefiHttp"}

// hardware is the inventory the node reports (shared with HSM's hardware inventory).
func (n *node) hardware() hwfacts.Node { return hwfacts.ForNode(n.xname, n.arch, n.mountain) }

func (s *Simulator) getSystem(w http.ResponseWriter, r *http.Request, b *bmc) {
	id := r.PathValue("id")
	n := b.system(id)
	if n == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "ComputerSystem", id)
		return
	}
	b.mu.Lock()
	power, etag, progress, lastRst, boot, locator := n.power, n.etagValue(), n.progress, n.lastRst, n.override, n.locator
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
		Manufacturer: "HPE", Model: hw.Model, SerialNumber: hw.SerialNumber, PartNumber: hw.PartNumber,
		UUID: hw.UUID, HostName: n.name, BiosVersion: hw.BIOSVersion, PowerState: power.String(),
		PowerRestorePolicy: "AlwaysOff", Status: statusJSON{systemState(power), "OK"}}
	if !lastRst.IsZero() {
		v.LastResetTime = lastRst.UTC().Format(time.RFC3339)
	}
	v.LocationIndicatorActive = locator
	v.Boot.BootSourceOverrideEnabled, v.Boot.BootSourceOverrideMode, v.Boot.BootSourceOverrideTarget = boot.enabled, boot.mode, boot.target
	v.Boot.AllowableTargets, v.Boot.AllowableModes = bootTargets, bootModes
	v.Processors, v.Memory, v.EthernetInterfaces = ref(path+"/Processors"), ref(path+"/Memory"), ref(path+"/EthernetInterfaces")
	v.Storage, v.SimpleStorage, v.Bios = ref(path+"/Storage"), ref(path+"/SimpleStorage"), ref(path+"/Bios")
	v.SecureBoot, v.LogServices = ref(path+"/SecureBoot"), ref(path+"/LogServices")
	v.BootProgress.LastState = progress.String()
	v.ProcessorSummary.Count, v.ProcessorSummary.Model, v.ProcessorSummary.Status = hw.CPUs, hw.CPUModel, statusJSON{"Enabled", "OK"}
	v.MemorySummary.TotalSystemMemoryGiB, v.MemorySummary.Status = hw.MemoryGiB, statusJSON{"Enabled", "OK"}
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
	id := r.PathValue("id")
	n := b.system(id)
	if n == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "ComputerSystem", id)
		return
	}
	s.resetNode(w, r, n, "ComputerSystem.Reset", topology.ResetTypes)
}

// resetNode runs a Reset action on n's power: the system's, or its chassis'.
func (s *Simulator) resetNode(w http.ResponseWriter, r *http.Request, n *node, action string, allowed []string) {
	b := n.bmc
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
	rt, ok := parseResetType(w, r, action, allowed)
	if !ok {
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

// parseResetType reads a Reset action's body, {"ResetType": one of allowed}, answering
// the Redfish 400 itself when it is not.
func parseResetType(w http.ResponseWriter, r *http.Request, action string, allowed []string) (string, bool) {
	if r.ContentLength > 0 && r.ContentLength <= maxFastResetBody {
		raw := make([]byte, r.ContentLength)
		n, err := io.ReadFull(r.Body, raw)
		if err == nil {
			if rt, ok := resetTypeFast(raw); ok {
				if !slices.Contains(allowed, rt) {
					writeError(w, http.StatusBadRequest, msgActionParameterValueNotInList, rt, "ResetType", action)
					return "", false
				}
				return rt, true
			}
		}
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw[:n]), r.Body)) // as it was
	}
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return "", false
	}
	for k := range body {
		if k != "ResetType" {
			writeError(w, http.StatusBadRequest, msgActionParameterUnknown, action, k)
			return "", false
		}
	}
	raw, ok := body["ResetType"]
	if !ok {
		writeError(w, http.StatusBadRequest, msgActionParameterMissing, action, "ResetType")
		return "", false
	}
	var rt string
	if err := json.Unmarshal(raw, &rt); err != nil {
		writeError(w, http.StatusBadRequest, msgActionParameterValueTypeError, string(raw), "ResetType", action)
		return "", false
	}
	if !slices.Contains(allowed, rt) {
		writeError(w, http.StatusBadRequest, msgActionParameterValueNotInList, rt, "ResetType", action)
		return "", false
	}
	return rt, true
}

// maxFastResetBody is the longest Reset body resetTypeFast is tried on.
const maxFastResetBody = 128

// resetTypeFast reads the body every Reset of a boot has, {"ResetType": "On"} (one
// member, a value of letters only, any JSON whitespace), without encoding/json's
// decoder, map and reflection (a tenth of the Reset's handling); ok is false for anything
// else, which parseResetType decodes as it always has, answering the same.
func resetTypeFast(body []byte) (rt string, ok bool) {
	const key = `"ResetType"`
	i := skipJSONSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return "", false
	}
	i = skipJSONSpace(body, i+1)
	if !bytes.HasPrefix(body[i:], []byte(key)) {
		return "", false
	}
	i = skipJSONSpace(body, i+len(key))
	if i >= len(body) || body[i] != ':' {
		return "", false
	}
	i = skipJSONSpace(body, i+1)
	if i >= len(body) || body[i] != '"' {
		return "", false
	}
	start := i + 1
	for i = start; i < len(body) && (body[i] >= 'a' && body[i] <= 'z' || body[i] >= 'A' && body[i] <= 'Z'); i++ {
	}
	if i == start || i >= len(body) || body[i] != '"' {
		return "", false
	}
	rt = string(body[start:i])
	i = skipJSONSpace(body, i+1)
	if i >= len(body) || body[i] != '}' || skipJSONSpace(body, i+1) != len(body) {
		return "", false
	}
	return rt, true
}

// skipJSONSpace returns the index of the first byte of b at or after i that is not JSON
// whitespace.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// --- chassis and managers ---

type chassisJSON struct {
	ODataID          string     `json:"@odata.id"`
	ODataType        string     `json:"@odata.type"`
	ID               string     `json:"Id"`
	Name             string     `json:"Name"`
	ChassisType      string     `json:"ChassisType"`
	Manufacturer     string     `json:"Manufacturer"`
	Model            string     `json:"Model"`
	SerialNumber     string     `json:"SerialNumber"`
	PowerState       string     `json:"PowerState"`
	Status           statusJSON `json:"Status"`
	PowerSubsystem   *odataRef  `json:"PowerSubsystem,omitempty"`
	ThermalSubsystem *odataRef  `json:"ThermalSubsystem,omitempty"`
	Actions          struct {
		Reset *resetActionJSON `json:"#Chassis.Reset,omitempty"`
	} `json:"Actions"`
	Links struct {
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
		c.Model, c.SerialNumber = hw.Model, hw.SerialNumber
		c.ChassisType = "RackMount"
		if b.mountain {
			c.ChassisType = "Blade"
			c.Links.ContainedBy = &odataRef{"/redfish/v1/Chassis/Enclosure"}
		}
		c.Links.ComputerSystems = []odataRef{{topology.SystemPath(n.systemID)}}
		c.PowerSubsystem, c.ThermalSubsystem = &odataRef{c.ODataID + "/PowerSubsystem"}, &odataRef{c.ODataID + "/ThermalSubsystem"}
		c.Actions.Reset = &resetActionJSON{Target: c.ODataID + "/Actions/Chassis.Reset", ResetTypes: chassisResetTypes}
	} else {
		// The blade enclosure: powered while any node is.
		enc := hwfacts.ForEnclosure(b.xname)
		c.ChassisType, c.Model, c.SerialNumber, c.PowerState = "Enclosure", enc.Model, enc.SerialNumber, "On"
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
	ODataID            string     `json:"@odata.id"`
	ODataType          string     `json:"@odata.type"`
	ID                 string     `json:"Id"`
	Name               string     `json:"Name"`
	ManagerType        string     `json:"ManagerType"`
	Manufacturer       string     `json:"Manufacturer"`
	Model              string     `json:"Model"`
	FirmwareVersion    string     `json:"FirmwareVersion"`
	UUID               string     `json:"UUID"`
	PowerState         string     `json:"PowerState"`
	Status             statusJSON `json:"Status"`
	NetworkProtocol    odataRef   `json:"NetworkProtocol"`
	EthernetInterfaces odataRef   `json:"EthernetInterfaces"`
	LogServices        odataRef   `json:"LogServices"`
	Actions            struct {
		Reset resetActionJSON `json:"#Manager.Reset"`
	} `json:"Actions"`
	Links struct {
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
	path := "/redfish/v1/Managers/" + id
	m := managerJSON{ODataID: path, ODataType: "#Manager.v1_24_0.Manager", ID: id,
		Name: "BMC " + b.xname, ManagerType: "BMC", Manufacturer: hwfacts.Manufacturer, Model: b.hardware().Model, FirmwareVersion: b.hardware().FirmwareVersion,
		UUID: b.hardware().UUID, PowerState: "On", Status: statusJSON{"Enabled", "OK"},
		NetworkProtocol: ref(path + "/NetworkProtocol"), EthernetInterfaces: ref(path + "/EthernetInterfaces"),
		LogServices: ref(path + "/LogServices")}
	m.Actions.Reset = resetActionJSON{Target: path + "/Actions/Manager.Reset", ResetTypes: managerResetTypes}
	for _, n := range b.nodes {
		m.Links.ManagerForServers = append(m.Links.ManagerForServers, odataRef{topology.SystemPath(n.systemID)})
	}
	for _, c := range b.chassisIDs() {
		m.Links.ManagerForChassis = append(m.Links.ManagerForChassis, odataRef{"/redfish/v1/Chassis/" + c})
	}
	writeJSON(w, http.StatusOK, m)
}
