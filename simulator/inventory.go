package simulator

import (
	"crypto/sha1" //nolint:gosec // stable per-name MAC addresses, not security
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cray-bos/bos/internal/hwfacts"
	"github.com/cray-bos/bos/internal/topology"
)

// The inventory generic clients walk (processors, memory, storage, BIOS, logs, sensors,
// accounts, tasks, firmware, registries) does not change while the simulator runs and is
// the same on every BMC of one model. It is marshalled once per model into a staticTree
// (path → JSON) that all those BMCs share, so 5,000 BMCs hold a few trees, not 5,000.
// What differs per BMC or node (addresses, MACs, the account name) is rendered per request.

// staticTree maps a resource path to its JSON body.
type staticTree map[string][]byte

// modelKey names a BMC model: blade or rack, the node architecture, the system Ids.
func (b *bmc) modelKey() string {
	ids := make([]string, 0, len(b.nodes))
	arch := ""
	for _, n := range b.nodes {
		ids = append(ids, n.systemID)
		arch = n.arch
	}
	return fmt.Sprintf("%t/%s/%s", b.mountain, arch, strings.Join(ids, ","))
}

// assignTrees gives every BMC the tree of its model, building each model's tree once.
func (s *Simulator) assignTrees() error {
	trees := map[string]staticTree{}
	for _, b := range s.bmcs {
		k := b.modelKey()
		if trees[k] == nil {
			t, err := buildTree(b)
			if err != nil {
				return fmt.Errorf("bmc %s: inventory: %w", b.xname, err)
			}
			trees[k] = t
		}
		b.tree = trees[k]
	}
	return nil
}

