package hsmapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cray-bos/bos/internal/problem"
)

// Client speaks the HSM API (the real one or this simulator). Errors from the service
// are *problem.Details (wrapped with the call's name; use errors.As or
// problem.StatusOf).
type Client struct{ svc problem.Service }

// NewClient returns a client for the HSM at baseURL (scheme://host:port); it adds
// BasePath. A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{svc: problem.NewService(baseURL, BasePath, hc)}
}

// IDsPerRequest bounds the ids a client puts in one query string.
const IDsPerRequest = 100

// do sends one request (see problem.DoJSON).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	_, err := c.svc.Do(ctx, method, path, q, in, out)
	return err
}

// ComponentFilter selects components. Lists are OR-ed within a field and AND-ed
// across fields; a value may be negated with a leading "!" (not Group, Partition).
type ComponentFilter struct {
	ID, Type, State, Flag, Role, SubRole, Arch, Class []string
	SoftwareStatus, Subtype                           []string
	NID, NIDStart, NIDEnd                             []string
	Group, Partition                                  []string // "NULL": in none
	Enabled, Locked, ReservationDisabled              *bool
	// At most one of these trims the reply to ID, Type and the named fields.
	StateOnly, FlagOnly, RoleOnly, NIDOnly bool
}

// values renders f as HSM query keys.
func (f ComponentFilter) values() url.Values {
	q := url.Values{}
	for key, vals := range map[string][]string{"id": f.ID, "type": f.Type, "state": f.State, "flag": f.Flag,
		"role": f.Role, "subrole": f.SubRole, "arch": f.Arch, "class": f.Class, "softwarestatus": f.SoftwareStatus,
		"subtype": f.Subtype, "nid": f.NID, "nid_start": f.NIDStart, "nid_end": f.NIDEnd, "group": f.Group,
		"partition": f.Partition} {
		if len(vals) > 0 {
			q[key] = vals
		}
	}
	for key, b := range map[string]*bool{"enabled": f.Enabled, "locked": f.Locked, "reservation_disabled": f.ReservationDisabled} {
		if b != nil {
			q.Set(key, strconv.FormatBool(*b))
		}
	}
	for key, on := range map[string]bool{"stateonly": f.StateOnly, "flagonly": f.FlagOnly, "roleonly": f.RoleOnly, "nidonly": f.NIDOnly} {
		if on {
			q.Set(key, "true")
		}
	}
	return q
}

// body renders f as the filter part of a Query body.
func (f ComponentFilter) body() map[string]any {
	m := map[string]any{}
	for key, vals := range f.values() {
		switch key {
		case "stateonly", "flagonly", "roleonly", "nidonly":
			m[key] = true
		default:
			m[key] = vals
		}
	}
	return m
}

// Ready checks GET /service/ready.
func (c *Client) Ready(ctx context.Context) error {
	if err := c.do(ctx, http.MethodGet, "/service/ready", nil, nil, nil); err != nil {
		return fmt.Errorf("hsm: ready: %w", err)
	}
	return nil
}

// GetComponents lists components (GET /State/Components).
func (c *Client) GetComponents(ctx context.Context, f ComponentFilter) ([]Component, error) {
	var out ComponentArray
	if err := c.do(ctx, http.MethodGet, "/State/Components", f.values(), nil, &out); err != nil {
		return nil, fmt.Errorf("hsm: get components: %w", err)
	}
	return out.Components, nil
}

// GetComponent reads one component.
func (c *Client) GetComponent(ctx context.Context, id string) (Component, error) {
	var out Component
	if err := c.do(ctx, http.MethodGet, "/State/Components/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return Component{}, fmt.Errorf("hsm: get component %s: %w", id, err)
	}
	return out, nil
}

// QueryComponents is POST /State/Components/Query: the components among ids (or,
// with a Type filter, their descendants of that type) that pass f.
func (c *Client) QueryComponents(ctx context.Context, ids []string, f ComponentFilter) ([]Component, error) {
	body := f.body()
	body["ComponentIDs"] = ids
	var out ComponentArray
	if err := c.do(ctx, http.MethodPost, "/State/Components/Query", nil, body, &out); err != nil {
		return nil, fmt.Errorf("hsm: query components: %w", err)
	}
	return out.Components, nil
}

// CreateComponents upserts components (POST /State/Components).
func (c *Client) CreateComponents(ctx context.Context, comps []Component, force bool) error {
	body := struct {
		Components []Component `json:"Components"`
		Force      bool        `json:"Force,omitempty"`
	}{comps, force}
	if err := c.do(ctx, http.MethodPost, "/State/Components", nil, body, nil); err != nil {
		return fmt.Errorf("hsm: create components: %w", err)
	}
	return nil
}

