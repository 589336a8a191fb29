// Package simulator runs the Redfish BMCs of a simulated cluster in one process, with a
// virtual node behind every ComputerSystem that boots from BSS and reports to BOS and CFS
// the way a real HPE Cray EX node does.
//
// # Shape
//
// New(Config) builds one BMC per topology.BMC and one node per topology.Node; Start binds
// one listener per BMC, each on its own loopback address (Config.FirstAddress upward,
// default 127.1.0.1, skipping x.y.z.0 and .255, unless the topology gives an Address), all
// on one port (Config.Port; 0 binds the first BMC on :0 and uses that port for the rest).
// These binds are explicit per address, never a wildcard listener. With
// Config.ListenAddress (BOS on another host) every BMC binds that address of the host
// instead, on a port of its own (Config.Port plus its index in the whole cluster, or a
// free one), and its URL carries Config.Advertise. Every client then sees a
// BMC at the root of its own host:port, which is what gofish, redfishtool and sushy all
// need (see the Redfish reference, §4.4). One http.Server serves every listener; the BMC is
// found from the connection's local address (its IP, or with ListenAddress its port).
// Handler(bmc) serves one BMC without a listener for httptest. BMCURLs, BMCs and
// CACertPEM give what the stack needs to wire HSM and clients; Node and Nodes return
// copies of the virtual nodes' state; Stats counts.
//
// TLS (Config.TLS) uses an ECDSA P-256 certificate per BMC (IP and xname SANs, and an
// advertised host name) signed by a CA made in New; the servers speak HTTP/1.1 only (h2
// disabled), like real BMCs.
//
// # Redfish surface (per BMC)
//
//	GET    /redfish                               {"v1": "/redfish/v1/"}     no auth
//	GET    /redfish/v1/                           service root                no auth
//	GET    /redfish/v1/odata, /redfish/v1/$metadata  OData service document and CSDL   no auth
//	GET    /redfish/v1/Systems                    Node0, Node1 (blades) or Self (rack servers)
//	GET    /redfish/v1/Systems/{id}               ComputerSystem, ETag + @odata.etag, If-None-Match → 304
//	PATCH  /redfish/v1/Systems/{id}               Boot.BootSourceOverride{Target,Enabled,Mode}, LocationIndicatorActive
//	                                              (IndicatorLED accepted, never shown); If-Match → 412; 204 + new ETag
//	POST   /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset   {"ResetType": ...} → 204
//	GET    /redfish/v1/Systems/{id}/{Processors,Memory,EthernetInterfaces,Storage,SimpleStorage,Bios,SecureBoot,LogServices}...
//	GET    /redfish/v1/Chassis[/{id}]             Enclosure (blades) + one per system, with PowerSubsystem, ThermalSubsystem
//	POST   /redfish/v1/Chassis/{id}/Actions/Chassis.Reset   a node chassis: the node's power
//	GET    /redfish/v1/Managers[/{id}]            BMC (blades) or Self, with NetworkProtocol, EthernetInterfaces, LogServices
//	POST   /redfish/v1/Managers/{id}/Actions/Manager.Reset  GracefulRestart, ForceRestart: ends the sessions
//	GET    /redfish/v1/AccountService[/Accounts|/Roles]...  the BMC's login; Administrator, Operator, ReadOnly
//	GET    /redfish/v1/SessionService             SessionTimeout in seconds
//	GET    /redfish/v1/SessionService/Sessions    collection
//	POST   /redfish/v1/SessionService/Sessions[/Members]  login, no auth: 201 + X-Auth-Token + Location + body with Id
//	GET    /redfish/v1/SessionService/Sessions/{id}
//	DELETE /redfish/v1/SessionService/Sessions/{id}  logout: 204, then 404
//	GET    /redfish/v1/EventService               RegistryPrefixes, retry policy
//	POST   /redfish/v1/EventService/Actions/EventService.SubmitTestEvent  to every subscription → 204
//	GET    /redfish/v1/EventService/Subscriptions
//	POST   /redfish/v1/EventService/Subscriptions    Destination (required), Context, Protocol, EventTypes, RegistryPrefixes, HttpHeaders, DeliveryRetryPolicy → 201
//	GET    /redfish/v1/EventService/Subscriptions/{id}
//	PATCH  /redfish/v1/EventService/Subscriptions/{id}  Context only (what hmcollector changes)
//	DELETE /redfish/v1/EventService/Subscriptions/{id}
//	GET    /redfish/v1/{TaskService,UpdateService,Registries}...  Registries/{prefix}/{id}: DMTF's Base, ResourceEvent, TaskEvent
//
// Every resource validates against the DMTF schema (DSP8010) of the version its
// @odata.type names, and emits no deprecated property or value (schema_test.go walks the
// tree). What never changes is marshalled once per BMC model and shared (inventory.go).
// GET answers carry Allow, Cache-Control: no-cache and a Link (rel=describedby) to the
// JSON schema; an OData-Version other than 4.0 is 412 HeaderInvalid.
//
// Authentication is Basic on any request or X-Auth-Token from a session; credentials
// default to root / initial0 (Config.Username/Password, overridden per BMC by the
// topology). Sessions expire after Timing.SessionTimeout without use; Config.MaxSessions
// caps them (503 SessionLimitExceeded). A trailing slash is ignored on every path.
//
// Errors are DSP0266 extended errors: {"error": {"code": "Base.1.22.GeneralError",
// "message": ..., "@Message.ExtendedInfo": [{"MessageId": "Base.1.22.<Id>", ...}]}}:
// 400 MalformedJSON, PropertyMissing, PropertyUnknown, PropertyNotWritable, PropertyValue{TypeError,
// FormatError, NotInList}, ActionParameter{Missing, Unknown, ValueTypeError,
// ValueNotInList}; 401 NoValidSession with WWW-Authenticate: Basic; 404 ResourceNotFound
// (unknown system, session...) or ResourceMissingAtURI (unknown path); 405
// OperationNotAllowed with Allow; 409 ResourceInUse; 412 PreconditionFailed or HeaderInvalid; 413 for a
// body over 64 KiB; 500 InternalError and 503 ServiceTemporarilyUnavailable + Retry-After
// (faults).
//
// # Power
//
// power.go is a pure table, DecideReset(phase, ResetType, faults) → outcome and plan of steps;
// node.go executes plans with one time.AfterFunc timer per pending transition (no
// goroutine per node). The plans: On = PoweringOn, wait PowerOn, On. ForceOff =
// PoweringOff, wait PowerOff, Off. GracefulShutdown and the power button from On =
// PoweringOff, wait GracefulShutdown, Off. ForceRestart and PowerCycle = ForceOff then On;
// GracefulRestart = GracefulShutdown then On.
//
// A reset that does not apply to the state is accepted as a no-op (204, nothing changes)
// when the system is already in or heading to the requested state (On while On or
// PoweringOn, ForceOff while Off): bmcweb's behaviour, which keeps a client's retried
// request harmless. A request that contradicts a transition in progress (On while powering
// off, a graceful request while powering on, Nmi with no OS running) is 409 ResourceInUse,
// like iDRAC's "already in transition". ForceOff always wins (it cuts a graceful shutdown
// or a restart short); ForceRestart and PowerCycle restart from any state. Nmi on a
// running system is accepted and changes nothing. Restart types from Off power on, as
// bmcweb does. The whole table is in DecideReset's comment and TestDecideReset.
//
// The ETag (W/"n") changes with every PowerState change. An If-Match on the Reset that
// does not match (and is not "*") is 412 and changes nothing; gofish then resends without
// If-Match, so the reset still happens.
//
// Delays (Timing) are real time: PowerOn, PowerOff, GracefulShutdown, POST and Boot are
// multiplied by Scale (0 = instant: zero-delay steps are applied before the Reset answers)
// and varied by ±Jitter from an RNG seeded with Config.Seed; Config.SlowNodes multiplies
// them further for the nodes it names (heterogeneous clusters: a few slow nodes). The
// agent's retry pacing is not scaled.
//
// # Virtual node
//
// When a system reaches On, after the POST delay the node GETs
// {BSS}/boot/v1/bootscript?name=<xname>, parses the iPXE script (the kernel line's URL and
// parameters up to "||", the initrd line's URL, bss_referral_token= from the parameters)
// and retries every BootScriptRetry while BSS fails or sends a script without a kernel
// line (its "refreshing, sleep and chain" answer). After the Boot delay the OS is up:
// OnBooted(xname, at) is called, then, like bos-reporter, PATCH {BOS}/v2/components/<xname>
// {"id": xname, "actual_state": {"bss_token": token}}, then, like cfs-state-reporter,
// PATCH {CFS}/v3/components/<xname> {"state": [], "enabled": true} (with
// Config.BatchCFSReports, for a CFS in another process: one PATCH {CFS}/v3/components
// {"patch": {"state": [], "enabled": true}, "filters": {"ids": "x,y,..."}} for up to 256
// nodes' reports queued while the one before was sent, cfsreports.go; with
// Config.CFSReport, a Go call to the CFS running in the same process). Both are retried with a
// linear backoff (attempt × ReportBackoff, capped at ReportBackoffCap, default 30 s) on
// transport errors, 404, 409, 429 and 5xx; another 4xx is logged and given up. An empty
// service URL skips its step; SetServices changes them at run time (the next attempt uses
// the new one). Each step is a job on a pool shared by all nodes (Config.AgentWorkers,
// default 64), so 10,000 nodes booting at once never open 10,000 sockets.
// Config.WrapTransport wraps the transport of these requests and of event delivery: the
// stack serves those to its own HSM, BSS and CFS in-process with it.
//
// Any PowerState change ends the power cycle: its generation is bumped and its context
// cancelled, so a boot in progress stops and never reports after a reboot.
//
// # Events
//
// Every PowerState change (PoweringOn, On, PoweringOff, Off) is POSTed to each subscriber
// of the system's BMC as a record of a Redfish Event: Context = the subscription's,
// MessageId ResourceEvent.1.0.ResourcePowerStateChanged, MessageArgs [system URI, state],
// OriginOfCondition, EventType Alert (what HSM reads, via hmcollector). Delivery is a pool
// shared by the simulator (Config.EventWorkers single-worker shards, a BMC always on the
// same shard; a change's events are queued under the BMC lock as it is made, into the
// subscription's outbox, so they stay in the order of the changes). A delivery POSTs
// everything the outbox holds when it runs (at most 64 records) as one Event, so the
// transitions of a reset, or of several nodes of the BMC, queued meanwhile share one POST
// per subscriber (Stats.EventPosts; the other event counters count records); HTTPTimeout
// per POST, 3 retries ReportBackoff apart; enqueueing never blocks the BMC: a full shard
// queue or an outbox holding Config.EventQueue records drops the event
// (Stats.EventsDropped). Config.Subscriptions pre-seeds a subscription on every BMC with
// Context = the BMC xname ("{bmc}" in the Destination is replaced by it): how the stack
// wires HSM without 10,000 POSTs at start-up. A subscription receives power events unless
// its EventTypes exclude both Alert and StatusChange or its RegistryPrefixes exclude
// ResourceEvent. A pre-seeded subscription with Collect is delivered as hmcollector
// forwards BMCs' events: every BMC's copy shares one outbox on one shard, and a POST
// carries up to 256 records of any BMCs, each naming its BMC in the record's Context (the
// Event's is empty); the stack so wires HSM, whose events at 100,000 nodes were about a
// POST a node.
//
// A POSTed subscription's HttpHeaders (the schema's array of {name: value}, or one object
// as gofish sends it) are added to every event POST and read back as an empty array. Its
// DeliveryRetryPolicy is TerminateAfterRetries unless it asks for RetryForever or
// RetryForeverWithBackoff (SuspendRetries is refused): once an event fails its retries the
// subscription is deleted (Stats.SubscriptionsTerminated) and its queued events are not
// sent, as a BMC forgets a subscriber that went away. Pre-seeded subscriptions retry
// forever.
//
// # Faults
//
// Set per xname (Config.Faults.Set, SetFault, ClearFault) or to a fraction of all nodes or
// BMCs (Config.Faults.Rates, SetFaultRate: round(rate × count) members from a permutation
// seeded by the seed and the fault name, so a seed always picks the same set); Faults,
// FaultyNodes and NodeState.Faults say who has what.
//
//	BMC faults (BMC xname):
//	hang           requests are read and never answered until the client gives up or Close
//	unreachable    the listener is closed (connection refused); requests on connections
//	               already open are cut; clearing it listens again
//	slow           every request waits Timing.SlowLatency (default 2 s) first
//	Node faults (node xname):
//	reset-503      Reset answers 503 ServiceTemporarilyUnavailable, Retry-After
//	               Timing.RetryAfter (default 5 s); nothing changes
//	reset-500      Reset answers 500 InternalError; nothing changes
//	power-stuck    transitions never complete: PoweringOn or PoweringOff forever; clearing
//	               the fault finishes the held transition
//	graceful-hang  GracefulShutdown, GracefulRestart and the power button are accepted and
//	               ignored (the system stays On); ForceOff, ForceRestart, PowerCycle work
//	no-report      the node boots (OnBooted, CFS told) but never reports to BOS
//	wrong-image    the node reports a token BSS never gave ("wrong-image-<hash>")
//	kernel-panic   at the end of the Boot delay the kernel panics and the system goes Off:
//	               no OnBooted, no reports (the kernel it loaded is still recorded)
//
// # Scale and resources
//
// 10,000 nodes on 5,000 BMCs start in well under a second and hold about 60 MiB (see
// bench_test.go). Per node: a small struct, at most two timers, no goroutine while idle.
// Per BMC: one listener (one file descriptor) and one accept goroutine. File descriptors:
// listeners + live server connections (+ client connections when the clients run in the
// same process); Start raises the soft RLIMIT_NOFILE to the hard limit when it needs more
// (ulimit -n is 20,000 on the project machines; Go already raises the soft limit at start)
// and fails with a clear message when even the hard limit is too low. Servers time out
// header reads (10 s), whole reads (30 s) and idle connections (2 min). Close stops the
// listeners, connections, timers, node agents and event delivery.
//
// # Deviations from real BMCs and nodes
//
//   - One vendor flavour: HPE Cray EX blade controllers (Node0/Node1, manager BMC,
//     Enclosure chassis) and HPE rack servers (Self), with fixed inventory per model.
//   - No AccountService, TaskService, UpdateService, LogServices, Bios, Processors,
//     Memory or EthernetInterfaces resources, no $expand, no PATCH of a system (Boot
//     override), no SubmitTestEvent; Chassis and Manager Reset are absent (404).
//   - Reset answers 204 (iDRAC/sushy-tools style), never 200 + Base.Success or 202 + Task.
//   - Event delivery does not follow DeliveryRetryPolicy; events dropped on a full queue
//     are lost, as on a BMC whose event buffer overflows.
//   - The node reports once per boot; bos-reporter's periodic re-report (every 0.75 ×
//     bos_update_frequency) is not simulated. A node whose kernel parameters carry no
//     bss_referral_token does not report to BOS. The BOS and CFS reports run in sequence
//     (CFS after BOS succeeds or gives up), not as two independent services.
//   - iPXE is not emulated beyond reading the kernel and initrd lines; the script's own
//     retry label and chain are replaced by Timing.BootScriptRetry.
//   - An Nmi does nothing to the simulated OS.
package simulator