// getStatic serves a path of the BMC's tree; a path some other method serves is 405.
func (s *Simulator) getStatic(w http.ResponseWriter, r *http.Request, b *bmc) {
	body, ok := b.tree[r.URL.Path]
	if !ok {
		if allow := s.allowedMethods(r); allow != "" {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, msgOperationNotAllowed)
			return
		}
		w.Header().Del("Allow")
		writeError(w, http.StatusNotFound, msgResourceMissingAtURI, r.URL.Path)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// allowedMethods lists the methods other than GET the route table serves at r's path.
func (s *Simulator) allowedMethods(r *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// res is a resource body under construction: @odata.id, @odata.type, Id, Name, then the rest.
type res map[string]any

func resource(id, typ, name string, props res) res {
	r := res{"@odata.id": id, "@odata.type": typ, "Id": id[strings.LastIndex(id, "/")+1:], "Name": name}
	for k, v := range props {
		r[k] = v
	}
	return r
}

func ref(id string) odataRef { return odataRef{id} }

var enabledOK = statusJSON{"Enabled", "OK"}

// buildTree renders the static inventory of b's model.
func buildTree(b *bmc) (staticTree, error) {
	t := staticTree{}
	add := func(r any) {
		id := ""
		switch v := r.(type) {
		case res:
			id = v["@odata.id"].(string)
		case collectionJSON:
			id = v.ODataID
		}
		raw, err := json.Marshal(r)
		if err != nil {
			panic(err) // our own maps of strings, numbers and slices always marshal
		}
		t[id] = raw
	}
	coll := func(id, typ, name string, members ...string) {
		refs := make([]odataRef, len(members))
		for i, m := range members {
			refs[i] = ref(m)
		}
		add(collection(id, typ, name, refs))
	}
	mgr := "/redfish/v1/Managers/" + b.managerID()

	for _, n := range b.nodes {
		hw := n.hardware()
		sys := topology.SystemPath(n.systemID)
		// Processors
		var cpus []string
		for i := 1; i <= hw.CPUs; i++ {
			id := sys + "/Processors/CPU" + strconv.Itoa(i)
			cpus = append(cpus, id)
			add(resource(id, "#Processor.v1_22_0.Processor", "Processor "+strconv.Itoa(i), res{
				"ProcessorType": "CPU", "ProcessorArchitecture": hwfacts.CPUArchitecture(n.arch), "InstructionSet": hwfacts.InstructionSet(n.arch),
				"Manufacturer": hw.CPUManufacturer, "Model": hw.CPUModel, "Socket": "CPU " + strconv.Itoa(i),
				"TotalCores": hw.CoresPerCPU, "TotalThreads": hw.CoresPerCPU * hw.ThreadsPerCore, "MaxSpeedMHz": hw.MaxSpeedMHz,
				"Status": enabledOK,
			}))
		}
		coll(sys+"/Processors", "#ProcessorCollection.ProcessorCollection", "Processors Collection", cpus...)
		// Memory: DIMMs of 32 GiB, or one LPDDR5X package per Grace CPU.
		var dimms []string
		for i := 1; i <= hw.DIMMs; i++ {
			id := sys + "/Memory/DIMM" + strconv.Itoa(i)
			dimms = append(dimms, id)
			socket, slot := hw.DIMMLocation(i - 1)
			add(resource(id, "#Memory.v1_23_0.Memory", "DIMM "+strconv.Itoa(i), res{
				"MemoryDeviceType": hw.MemoryDeviceType, "MemoryType": "DRAM", "CapacityMiB": hw.DIMMGiB * 1024,
				"OperatingSpeedMhz": hw.MemorySpeedMHz, "Status": enabledOK,
				"MemoryLocation": res{"Socket": socket, "Slot": slot},
			}))
		}
		coll(sys+"/Memory", "#MemoryCollection.MemoryCollection", "Memory Collection", dimms...)
		coll(sys+"/EthernetInterfaces", "#EthernetInterfaceCollection.EthernetInterfaceCollection",
			"Ethernet Interface Collection", sys+"/EthernetInterfaces/1")
		// Storage: one NVMe drive, seen through Storage and the older SimpleStorage.
		add(resource(sys+"/Storage/1", "#Storage.v1_21_0.Storage", "NVMe Storage", res{
			"Status": enabledOK, "Drives": []odataRef{}, "Drives@odata.count": 0,
			"Links": res{"Enclosures": []odataRef{ref("/redfish/v1/Chassis/" + n.systemID)}},
		}))
		coll(sys+"/Storage", "#StorageCollection.StorageCollection", "Storage Collection", sys+"/Storage/1")
		add(resource(sys+"/SimpleStorage/1", "#SimpleStorage.v1_3_2.SimpleStorage", "Simple Storage Controller", res{
			"Status":  enabledOK,
			"Devices": []res{{"Name": "NVMe SSD 1", "Manufacturer": "Samsung", "Model": "PM9A3", "CapacityBytes": int64(960) << 30, "Status": enabledOK}},
		}))
		coll(sys+"/SimpleStorage", "#SimpleStorageCollection.SimpleStorageCollection", "Simple Storage Collection", sys+"/SimpleStorage/1")
		add(resource(sys+"/Bios", "#Bios.v1_2_3.Bios", "BIOS Configuration", res{
			"AttributeRegistry": "BiosAttributeRegistry.1.0.0",
			"Attributes":        res{"BootMode": "Uefi", "SecureBoot": "Disabled", "HyperThreading": "Enabled", "NumaNodesPerSocket": "NPS1"},
		}))
		add(resource(sys+"/SecureBoot", "#SecureBoot.v1_1_2.SecureBoot", "UEFI Secure Boot", res{
			"SecureBootEnable": false, "SecureBootCurrentBoot": "Disabled", "SecureBootMode": "UserMode",
		}))
		logService(add, coll, sys+"/LogServices", "SEL", "System Event Log")

		// The node's chassis: power and thermal sensors.
		ch := "/redfish/v1/Chassis/" + n.systemID
		add(resource(ch+"/PowerSubsystem", "#PowerSubsystem.v1_1_3.PowerSubsystem", "Power Subsystem", res{
			"Status": enabledOK, "CapacityWatts": 1200.0,
		}))
		add(resource(ch+"/ThermalSubsystem", "#ThermalSubsystem.v1_5_0.ThermalSubsystem", "Thermal Subsystem", res{
			"Status": enabledOK,
		}))
	}

	// The manager's own resources.
	add(resource(mgr+"/NetworkProtocol", "#ManagerNetworkProtocol.v1_12_0.ManagerNetworkProtocol", "Manager Network Protocol", res{
		"HostName": "", "Status": enabledOK,
		"HTTP":  res{"ProtocolEnabled": false, "Port": 80},
		"HTTPS": res{"ProtocolEnabled": true, "Port": 443},
		"SSH":   res{"ProtocolEnabled": true, "Port": 22},
		"IPMI":  res{"ProtocolEnabled": true, "Port": 623},
		"NTP":   res{"ProtocolEnabled": true, "NTPServers": []string{}},
	}))
	coll(mgr+"/EthernetInterfaces", "#EthernetInterfaceCollection.EthernetInterfaceCollection",
		"Ethernet Interface Collection", mgr+"/EthernetInterfaces/1")
	logService(add, coll, mgr+"/LogServices", "Journal", "BMC Journal")

	// Services.
	add(resource("/redfish/v1/AccountService", "#AccountService.v1_18_1.AccountService", "Account Service", res{
		"ServiceEnabled": true, "Status": enabledOK, "MinPasswordLength": 8, "MaxPasswordLength": 20,
		"AccountLockoutThreshold": 0, "AccountLockoutDuration": 0, "AccountLockoutCounterResetAfter": 0,
		"Accounts": ref("/redfish/v1/AccountService/Accounts"), "Roles": ref("/redfish/v1/AccountService/Roles"),
	}))
	var roles []string
	for _, r := range standardRoles {
		id := "/redfish/v1/AccountService/Roles/" + r.id
		roles = append(roles, id)
		add(resource(id, "#Role.v1_3_3.Role", r.id+" Role", res{
			"RoleId": r.id, "IsPredefined": true, "AssignedPrivileges": r.privileges,
		}))
	}
	coll("/redfish/v1/AccountService/Roles", "#RoleCollection.RoleCollection", "Roles Collection", roles...)
	add(resource("/redfish/v1/TaskService", "#TaskService.v1_3_0.TaskService", "Task Service", res{
		"ServiceEnabled": true, "Status": enabledOK, "CompletedTaskOverWritePolicy": "Oldest",
		"LifeCycleEventOnTaskStateChange": false, "Tasks": ref("/redfish/v1/TaskService/Tasks"),
	}))
	coll("/redfish/v1/TaskService/Tasks", "#TaskCollection.TaskCollection", "Task Collection")
	var firmware []string
	for _, fw := range b.firmware() {
		id := "/redfish/v1/UpdateService/FirmwareInventory/" + fw[0]
		firmware = append(firmware, id)
		add(resource(id, "#SoftwareInventory.v1_13_0.SoftwareInventory", fw[0], res{
			"Version": fw[1], "Updateable": false, "Status": enabledOK,
		}))
	}
	coll("/redfish/v1/UpdateService/FirmwareInventory", "#SoftwareInventoryCollection.SoftwareInventoryCollection",
		"Firmware Inventory Collection", firmware...)
	coll("/redfish/v1/UpdateService/SoftwareInventory", "#SoftwareInventoryCollection.SoftwareInventoryCollection",
		"Software Inventory Collection")
	add(resource("/redfish/v1/UpdateService", "#UpdateService.v1_17_0.UpdateService", "Update Service", res{
		"ServiceEnabled": false, "Status": enabledOK, "Actions": res{}, // no update actions: firmware is fixed
		"FirmwareInventory": ref("/redfish/v1/UpdateService/FirmwareInventory"),
		"SoftwareInventory": ref("/redfish/v1/UpdateService/SoftwareInventory"),
	}))
	var regs []string
	for _, reg := range registries {
		id := "/redfish/v1/Registries/" + reg.prefix
		regs = append(regs, id)
		add(resource(id, "#MessageRegistryFile.v1_1_5.MessageRegistryFile", reg.prefix+" Message Registry File", res{
			"Registry": reg.id, "Languages": []string{"en"},
			"Location": []res{{"Language": "en", "Uri": id + "/" + reg.id}},
		}))
	}
	coll("/redfish/v1/Registries", "#MessageRegistryFileCollection.MessageRegistryFileCollection", "Registry File Collection", regs...)
	return t, nil
}

// logService adds a LogServices collection with one empty log.
func logService(add func(any), coll func(id, typ, name string, members ...string), base, id, name string) {
	svc := base + "/" + id
	add(resource(svc, "#LogService.v1_9_0.LogService", name, res{
		"ServiceEnabled": true, "Status": enabledOK, "OverWritePolicy": "WrapsWhenFull", "MaxNumberOfRecords": 1000,
		"Entries": ref(svc + "/Entries"),
	}))
	coll(svc+"/Entries", "#LogEntryCollection.LogEntryCollection", name+" Entries")
	coll(base, "#LogServiceCollection.LogServiceCollection", "Log Service Collection", svc)
}

type role struct {
	id         string
	privileges []string
}

// standardRoles are DSP0266's predefined roles.
var standardRoles = []role{
	{"Administrator", []string{"Login", "ConfigureManager", "ConfigureUsers", "ConfigureSelf", "ConfigureComponents"}},
	{"Operator", []string{"Login", "ConfigureSelf", "ConfigureComponents"}},
	{"ReadOnly", []string{"Login", "ConfigureSelf"}},
}

// firmware is the BMC's and the nodes' firmware inventory: Id, version.
func (b *bmc) firmware() [][2]string {
	fw := [][2]string{{"BMC", b.firmwareVersion()}}
	if len(b.nodes) > 0 {
		fw = append(fw, [2]string{"BIOS", b.nodes[0].hardware().BIOSVersion})
	}
	return fw
}

func (b *bmc) firmwareVersion() string { return b.hardware().FirmwareVersion }

// hardware is the BMC's own facts (shared with HSM's hardware inventory).
func (b *bmc) hardware() hwfacts.BMC { return hwfacts.ForBMC(b.xname, b.mountain) }

// --- per-BMC resources ---

// macFor is a stable locally administered unicast MAC for a name.
func macFor(name string) string {
	sum := sha1.Sum([]byte("mac:" + name)) //nolint:gosec // see import
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4])
}

