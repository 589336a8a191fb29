// Package hsm simulates the Hardware State Manager (HSM, hms-smd 2.45) of HPE Cray
// EX / CSM: the inventory of components and their state that BOS, BSS, PCS and the
// other simulators read and write.
//
// # What it serves
//
// Everything under BasePath (/hsm/v2, what BOS calls in-cluster) and again under
// GatewayPath (/apis/smd/hsm/v2, the API gateway form). The route table is
// Server.routes; in short:
//
//   - service/ready, service/liveness, service/values[/{name}]
//   - State/Components: GET with filters (id, type, state, flag, enabled,
//     softwarestatus, role, subrole, subtype, arch, class, nid, nid_start/nid_end,
//     group, partition, locked, reservation_disabled; "!" negates; stateonly, flagonly,
//     roleonly, nidonly trim the reply), POST (upsert), DELETE; per xname GET, PUT,
//     DELETE; Query (POST with ComponentIDs, GET Query/{xname}); ByNID/{nid} and
//     ByNID/Query; the Bulk{StateData,FlagOnly,Enabled,SoftwareStatus,Role,NID} patches
//     and the per-component {StateData,FlagOnly,Enabled,SoftwareStatus,Role,NID} patches.
//     State changes without Force follow HSM's transition rule (allowedFrom) and are
//     silently skipped when it refuses; Unknown, Empty and Populated need Force.
//   - groups and partitions: CRUD, labels/names, members add/remove, PUT
//     groups/{label}/members (OpenCHAMI's smd: replaces the list); exclusive groups
//     and the one-partition-per-component rule answer 409. A group PATCH reads only
//     description and tags (a label in the body is ignored, as hms-smd's GroupPatch).
//     memberships.
//   - locks: status (GET and POST), lock, unlock, repair, disable, admin and service
//     reservations (create, remove, release, renew, check) with rigid/flexible
//     processing and the reply shapes of hms-smd. Service reservations last 1..15
//     minutes on the injected clock (Config.Now).
//   - Inventory: RedfishEndpoints (CRUD, filters id, fqdn, type, uuid, macaddr,
//     ipaddress, laststatus; Query/{xname} with "all"/"s0" or a parent xname),
//     ComponentEndpoints (GET with id, redfish_ep, type, redfish_type; single GET;
//     DELETE all or one, setting the component Empty), ServiceEndpoints (GET with
//     redfish_ep, service; /{service}; /{service}/RedfishEndpoints/{xname} GET and
//     DELETE; DELETE all), EthernetInterfaces (GET with id, macaddress, ipaddress,
//     network, componentid, type; single GET, PATCH, DELETE; POST answering one
//     ResourceURI; collection DELETE; IPAddresses GET, POST, and PATCH/DELETE by
//     address).
//   - Discovery (discover.go): POST /Inventory/Discover {"xnames":[...],"force":bool}
//     (no xnames: every endpoint; an unknown one 404; 409 while a discovery is
//     InProgress unless force) answers [{"URI":".../Inventory/DiscoveryStatus/0"}]
//     and reads the BMCs in the background, as POST, PUT and PATCH of a
//     RedfishEndpoint with RediscoverOnUpdate do (false unless given, as HSM);
//     disabled endpoints are skipped. RedfishEndpoint bodies are checked and their
//     Hostname, Domain, FQDN and IPAddress derived as hms-smd's
//     NewRedfishEPDescription does, with its texts after "couldn't validate endpoint
//     data: "; an FQDN may also be "ip:port" (kept as given).
//     DiscoveryStatus (only ID 0, as HSM) goes NotStarted → InProgress → Complete.
//     Discovery GETs the service root, its AccountService, EventService,
//     SessionService, Tasks and UpdateService (→ ServiceEndpoints, ServiceInfo the
//     service's own JSON), the Systems and Managers and their EthernetInterfaces with
//     the credentials HSM keeps (Config.BMCClient, Config.BMCScheme; https without
//     verifying the certificate by default). The endpoint's LastDiscoveryStatus is
//     DiscoveryStarted while it runs, then DiscoverOK (with RedfishVersion and the
//     root's UUID), HTTPsGetFailed (unreachable, or a GET refused) or
//     EPResponseFailedDecode. Success replaces the endpoint's ComponentEndpoints and
//     ServiceEndpoints, creates missing components (topology facts, else NodeMap,
//     else HSM's defaults; nodes On/Off from PowerState, the BMC Ready) and records
//     every NIC as an EthernetInterface (keeping its IPs). Systems become nodes
//     bBnN in the order of their paths. It also refills the hardware inventory
//     (hwinv_discover.go), as hms-smd's pkg/rf: per system the Node, the members of
//     its ProcessorCollection (CPUs → Processor nNpK, GPUs → NodeAccel nNaK, K
//     counting each kind in collection order, absent ones included; hms-smd counts
//     in a map's order) and MemoryCollection (Memory nNdK, K the member's index),
//     and the BMC's Manager (NodeBMC), each Redfish resource passed through to the
//     location and FRU info objects. These replace what was stored at those
//     locations, with history as a POST records it (Scanned for the same FRUID,
//     Removed+Added for another; TestDiscoverRefillsHWInventory,
//     TestDiscoverRecordsReplacedProcessor, TestDiscoverOrdinalsAsReal).
//     Untrackable FRUs keep FRUIDfor<xname>, as discovery does (a POST refuses
//     them). Config.OnDiscovered then receives the systems read;
//     Server.WaitDiscoveries waits for discoveries.
//   - Inventory/Hardware (hardware inventory by location): GET with filters id, type,
//     manufacturer, partnumber, serialnumber, fruid, partition; POST
//     {"Hardware":[HWInvByLoc...]} (all entries checked before any is stored, with
//     hms-smd's texts: "ID is empty or not a valid xname", "PopulatedFRU must be
//     populated", "Component location info is empty", "FRU info is empty", "Trackable
//     <Type> FRUID can't be created. ..."); DELETE; per xname GET and DELETE (404 "no
//     such xname."). Query/{xname} (s0, all, a partition pN or an xname) answers an
//     HWInventory {XName, Format, Nodes, Processors, Memory, NodeBMCs, NodeEnclosures,
//     ...}; format NestNodesOnly (the default: processors, memory, drives, NICs nested
//     in their node) or FullyFlat, Hierarchical is 400 "Invalid format" as in hms-smd;
//     children (default true unless parents=true), parents, type, partition.
//     Inventory/HardwareByFRU: GET with type, manufacturer, partnumber, serialnumber,
//     fruid; per FRUID GET and DELETE (404 "no such FRU ID."); DELETE. FRUIDs are
//     hms-smd's: <Type>.<Manufacturer>.<PartNumber>.<SerialNumber>, letters and digits
//     only, or FRUIDfor<xname> for a FRU without a serial number (processors, DIMMs,
//     BMCs here). History (Hardware/History[/{xname}], HardwareByFRU/History[/{fruid}]):
//     GET with id, fruid, eventtype (Added, Removed, Scanned, Detected), starttime,
//     endtime; DELETE. A POST records Added for a FRU new at its location, Scanned for
//     the same FRU again, Removed then Added when another FRU replaces it; a DELETE
//     records nothing, as in hms-smd. Server.PutHardware stores entries read from a BMC
//     the same way (for discovery).
//   - Defaults/NodeMaps: CRUD with hms-smd's replies ("Created or modified N entries",
//     409 on a NID another node's map holds); a node created without NID or Role takes
//     its NodeMap's, else Role Compute and HSM's GetBogusNID.
//   - sysinfo/powermaps: CRUD with hms-smd's replies (keys "id", "poweredBy"). They
//     start empty: the topology has no PDUs to seed them from.
//   - Subscriptions/SCN: GET, POST, DELETE all; {id} GET, PUT, PATCH (Op add, remove,
//     replace), DELETE, with hms-smd's ids (1, 2, ... as JSON numbers) and detail
//     texts. See "State change notifications" below.
//
// Errors are RFC 7807 problem+json (internal/problem), including unknown paths (404)
// and wrong methods (405 with Allow).
//
// Seeding (Config.Topology): a component per node (State Off, Flag OK, Enabled unless
// the topology disables it, Role, SubRole, NID, Arch, Class, NetType Sling) and per
// NodeBMC (State Ready); the topology's groups and partitions; a RedfishEndpoint per
// BMC (FQDN from Config.BMCs, else the topology address, else the xname; callers that
// bind BMC listeners later call SetBMCEndpoints); a ComponentEndpoint per node
// (OdataID = topology.SystemPath(SystemID), RedfishURL = FQDN+OdataID, the
// #ComputerSystem.Reset target with topology.ResetTypes as allowable values) and per
// BMC (its Manager, Managers/BMC on blades and Managers/Self on rack servers); an
// EthernetInterface per node MAC; the hardware inventory discovery of each BMC finds —
// its NodeBMC, NodeEnclosure (the EX blade, or the rack server's chassis), and per
// node the Node, its Processors and Memory — with the facts the BMC simulator serves
// (internal/hwfacts; TestHWInventoryAgreesWithRedfish in internal/stack compares the
// two) and an Added history event each at startup. The hardware inventory is not
// stored but built from the topology when read, so 10,000 nodes cost ~180 bytes each;
// stored (POSTed) entries override it and deletions are remembered. These records repeat what the simulated BMCs serve
// (name-based UUIDs, RedfishVersion 1.11.0, the topology MACs, URIs, reset values): a
// Discover of them finds the same (TestDiscoverAgreesWithSeed). ServiceEndpoints
// start empty: they need the BMCs' JSON, which only a Discover reads.
//
// # Power events: POST /hsm/v2/RedfishEvents (not in the real API)
//
// Real HSM learns that a node powered on or off from Redfish events: BMCs post them to
// hmcollector, which publishes them on Kafka, where HSM consumes them. This simulator
// takes the same event body directly:
//
//	POST /hsm/v2/RedfishEvents
//	{"Context": "x1000c0s0b0",
//	 "Events": [{"MessageId": "ResourceEvent.1.0.ResourcePowerStateChanged",
//	             "MessageArgs": ["/redfish/v1/Systems/Node1", "On"],
//	             "OriginOfCondition": {"@odata.id": "/redfish/v1/Systems/Node1"}}]}
//
// As in HSM, the BMC is the first controller xname among the ":"-separated fields of
// the event's (or the record's) Context; the message key is the last "."-separated
// part of MessageId; the arguments, in any order, give the resource path (else
// OriginOfCondition does) and the state. The (BMC, path) pair is looked up among the
// ComponentEndpoints and the component's State becomes On or Off (Flag OK) under the
// transition rule: a Ready node stays Ready on "On". PoweringOn and PoweringOff, other
// messages and unknown targets are ignored. The reply is 200 {"Applied":n,"Ignored":m}
// (Server.HandleRedfishEvent does the same for a caller in the same process);
// it is a map lookup and an in-place update per record, so a 10,000-node boot's
// ~20,000 events cost milliseconds. Unknown JSON fields are allowed here (Redfish
// events carry many); malformed JSON is a 400.
//
// # State change notifications
//
// As hms-smd, HSM POSTs an SCNPayload ({"Components":[...], and State and Flag, or
// Enabled, or SoftwareStatus, or Role and SubRole}) to every subscription whose
// trigger matches (case-insensitively: the payload's State if set, else Role, else
// SubRole, else SoftwareStatus, else Enabled, which matches subscriptions with
// "Enabled": true). One payload per change set: a Bulk*/per-component patch sends its
// changed components in one (StateData, Enabled, SoftwareStatus, Role; FlagOnly and
// NID send none; unchanged components are left out); a POST/PUT of components sends
// one per change kind and new value (a new component's State, Enabled,
// SoftwareStatus, Role; an existing one's forced State or changed Role; State
// without Flag there, as hms-smd); a Redfish event body sends one per new power
// state. Delivery is asynchronous: the request that caused it never waits. Each URL
// has its own queue drained in order by one goroutine at a time (Config.SCNClient,
// default 30 s timeout); a payload is tried 3 times 5 s apart and only 200 counts,
// as hms-smd's JobSCN. A queue holds Config.SCNQueueLimit payloads (default 1000);
// past it the oldest is dropped; drops and failures are counted (Server.SCNStats)
// and logged once per episode. With no subscription a change costs one atomic load.
//
// # Deviations from the real service
//
//   - Bodies decode as in HSM: unknown JSON fields are ignored, and JSON that does not
//     parse or does not fit is 500 "error decoding JSON <Go's error>"; unknown query
//     parameters are ignored. Stricter than HSM: an empty, null or non-UTF-8 body is 400
//     (HSM: 500 or an empty request). xnames are those of hms-xname (every HMS type,
//     plus VirtualNode); an invalid one is 400 in bodies, queries and per-component
//     patches, and 404 "no such xname." on single-resource GET and DELETE of
//     components, RedfishEndpoints and ComponentEndpoints, as in HSM. Every request
//     is validated completely before anything changes, so a bulk patch or a group
//     with one bad ID changes nothing (TestDeviationBodies).
//   - A per-component patch (…/{xname}/StateData etc.) of a valid xname that is not a
//     component is 404 "no such xname." (HSM: 204, nothing changes). Bulk patches skip
//     such IDs, as HSM does.
//   - POST/PUT /State/Components on an existing component updates NID and Role/SubRole
//     only when the body gives them; HSM first fills node defaults and so can replace
//     a NID with a synthetic one. Defaults for new components: Flag OK, Enabled true,
//     NetType Sling, Arch X86; nodes and virtual nodes also Role Compute, Class River
//     and HSM's GetBogusNID from the xname ((cab+1)*16384 + chassis*2048 + slot*32 +
//     BMC*4 + node; TestNewNodeDefaultsAsReal). Enabled and SoftwareStatus are set only at
//     creation, as in HSM. Locked and ReservationDisabled in a component body are
//     ignored: they belong to /locks.
//   - Lists are sorted by ID (groups by label, partitions by name); HSM returns
//     database order.
//   - Only nodes and NodeBMCs are components: discovery reads Systems and the BMC's
//     Manager, not Chassis, so it creates no cabinets, chassis, slots or enclosures
//     (nor NodeEnclosure hardware inventory), and it does not read drives, HSN NICs
//     or accelerator risers. Absent processors and DIMMs are left out (HSM stores an
//     Empty location without a FRU); a location a later Discover no longer finds is
//     kept. At most 1024 processors and 1024 DIMMs are read per system
//     (TestDiscoverHostileProcessors). Deleting a RedfishEndpoint deletes its
//     ComponentEndpoints and ServiceEndpoints and sets the components behind it to
//     Empty, as HSM does. Error texts of Discover, DiscoveryStatus, ServiceEndpoints
//     and the IPAddresses operations are ours (status codes as the document says).
//   - RedfishEndpoints keep the Password they are given, as HSM keeps it in Vault, and
//     never return it (the key is absent) nor log it; a PUT without one keeps the stored
//     one. User is returned. Node EthernetInterfaces get an IP derived from the NID
//     (10.x.y.z, network NMN) instead of one from DHCP.
//   - In lock request bodies the type filter is "Type"; hms-smd 2.45's struct tag is
//     misspelt "Sype", so it ignores a type filter there. /locks/disable releases every
//     target's reservation; HSM's rigid path stops releasing at the first target that
//     has none. Expired reservations are treated as absent on every read instead of
//     being swept periodically. As in HSM, a lock status that matches no component is
//     400 "Component not found" (hsmapi.Client.LockedNodes reads that as "none locked"), GET
//     /locks/status leaves NotFound null, and reservation-create replies carry no
//     CreationTime.
//   - Query with "all", "all_comp", "all_svc" or "s0" means every component.
//   - SCNs: hms-smd runs each change set's deliveries on a worker pool, concurrently
//     per URL, so a subscriber may see them out of order; here a subscriber sees them
//     in the order the changes happened. hms-smd's unbounded work queue is a bounded
//     per-subscriber queue here, and its retryablehttp client's own retries inside
//     each of the 3 attempts are not simulated. POST with a Subscriber and Url that
//     already have a subscription replaces it under the same ID (hms-smd's table is
//     unique on the pair; its document says 409). A PUT replaces the whole
//     subscription at once (hms-smd's in-memory copy takes only the new States until
//     its 30 s refresh). Subscriptions are kept in memory, not in a database.
//   - PUT /groups/{label}/members is not in hms-smd 2.45 (OpenCHAMI added it; its
//     handler was not at hand): the body {"ids":[...]} is checked whole and replaces
//     the members; the reply is 200 with the new {"ids":[...]}.
//   - Hardware inventory: only what discovery of the simulated BMCs would find (no
//     cabinets, chassis, slots, drives, NICs); lists are sorted by xname or FRUID; FRU
//     filters match exactly. Deleting a FRU that a location still holds (or all FRUs
//     while any location remains) is 409 (HSM: its database's foreign-key error).
//     An unparsable starttime/endtime is 400 (not checked against HSM). GET
//     /Inventory/Hardware ignores children and parents, as hms-smd does. The info
//     objects are matched by the type's key (NodeHsnNicLocationInfo, as hms-smd's
//     code; the document's example says HSNNICLocationInfo, which HSM ignores).
//   - Not simulated: v1 locks, periodic rediscovery. /service/ready is always 200.
package hsm
