package bss

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/problem"
)

// The cloud-init datasource (the real BSS's cloudInitAPI.go). A node booted with
// ds=nocloud-net;s=<advertise>/ asks for <advertise>/meta-data and /user-data and posts
// /phone-home; BSS finds the caller by its IP address among HSM's EthernetInterfaces.

// globalKey holds cloud-init meta-data served to every node under "Global".
const globalKey = "Global"

// cloudNode is who is asking: the HSM node with the caller's IP (nil if none) and the data
// the real BSS's LookupByName gives it: its own entry, else its role's, else Default.
type cloudNode struct {
	host *bssapi.Host
	data bssapi.CloudInit
}

// findCaller resolves the request's IP to a node, refreshing HSM data once on a miss (rate
// limited) as the real BSS does, and copies the cloud-init data that applies to it.
func (s *Server) findCaller(r *http.Request) cloudNode {
	ip := callerIP(r)
	inv := s.inv.Load()
	h, ok := inv.byIPAddr(ip)
	if !ok && s.refreshOnMiss(r.Context()) {
		h, ok = s.inv.Load().byIPAddr(ip)
	}
	var c cloudNode
	name, role := "", ""
	if ok {
		c.host, name, role = h, h.ID, h.Role
	}
	s.mu.RLock()
	if e := s.store.entryFor(name, "", role); e != nil {
		c.data = cloneCloudInit(e.cloudInit)
	}
	s.mu.RUnlock()
	return c
}

// callerIP is the last X-Forwarded-For entry (the one the API gateway appends), else the
// connection's remote address without its port.
func callerIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		parts := strings.Split(xff, ",")
		return strings.TrimSpace(parts[len(parts)-1])
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// metaData is the node's meta-data with what BSS derives from HSM: a fresh instance-id and,
// unless set, local-hostname (the xname), shasta-type (Role) and shasta-role (SubRole). An
// unknown caller gets the Default entry's meta-data and a "default-" instance-id.
func (c cloudNode) metaData() map[string]any {
	md := c.data.MetaData
	if md == nil {
		md = map[string]any{}
	}
	if c.host == nil {
		md["instance-id"] = instanceID("default")
		return md
	}
	md["instance-id"] = instanceID(c.host.ID)
	for k, v := range map[string]string{"local-hostname": c.host.ID, "shasta-type": c.host.Role, "shasta-role": c.host.SubRole} {
		if md[k] == nil {
			md[k] = v
		}
	}
	return md
}

// roleData is the cloud-init data stored under the node's shasta-role meta-data value (the
// real BSS looks the role entry up by that key, which holds the SubRole unless overridden).
func (s *Server) roleData(md map[string]any) bssapi.CloudInit {
	role, _ := md["shasta-role"].(string)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e, ok := s.store.hosts[role]; ok && role != "" {
		return cloneCloudInit(e.cloudInit)
	}
	return bssapi.CloudInit{}
}

// instanceID is prefix-<12 lowercase hex digits>, random per request as in the real BSS.
func instanceID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(prefix + "-" + hex.EncodeToString(b))
}

// mergeMaps returns first overridden by second; nested maps present in both are merged,
// anything else in second wins. The inputs are not modified.
func mergeMaps(first, second map[string]any) map[string]any {
	out := make(map[string]any, len(first)+len(second))
	for k, v := range first {
		out[k] = v
	}
	for k, v := range second {
		fm, fok := out[k].(map[string]any)
		sm, sok := v.(map[string]any)
		if fok && sok {
			out[k] = mergeMaps(fm, sm)
		} else {
			out[k] = v
		}
	}
	return out
}

