// Package bss simulates the Cray Boot Script Service (hms-bss 1.37): the store of kernel,
// initrd and kernel parameters per node, and the iPXE boot script every node fetches when it
// boots. BOS writes it with one call (PUT /bootparameters) and reads back the referral token
// from the BSS-Referral-Token header; the token comes back to BOS from the booted node's
// kernel command line, which this service writes into the boot script.
//
// # API
//
// Served under /boot/v1 and under the API gateway prefix /apis/bss/boot/v1 (the cloud-init
// datasource at the root and under /apis/bss, as real):
//
//	GET    /bootparameters     all entries; or ?name=&mac=&nid= (comma lists) or a JSON body
//	PUT    /bootparameters     replace; mints one referral token (a UUID) per request
//	POST   /bootparameters     create only: 400 "Already exists: <item>"; 201 + token
//	PATCH  /bootparameters     update non-empty fields of existing entries; 404 otherwise
//	DELETE /bootparameters     the body selects hosts, macs, nids and/or kernel/initrd images
//	GET    /bootscript         ?mac= | ?name= | ?nid=, optional arch, retry, ts: text/plain iPXE
//	GET    /hosts              HSM-derived host records (?name=&mac=&nid=); POST re-reads HSM
//	GET    /dumpstate          {"Components": hosts, "Params": every entry}
//	GET    /endpoint-history   last bootscript / user-data fetch per node (?name=&endpoint=);
//	                           name+endpoint never fetched: last_epoch 0 if the type is known,
//	                           else []; endpoint without name: 500 (all as real)
//	GET    /service/{status,version,hsm,etcd,all,status/all}: 500 when a check reports "error"
//	GET    /meta-data          the caller's cloud-init meta-data (JSON); ?key=a.b one value
//	GET    /user-data          "#cloud-config" + the caller's user-data as YAML (text/yaml)
//	POST   /phone-home         stores the body as the caller's phone-home data
//
// Cloud-init (the real cloudInitAPI.go): the caller is the node whose HSM EthernetInterface
// has the request's IP (the last X-Forwarded-For entry, else the connection's address; an
// unknown IP refreshes HSM data once, rate limited). Its data is its own entry's, else its
// role's, else Default's (an unknown caller: Default's). Meta-data gains a random
// instance-id (<xname>-<12 hex>, or default-<12 hex>) and, unless set, local-hostname (the
// xname), shasta-type (Role) and shasta-role (SubRole); the entry stored under the
// shasta-role value supplies defaults, nested maps merged; "Global" is the Global entry's
// meta-data. ?key=Global.x reads only the global data; a missing key (or "Global" alone) is
// 404 "Not Found". User-data is merged likewise over the shasta-role entry's, gets
// local-hostname from the meta-data unless set, and its fetch is recorded in endpoint history
// (under "" for an unknown caller, as real). Phone-home needs a known IP (else 404 "XName not
// found for IP") and an entry of the node's own (else 404 "Not Found: Error looking up <x>:
// Key /params/<x> does not exist"); a body that is not JSON is 400 "Bad Request"; the reply
// is {"hosts":[xname],"cloud-init":{...}} with the posted phone-home.
//
// Keying (PUT and POST): hosts, stored verbatim (no xname normalization, so special keys such
// as Default, Compute or Unknown-X86 work), else each MAC resolved to its node's xname
// through HSM data (unresolved MACs are keys themselves), else each NID resolved likewise
// (unresolved: nid<N>), else kernel or initrd alone set that image's own parameters, which
// are appended to the command line of every node using the image.
//
// Boot script resolution: the node is found in HSM data by MAC, name or NID; its boot data is
// the first entry found under its xname, the literal key asked for (MAC, name, nid<N>), its
// HSM Role, then Default. A node HSM does not know, whose ComponentEndpoint is disabled or
// missing, or that has no kernel takes the unknown-node path: with no arch it gets the real
// BSS's "sleep 10" script chaining back with &arch=${buildarch}&ts=<ts> (whatever is stored:
// the real checkState(true) always reports a refresh), which is not recorded in endpoint
// history; with an arch it boots Unknown-<arch> (that key alone: no role, no Default). If
// that fails and HSM knows the node, it gets its own script after all (as the real BSS
// does), else 404 "<descr>: this host not configured for booting." The kernel line
// carries the stored params, the kernel image's and the initrd image's params, then, unless
// already present, xname=, nid=, bss_referral_token= and ds=nocloud-net;s=<advertise>/, with
// initrd=initrd first; then the initrd line, imgstat, boot and the retry block whose chain
// URL names the node by MAC (else xname) with retry+1 (the value with & # ; + % $ escaped,
// so the retry asks for the same node and iPXE expands nothing in it). Each request is a handful of map
// lookups under a read lock: O(1) in the number of nodes.
//
// HSM data comes through Inventory. HTTPInventory reads HSM's real API
// (State/Components, Inventory/ComponentEndpoints, Inventory/EthernetInterfaces, all
// ?type=Node) at New, on POST /hosts, and when a boot script request names a node BSS does
// not know, at most once per Config.RefreshInterval. StaticInventory and FromTopology serve
// tests and in-process stacks.
//
// # Read replicas
//
// A simulator process that runs BMCs but not BSS (a shard of a cluster) keeps a Replica:
// the boot-script state of its nodes, sent by the primary on every write before the
// write is answered, so its nodes' boot scripts are served in its own process. The
// replication is the simulators' own (POST /sim/bss/replicas, POST
// /sim/bss/replicas/{id}, PUT /sim/bss/replica on the replica), outside the real API's
// paths; replica.go says how it stays never stale, and what an unreachable replica costs.
//
// # Deviations from the real BSS
//
//   - Storage is in memory (no etcd); images are keyed by path rather than by hash.
//   - s3:// kernel, initrd, metal.server= and root=live: URLs are rewritten to
//     <Config.S3URL>/<bucket>/<key> (unsigned) when S3URL is set, else served unchanged;
//     the real BSS presigns them. The text is kept as written, never percent-decoded, so
//     what was checked on input (no white space or control character) is what is served. ${SPIRE_JOIN_TOKEN} is not substituted.
//   - While refreshing HSM data the real BSS may answer a "sleep 10; chain" script to a known
//     node; this one refreshes synchronously and answers the real script. An archless
//     unknown-node request starts no HSM refresh of its own (the real one starts one in the
//     background); the refresh-on-miss above still applies. The script ends with one
//     newline (the real BSS writes a second one). The chain URL is always
//     <ChainURL>/boot/v1/bootscript, also for requests that came in under the gateway prefix.
//   - Cloud-init: user-data YAML is written by yaml.v3 with two-space indentation (the
//     real BSS uses yaml.v2, which does not indent list items: same data, other layout);
//     /meta-data is served as application/json (the real one sets no Content-Type); X-Forwarded-For
//     entries are trimmed of spaces; only IPs of HSM Node components are known (the real BSS
//     also maps an interface whose ComponentID is not a Node component); a shasta-role that
//     is not a string is ignored (the real BSS panics). FromTopology carries no IPs.
//   - Request bodies are decoded strictly (unknown fields, trailing data, oversized bodies
//     are 400/413); a JSON null body or invalid UTF-8 is a 400. MACs in bodies must look
//     like aa:bb:cc:dd:ee:ff.
//   - What reaches iPXE text is checked on input (the real BSS stores and emits it as is, so
//     a newline in a kernel URL adds script lines): kernel, initrd and hosts must hold no
//     control character or white space, params no control character and no word ||, && or
//     ; (iPXE command separators): 400 on PUT, POST and PATCH. A /bootscript mac, name or
//     arch with a control character or white space is a 400.
//   - PATCH and DELETE are all-or-nothing: every selected host, MAC and NID must have an
//     entry or nothing changes (PATCH 404, DELETE 400); the real BSS applies what it can.
//     A MAC or NID with no node entry also matches an entry stored under the MAC or nid<N>.
//     DELETE with nothing selected is a 400 (the real BSS answers 200); an image that
//     does not exist is nothing to remove (200, as real).
//   - GET /bootparameters by MAC or NID also finds entries stored under the MAC or nid<N>.
//   - A bad nid, retry or ts on /bootscript is a 400 (the real BSS ignores it).
//   - MACs from EthernetInterfaces are used even without an IP address; MACs are
//     normalized to lowercase colon form. A NID of 0 counts as "no NID".
//   - cloud-init is omitted from replies when empty; meta-data/user-data are omitted when
//     unset.
//   - /service/version reports Version; /service/etcd always reports "connected".
package bss