// DeleteComponent deletes one component.
func (c *Client) DeleteComponent(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodDelete, "/State/Components/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return fmt.Errorf("hsm: delete component %s: %w", id, err)
	}
	return nil
}

// SetState is BulkStateData: State (and Flag, default OK) for ids, subject to the
// transition rule unless force.
func (c *Client) SetState(ctx context.Context, ids []string, state, flag string, force bool) error {
	body := struct {
		ComponentIDs []string `json:"ComponentIDs"`
		State        string   `json:"State"`
		Flag         string   `json:"Flag,omitempty"`
		Force        bool     `json:"Force,omitempty"`
	}{ids, state, flag, force}
	if err := c.do(ctx, http.MethodPatch, "/State/Components/BulkStateData", nil, body, nil); err != nil {
		return fmt.Errorf("hsm: set state %s: %w", state, err)
	}
	return nil
}

// SetEnabled is BulkEnabled.
func (c *Client) SetEnabled(ctx context.Context, ids []string, enabled bool) error {
	body := struct {
		ComponentIDs []string `json:"ComponentIDs"`
		Enabled      bool     `json:"Enabled"`
	}{ids, enabled}
	if err := c.do(ctx, http.MethodPatch, "/State/Components/BulkEnabled", nil, body, nil); err != nil {
		return fmt.Errorf("hsm: set enabled: %w", err)
	}
	return nil
}

// Groups lists every group.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var out []Group
	if err := c.do(ctx, http.MethodGet, "/groups", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("hsm: get groups: %w", err)
	}
	return out, nil
}

// Group reads one group.
func (c *Client) Group(ctx context.Context, label string) (Group, error) {
	var out Group
	if err := c.do(ctx, http.MethodGet, "/groups/"+url.PathEscape(label), nil, nil, &out); err != nil {
		return Group{}, fmt.Errorf("hsm: get group %s: %w", label, err)
	}
	return out, nil
}

// CreateGroup creates g (409 if the label exists or an exclusive group clashes).
func (c *Client) CreateGroup(ctx context.Context, g Group) error {
	if g.Members.IDs == nil {
		g.Members.IDs = []string{}
	}
	if err := c.do(ctx, http.MethodPost, "/groups", nil, g, nil); err != nil {
		return fmt.Errorf("hsm: create group %s: %w", g.Label, err)
	}
	return nil
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, label string) error {
	if err := c.do(ctx, http.MethodDelete, "/groups/"+url.PathEscape(label), nil, nil, nil); err != nil {
		return fmt.Errorf("hsm: delete group %s: %w", label, err)
	}
	return nil
}

// GroupMembers lists a group's members (GET /groups/{label}/members).
func (c *Client) GroupMembers(ctx context.Context, label string) (Members, error) {
	var out Members
	if err := c.do(ctx, http.MethodGet, "/groups/"+url.PathEscape(label)+"/members", nil, nil, &out); err != nil {
		return Members{}, fmt.Errorf("hsm: get members of group %s: %w", label, err)
	}
	if out.IDs == nil {
		out.IDs = []string{}
	}
	return out, nil
}

// AddGroupMember adds component id to a group.
func (c *Client) AddGroupMember(ctx context.Context, label, id string) error {
	body := MemberID{ID: id}
	if err := c.do(ctx, http.MethodPost, "/groups/"+url.PathEscape(label)+"/members", nil, body, nil); err != nil {
		return fmt.Errorf("hsm: add %s to group %s: %w", id, label, err)
	}
	return nil
}

// RemoveGroupMember removes component id from a group.
func (c *Client) RemoveGroupMember(ctx context.Context, label, id string) error {
	path := "/groups/" + url.PathEscape(label) + "/members/" + url.PathEscape(id)
	if err := c.do(ctx, http.MethodDelete, path, nil, nil, nil); err != nil {
		return fmt.Errorf("hsm: remove %s from group %s: %w", id, label, err)
	}
	return nil
}

// Partitions lists every partition.
func (c *Client) Partitions(ctx context.Context) ([]Partition, error) {
	var out []Partition
	if err := c.do(ctx, http.MethodGet, "/partitions", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("hsm: get partitions: %w", err)
	}
	return out, nil
}

// Memberships lists the groups and partition of each component passing f.
func (c *Client) Memberships(ctx context.Context, f ComponentFilter) ([]Membership, error) {
	var out []Membership
	if err := c.do(ctx, http.MethodGet, "/memberships", f.values(), nil, &out); err != nil {
		return nil, fmt.Errorf("hsm: get memberships: %w", err)
	}
	return out, nil
}

