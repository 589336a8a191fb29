package bss

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/topology"
)

// Inventory is BSS's view of HSM: every node with its NID, role, MACs and whether its
// ComponentEndpoint is enabled. BSS calls it at start, on POST /hosts and (rate limited) when
// a boot script request names a node it does not know.
type Inventory interface {
	Hosts(ctx context.Context) ([]bssapi.Host, error)
}

// StaticInventory is a fixed host list, for tests and for wiring BSS to a topology
// without an HSM.
type StaticInventory []bssapi.Host

// Hosts returns a copy of the list.
func (s StaticInventory) Hosts(context.Context) ([]bssapi.Host, error) {
	out := make([]bssapi.Host, len(s))
	for i, h := range s {
		h.MAC = append([]string(nil), h.MAC...)
		h.IPs = append([]string(nil), h.IPs...)
		out[i] = h
	}
	return out, nil
}

// FromTopology builds the inventory HSM would hold for t once discovery has run: every node
// with its NID, role, MAC, an FQDN of <xname>.hmn, and an enabled endpoint. Nodes marked
// Disabled are in HSM with Enabled=false; BSS does not look at that flag.
func FromTopology(t *topology.Topology) StaticInventory {
	out := make(StaticInventory, 0, len(t.Nodes))
	for _, n := range t.Nodes {
		enabled := !n.Disabled
		h := bssapi.Host{
			ID: n.Xname, Type: "Node", State: "Off", Flag: "OK", Enabled: &enabled,
			Role: n.Role, SubRole: n.SubRole, NID: n.NID, NetType: "Sling", Arch: n.Arch,
			Class: n.Class, FQDN: n.Xname + ".hmn", EndpointEnabled: true,
		}
		if n.MAC != "" {
			h.MAC = []string{normalizeMAC(n.MAC)}
		}
		out = append(out, h)
	}
	return out
}

// HTTPInventory reads HSM's real API the way BSS does: State/Components, then
// Inventory/ComponentEndpoints and Inventory/EthernetInterfaces, all with type=Node.
type HTTPInventory struct {
	base string
	hc   *http.Client
}

// NewHTTPInventory reads HSM at baseURL (scheme://host:port; "/hsm/v2" is added). A nil hc
// means http.DefaultClient.
func NewHTTPInventory(baseURL string, hc *http.Client) *HTTPInventory {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &HTTPInventory{base: strings.TrimRight(baseURL, "/") + "/hsm/v2", hc: hc}
}

// The parts of HSM's replies BSS reads (section 2.2 and 2.11 of the HSM reference).
type (
	hsmComponents struct {
		Components []bssapi.Host `json:"Components"`
	}
	hsmEndpoints struct {
		ComponentEndpoints []struct {
			ID                string `json:"ID"`
			FQDN              string `json:"FQDN"`
			MACAddr           string `json:"MACAddr"`
			Enabled           *bool  `json:"Enabled"`
			RedfishSystemInfo *struct {
				EthernetNICInfo []struct {
					MACAddress string `json:"MACAddress"`
				} `json:"EthernetNICInfo"`
			} `json:"RedfishSystemInfo"`
		} `json:"ComponentEndpoints"`
	}
	hsmEthernetInterface struct {
		MACAddress  string `json:"MACAddress"`
		ComponentID string `json:"ComponentID"`
		IPAddress   string `json:"IPAddress"` // HSM v1
		IPAddresses []struct {
			IPAddress string `json:"IPAddress"`
		} `json:"IPAddresses"` // HSM v2
	}
)

// Hosts fetches and joins the three HSM collections. Components without a
// ComponentEndpoint keep EndpointEnabled=false, which sends them down BSS's unknown-node path.
func (h *HTTPInventory) Hosts(ctx context.Context) ([]bssapi.Host, error) {
	var comps hsmComponents
	if err := h.get(ctx, "/State/Components?type=Node", &comps); err != nil {
		return nil, fmt.Errorf("read HSM components: %w", err)
	}
	var eps hsmEndpoints
	if err := h.get(ctx, "/Inventory/ComponentEndpoints?type=Node", &eps); err != nil {
		return nil, fmt.Errorf("read HSM component endpoints: %w", err)
	}
	var eths []hsmEthernetInterface
	if err := h.get(ctx, "/Inventory/EthernetInterfaces?type=Node", &eths); err != nil {
		return nil, fmt.Errorf("read HSM ethernet interfaces: %w", err)
	}

	hosts := make([]bssapi.Host, 0, len(comps.Components))
	index := make(map[string]int, len(comps.Components))
	for _, c := range comps.Components {
		if c.ID == "" || (c.Type != "" && c.Type != "Node") {
			continue
		}
		c.FQDN, c.MAC, c.EndpointEnabled = "", nil, false
		index[c.ID] = len(hosts)
		hosts = append(hosts, c)
	}
	for _, ep := range eps.ComponentEndpoints {
		i, ok := index[ep.ID]
		if !ok {
			continue
		}
		hosts[i].FQDN = ep.FQDN
		hosts[i].EndpointEnabled = ep.Enabled == nil || *ep.Enabled // absent means enabled
		addMAC(&hosts[i], ep.MACAddr)
		if ep.RedfishSystemInfo != nil {
			for _, nic := range ep.RedfishSystemInfo.EthernetNICInfo {
				addMAC(&hosts[i], nic.MACAddress)
			}
		}
	}
	for _, e := range eths {
		if i, ok := index[e.ComponentID]; ok {
			addMAC(&hosts[i], e.MACAddress)
			if e.IPAddress != "" {
				hosts[i].IPs = append(hosts[i].IPs, e.IPAddress)
			}
			for _, ip := range e.IPAddresses {
				if ip.IPAddress != "" {
					hosts[i].IPs = append(hosts[i].IPs, ip.IPAddress)
				}
			}
		}
	}
	sort.Slice(hosts, func(a, b int) bool { return hosts[a].ID < hosts[b].ID })
	return hosts, nil
}

func (h *HTTPInventory) get(ctx context.Context, path string, v any) error {
	_, err := problem.DoJSON(ctx, h.hc, http.MethodGet, h.base+path, nil, nil, v)
	return err
}

// addMAC appends mac to h.MAC in canonical form, skipping HSM's placeholders and duplicates.
func addMAC(h *bssapi.Host, mac string) {
	if mac == "" || strings.EqualFold(mac, "not available") || strings.EqualFold(mac, "ff:ff:ff:ff:ff:ff") {
		return
	}
	mac = normalizeMAC(mac)
	for _, m := range h.MAC {
		if m == mac {
			return
		}
	}
	h.MAC = append(h.MAC, mac)
}

// normalizeMAC returns mac lowercased with colons; HSM writes EthernetInterface MACs with
// or without separators ("a4bf0138ee65"). Unparseable strings are only lowercased.
func normalizeMAC(mac string) string {
	if hw, err := net.ParseMAC(mac); err == nil {
		return hw.String()
	}
	if len(mac) == 12 {
		var b strings.Builder
		for i := 0; i < 12; i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(mac[i : i+2])
		}
		if hw, err := net.ParseMAC(b.String()); err == nil {
			return hw.String()
		}
	}
	return strings.ToLower(mac)
}
