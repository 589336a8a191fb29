package simulator

import (
	"embed"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// The DMTF message registries (DSP8011) the BMCs quote and serve under
// /redfish/v1/Registries: unchanged copies under DMTF's licence (registries/LICENSE.md).
//
//go:embed registries/*.json registries/LICENSE.md
var registryFiles embed.FS

type registry struct {
	prefix, id string // "Base", "Base.1.22.1"
}

var registries = []registry{{"Base", "Base.1.22.1"}, {"ResourceEvent", "ResourceEvent.1.4.3"}, {"TaskEvent", "TaskEvent.1.0.5"}}

// getRegistryFile serves a registry at its MessageRegistryFile's Location Uri.
func (s *Simulator) getRegistryFile(w http.ResponseWriter, r *http.Request, b *bmc) {
	i := slices.IndexFunc(registries, func(reg registry) bool { return reg.prefix == r.PathValue("id") })
	if i < 0 || r.PathValue("file") != registries[i].id {
		writeError(w, http.StatusNotFound, msgResourceMissingAtURI, r.URL.Path)
		return
	}
	raw, err := registryFiles.ReadFile("registries/" + registries[i].id + ".json")
	if err != nil {
		writeError(w, http.StatusInternalServerError, msgInternalError)
		return
	}
	writeRaw(w, http.StatusOK, raw)
}

// schemaTypes are the versioned types the BMCs emit, by namespace: the $metadata document
// references each, and the schema test checks every walked @odata.type is listed.
var schemaTypes = []string{
	"AccountService.v1_18_1", "Bios.v1_2_3", "Chassis.v1_28_0", "ComputerSystem.v1_27_0",
	"EthernetInterface.v1_12_4", "EventDestination.v1_16_0", "EventService.v1_12_0", "LogService.v1_9_0",
	"Manager.v1_24_0", "ManagerAccount.v1_14_1", "ManagerNetworkProtocol.v1_12_0", "Memory.v1_23_0",
	"MessageRegistryFile.v1_1_5", "PowerSubsystem.v1_1_3", "Processor.v1_22_0", "Role.v1_3_3",
	"SecureBoot.v1_1_2", "ServiceRoot.v1_20_0", "Session.v1_8_0", "SessionService.v1_2_0",
	"SimpleStorage.v1_3_2", "SoftwareInventory.v1_13_0", "Storage.v1_21_0", "TaskService.v1_3_0",
	"ThermalSubsystem.v1_5_0", "UpdateService.v1_17_0",
}

// collectionTypes are the unversioned collection namespaces the BMCs emit.
var collectionTypes = []string{
	"ChassisCollection", "ComputerSystemCollection", "EthernetInterfaceCollection", "EventDestinationCollection",
	"LogEntryCollection", "LogServiceCollection", "ManagerAccountCollection", "ManagerCollection", "MemoryCollection",
	"MessageRegistryFileCollection", "ProcessorCollection", "RoleCollection", "SessionCollection",
	"SimpleStorageCollection", "SoftwareInventoryCollection", "StorageCollection", "TaskCollection",
}

// metadata is the OData CSDL service document (DSP0266 §8.4.2), the same for every BMC.
var metadata = sync.OnceValue(func() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">` + "\n")
	ref := func(file string, namespaces ...string) {
		b.WriteString(`  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/` + file + `">` + "\n")
		for _, ns := range namespaces {
			b.WriteString(`    <edmx:Include Namespace="` + ns + `"/>` + "\n")
		}
		b.WriteString("  </edmx:Reference>\n")
	}
	ref("RedfishExtensions_v1.xml", "RedfishExtensions.v1_0_0")
	for _, t := range schemaTypes {
		ns, _, _ := strings.Cut(t, ".")
		ref(ns+"_v1.xml", ns, t)
	}
	for _, c := range collectionTypes {
		ref(c+"_v1.xml", c)
	}
	b.WriteString("  <edmx:DataServices>\n")
	b.WriteString(`    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">` + "\n")
	b.WriteString(`      <EntityContainer Name="Service" Extends="ServiceRoot.v1_20_0.ServiceContainer"/>` + "\n")
	b.WriteString("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n")
	return []byte(b.String())
})

func (s *Simulator) getMetadata(w http.ResponseWriter, r *http.Request, b *bmc) {
	raw := metadata()
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(raw)
}

// odataServiceJSON is the OData service document: the service root's top-level links.
type odataServiceJSON struct {
	Context string          `json:"@odata.context"`
	Value   []odataEndpoint `json:"value"`
}

type odataEndpoint struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

func (s *Simulator) getODataService(w http.ResponseWriter, r *http.Request, b *bmc) {
	doc := odataServiceJSON{Context: "/redfish/v1/$metadata", Value: []odataEndpoint{{"Service", "Singleton", "/redfish/v1/"}}}
	for _, name := range rootServices {
		doc.Value = append(doc.Value, odataEndpoint{name, "Singleton", "/redfish/v1/" + name})
	}
	writeJSON(w, http.StatusOK, doc)
}

// rootServices are the service root's links, in its order.
var rootServices = []string{"Systems", "Chassis", "Managers", "AccountService", "SessionService", "EventService",
	"TaskService", "UpdateService", "Registries"}