// LockedNodes returns the xnames of admin-locked nodes, as BOS asks for them
// (GET /locks/status?type=Node&locked=True).
func (c *Client) LockedNodes(ctx context.Context) ([]string, error) {
	var out LockStatusResult
	q := url.Values{"type": {"Node"}, "locked": {"True"}}
	if err := c.do(ctx, http.MethodGet, "/locks/status", q, nil, &out); err != nil {
		if noneMatched(err) {
			return []string{}, nil
		}
		return nil, fmt.Errorf("hsm: locked nodes: %w", err)
	}
	ids := make([]string, len(out.Components))
	for i, s := range out.Components {
		ids[i] = s.ID
	}
	return ids, nil
}

// msgNotFound is HSM's 400 detail for a lock request that matched no component.
const msgNotFound = "Component not found"

// noneMatched reports whether err is HSM's answer to a lock request that matched no
// component: 400 "Component not found".
func noneMatched(err error) bool {
	var d *problem.Details
	return errors.As(err, &d) && d.Status == http.StatusBadRequest && d.Detail == msgNotFound
}

// LockStatus is POST /locks/status.
func (c *Client) LockStatus(ctx context.Context, req LockRequest) (LockStatusResult, error) {
	var out LockStatusResult
	if err := c.do(ctx, http.MethodPost, "/locks/status", nil, req, &out); err != nil {
		return LockStatusResult{}, fmt.Errorf("hsm: lock status: %w", err)
	}
	return out, nil
}

func (c *Client) lockOp(ctx context.Context, op string, req LockRequest) (LockUpdateResult, error) {
	var out LockUpdateResult
	if err := c.do(ctx, http.MethodPost, "/locks/"+op, nil, req, &out); err != nil {
		return LockUpdateResult{}, fmt.Errorf("hsm: locks %s: %w", op, err)
	}
	return out, nil
}

// Lock admin-locks the components of req.
func (c *Client) Lock(ctx context.Context, req LockRequest) (LockUpdateResult, error) {
	return c.lockOp(ctx, "lock", req)
}

// Unlock removes admin locks.
func (c *Client) Unlock(ctx context.Context, req LockRequest) (LockUpdateResult, error) {
	return c.lockOp(ctx, "unlock", req)
}

// DisableReservations releases and disables reservations (POST /locks/disable).
func (c *Client) DisableReservations(ctx context.Context, req LockRequest) (LockUpdateResult, error) {
	return c.lockOp(ctx, "disable", req)
}

// RepairReservations re-enables reservations (POST /locks/repair).
func (c *Client) RepairReservations(ctx context.Context, req LockRequest) (LockUpdateResult, error) {
	return c.lockOp(ctx, "repair", req)
}

// Reserve creates service reservations of req.ReservationDuration minutes (1..15), as
// PCS does before a power transition.
func (c *Client) Reserve(ctx context.Context, req LockRequest) (ReservationResult, error) {
	var out ReservationResult
	if err := c.do(ctx, http.MethodPost, "/locks/service/reservations", nil, req, &out); err != nil {
		return ReservationResult{}, fmt.Errorf("hsm: reserve: %w", err)
	}
	return out, nil
}

// ReleaseReservations releases service reservations by reservation key.
func (c *Client) ReleaseReservations(ctx context.Context, keys []ReservationKey, model string) (LockUpdateResult, error) {
	var out LockUpdateResult
	body := ReservationKeysRequest{ReservationKeys: keys, ProcessingModel: model}
	if err := c.do(ctx, http.MethodPost, "/locks/service/reservations/release", nil, body, &out); err != nil {
		return LockUpdateResult{}, fmt.Errorf("hsm: release reservations: %w", err)
	}
	return out, nil
}

// RenewReservations extends service reservations to minutes from now.
func (c *Client) RenewReservations(ctx context.Context, keys []ReservationKey, minutes int, model string) (LockUpdateResult, error) {
	var out LockUpdateResult
	body := ReservationKeysRequest{ReservationKeys: keys, ProcessingModel: model, ReservationDuration: minutes}
	if err := c.do(ctx, http.MethodPost, "/locks/service/reservations/renew", nil, body, &out); err != nil {
		return LockUpdateResult{}, fmt.Errorf("hsm: renew reservations: %w", err)
	}
	return out, nil
}