// lookupPath walks m along keys; false if a key is missing or a step is not a map. No
// keys is a miss, as in the real BSS ("?key=Global" alone is a 404).
func lookupPath(m map[string]any, keys []string) (any, bool) {
	if len(keys) == 0 {
		return nil, false
	}
	v, ok := m[keys[0]]
	if !ok || len(keys) == 1 {
		return v, ok
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	return lookupPath(sub, keys[1:])
}

func (s *Server) globalMetaData() map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e, ok := s.store.hosts[globalKey]; ok && len(e.cloudInit.MetaData) > 0 {
		return cloneMap(e.cloudInit.MetaData)
	}
	return map[string]any{}
}

// getMetaData serves GET /meta-data: the caller's meta-data over its role's, plus "Global";
// ?key=a.b.c answers one value (404 "Not Found" if absent). ?key=Global.x reads the global
// data without looking the caller up.
func (s *Server) getMetaData(w http.ResponseWriter, r *http.Request) {
	global := s.globalMetaData()
	var path []string
	if keys := r.URL.Query()["key"]; len(keys) > 0 {
		path = strings.Split(keys[0], ".")
	}
	if len(path) > 0 && path[0] == globalKey {
		writeLookup(w, global, path[1:])
		return
	}
	md := s.findCaller(r).metaData()
	merged := mergeMaps(s.roleData(md).MetaData, md)
	merged[globalKey] = global
	if path != nil {
		writeLookup(w, merged, path)
		return
	}
	writeJSON(w, http.StatusOK, merged)
}

func writeLookup(w http.ResponseWriter, m map[string]any, path []string) {
	v, ok := lookupPath(m, path)
	if !ok {
		problem.Write(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// getUserData serves GET /user-data: "#cloud-config" and the caller's user-data over its
// role's as YAML, with local-hostname from the meta-data unless set. The fetch is recorded
// in endpoint history (under "" for an unknown caller, as in the real BSS).
func (s *Server) getUserData(w http.ResponseWriter, r *http.Request) *problem.Details {
	c := s.findCaller(r)
	md := c.metaData()
	merged := mergeMaps(s.roleData(md).UserData, c.data.UserData)
	if merged["local-hostname"] == nil && md["local-hostname"] != nil {
		merged["local-hostname"] = md["local-hostname"]
	}
	var buf bytes.Buffer
	buf.WriteString("#cloud-config\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(merged); err != nil {
		return problem.New(http.StatusBadRequest, "Invalid YAML")
	}
	_ = enc.Close()
	w.Header().Set("Content-Type", "text/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	name := ""
	if c.host != nil {
		name = c.host.ID
	}
	s.histMu.Lock()
	s.history[historyKey{name, bssapi.EndpointUserData}] = s.now().Unix()
	s.histMu.Unlock()
	return nil
}

// postPhoneHome serves POST /phone-home: the body (JSON, unknown fields ignored) becomes the
// caller's phone-home data, which needs an entry of its own. The reply is the update made:
// {"hosts":[xname],"cloud-init":{...}}.
func (s *Server) postPhoneHome(w http.ResponseWriter, r *http.Request) *problem.Details {
	var ph bssapi.PhoneHome
	if err := json.NewDecoder(io.LimitReader(r.Body, s.maxBody)).Decode(&ph); err != nil {
		return problem.New(http.StatusBadRequest, "Bad Request")
	}
	c := s.findCaller(r)
	if c.host == nil {
		return problem.New(http.StatusNotFound, "XName not found for IP")
	}
	xname := c.host.ID
	s.mu.Lock()
	e, ok := s.store.hosts[xname]
	if !ok {
		s.mu.Unlock()
		return problem.New(http.StatusNotFound, "Not Found: Error looking up %s: Key /params/%s does not exist", xname, xname)
	}
	s.store.patch(&bssapi.BootParams{Hosts: []string{xname}, CloudInit: bssapi.CloudInit{PhoneHome: ph}}, []string{xname})
	reply := bssapi.BootParams{Hosts: []string{xname}, CloudInit: cloneCloudInit(e.cloudInit)}
	s.mu.Unlock()
	reply.CloudInit.PhoneHome = ph
	writeJSON(w, http.StatusOK, reply)
	return nil
}