func nic(id, mac string, props res) res {
	r := resource(id, "#EthernetInterface.v1_12_4.EthernetInterface", "Ethernet Interface", res{
		"MACAddress": mac, "PermanentMACAddress": mac, "InterfaceEnabled": true, "LinkStatus": "LinkUp",
		"SpeedMbps": 100000, "FullDuplex": true, "Status": enabledOK,
	})
	for k, v := range props {
		r[k] = v
	}
	return r
}

func (s *Simulator) getSystemNIC(w http.ResponseWriter, r *http.Request, b *bmc) {
	n := b.system(r.PathValue("id"))
	if n == nil || r.PathValue("nic") != "1" {
		writeError(w, http.StatusNotFound, msgResourceMissingAtURI, r.URL.Path)
		return
	}
	mac := n.mac
	if mac == "" {
		mac = macFor(n.xname)
	}
	writeJSON(w, http.StatusOK, nic(topology.SystemPath(n.systemID)+"/EthernetInterfaces/1", mac, res{"HostName": n.name}))
}

func (s *Simulator) getManagerNIC(w http.ResponseWriter, r *http.Request, b *bmc) {
	if r.PathValue("id") != b.managerID() || r.PathValue("nic") != "1" {
		writeError(w, http.StatusNotFound, msgResourceMissingAtURI, r.URL.Path)
		return
	}
	writeJSON(w, http.StatusOK, nic("/redfish/v1/Managers/"+b.managerID()+"/EthernetInterfaces/1", macFor(b.xname), res{
		"HostName":      b.xname,
		"IPv4Addresses": []res{{"Address": b.addr.String(), "SubnetMask": "255.0.0.0", "AddressOrigin": "Static"}},
	}))
}

// The one account of a BMC is its login (Config.Username or the topology's).
func (s *Simulator) getAccounts(w http.ResponseWriter, r *http.Request, b *bmc) {
	writeJSON(w, http.StatusOK, collection("/redfish/v1/AccountService/Accounts", "#ManagerAccountCollection.ManagerAccountCollection",
		"Accounts Collection", []odataRef{ref("/redfish/v1/AccountService/Accounts/1")}))
}

func (s *Simulator) getAccount(w http.ResponseWriter, r *http.Request, b *bmc) {
	if r.PathValue("id") != "1" {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "ManagerAccount", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, resource("/redfish/v1/AccountService/Accounts/1", "#ManagerAccount.v1_14_1.ManagerAccount", "User Account", res{
		"UserName": b.username, "Password": nil, "RoleId": "Administrator", "Enabled": true, "Locked": false,
		"AccountTypes": []string{"Redfish"},
		"Links":        res{"Role": ref("/redfish/v1/AccountService/Roles/Administrator")},
	}))
}