// CheckReservations reports which deputy keys name live reservations.
func (c *Client) CheckReservations(ctx context.Context, deputyKeys []ReservationKey) (ReservationResult, error) {
	var out ReservationResult
	body := DeputyKeysRequest{DeputyKeys: deputyKeys}
	if err := c.do(ctx, http.MethodPost, "/locks/service/reservations/check", nil, body, &out); err != nil {
		return ReservationResult{}, fmt.Errorf("hsm: check reservations: %w", err)
	}
	return out, nil
}

// EndpointFilter selects ComponentEndpoints.
type EndpointFilter struct {
	ID          []string // component xnames; sent IDsPerRequest at a time
	RedfishEP   []string // BMC xnames
	Type        []string // HMS types, e.g. Node
	RedfishType []string // ComputerSystem, Manager...
}

// ComponentEndpoints lists ComponentEndpoints: how to reach each component's Redfish
// resource through its BMC. Long id lists are split over several requests.
func (c *Client) ComponentEndpoints(ctx context.Context, f EndpointFilter) ([]ComponentEndpoint, error) {
	q := url.Values{}
	for key, vals := range map[string][]string{"redfish_ep": f.RedfishEP, "type": f.Type, "redfish_type": f.RedfishType} {
		if len(vals) > 0 {
			q[key] = vals
		}
	}
	chunks := [][]string{nil}
	if len(f.ID) > 0 {
		chunks = chunks[:0]
		for i := 0; i < len(f.ID); i += IDsPerRequest {
			chunks = append(chunks, f.ID[i:min(i+IDsPerRequest, len(f.ID))])
		}
	}
	var all []ComponentEndpoint
	for _, ids := range chunks {
		if ids != nil {
			q["id"] = ids
		}
		var out ComponentEndpointArray
		if err := c.do(ctx, http.MethodGet, "/Inventory/ComponentEndpoints", q, nil, &out); err != nil {
			return nil, fmt.Errorf("hsm: get component endpoints: %w", err)
		}
		all = append(all, out.ComponentEndpoints...)
	}
	return all, nil
}

// RedfishEndpoints lists the BMCs HSM knows.
func (c *Client) RedfishEndpoints(ctx context.Context) ([]RedfishEndpoint, error) {
	var out RedfishEndpointArray
	if err := c.do(ctx, http.MethodGet, "/Inventory/RedfishEndpoints", nil, nil, &out); err != nil {
		return nil, fmt.Errorf("hsm: get redfish endpoints: %w", err)
	}
	return out.RedfishEndpoints, nil
}

// RedfishEndpointUpdate is a PATCH of a RedfishEndpoint: where the BMC listens and how to
// log in to it; empty fields are left as they are.
type RedfishEndpointUpdate struct {
	FQDN     string `json:"FQDN,omitempty"`
	User     string `json:"User,omitempty"`
	Password string `json:"Password,omitempty"`
	// RediscoverOnUpdate, when set, replaces the endpoint's: false spares this and later
	// updates a rediscovery.
	RediscoverOnUpdate *bool `json:"RediscoverOnUpdate,omitempty"`
}

// PatchRedfishEndpoint updates a BMC HSM knows (PATCH /Inventory/RedfishEndpoints/{xname});
// HSM rediscovers it when its RediscoverOnUpdate is set.
func (c *Client) PatchRedfishEndpoint(ctx context.Context, id string, u RedfishEndpointUpdate) error {
	if err := c.do(ctx, http.MethodPatch, "/Inventory/RedfishEndpoints/"+url.PathEscape(id), nil, u, nil); err != nil {
		return fmt.Errorf("hsm: patch redfish endpoint %s: %w", id, err)
	}
	return nil
}

// EthernetInterfaces lists interfaces, optionally of one component type ("" for all).
func (c *Client) EthernetInterfaces(ctx context.Context, typ string) ([]EthernetInterface, error) {
	q := url.Values{}
	if typ != "" {
		q.Set("type", typ)
	}
	var out []EthernetInterface
	if err := c.do(ctx, http.MethodGet, "/Inventory/EthernetInterfaces", q, nil, &out); err != nil {
		return nil, fmt.Errorf("hsm: get ethernet interfaces: %w", err)
	}
	return out, nil
}

// PostRedfishEvent delivers a BMC's Redfish event (the simulator's stand-in for
// hmcollector and Kafka; not part of the real API).
func (c *Client) PostRedfishEvent(ctx context.Context, ev RedfishEvent) (EventResult, error) {
	var out EventResult
	if err := c.do(ctx, http.MethodPost, "/RedfishEvents", nil, ev, &out); err != nil {
		return EventResult{}, fmt.Errorf("hsm: post redfish event: %w", err)
	}
	return out, nil
}
