package simulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// EventService: subscriptions per BMC, and ResourcePowerStateChanged events delivered by
// a pool shared by the whole simulator. A change's events are queued as it is made, under
// the BMC lock, into the subscription's outbox, and the events of one BMC always go
// through the same single-worker shard, so a subscriber sees a system's changes in the
// order they happened. Each delivery POSTs every event its subscription's outbox holds
// then (at most maxEventsPerPost) as the records of one Event, as the DMTF Event schema
// allows: the transitions of one reset, or of several nodes of the BMC, cost one POST per
// subscriber. Delivery never blocks the BMC: a full shard queue or outbox drops the event
// (Stats.EventsDropped).

// eventTypes are the EventTypes a subscription may name. The property is deprecated
// (subscriptions filter on RegistryPrefixes since Redfish 1.6), so the BMC accepts it from
// clients that still send it (hmcollector) but never emits it.
var eventTypes = []string{"StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved", "Alert"}

// eventRetries is DeliveryRetryAttempts: a failed POST is retried this many times,
// Timing.ReportBackoff apart, then the event is given up and, under the subscription's
// DeliveryRetryPolicy TerminateAfterRetries, the subscription is deleted.
const eventRetries = 3

// maxEventsPerPost bounds the records of one Event a BMC POSTs; maxCollectedPerPost
// those of one POST of a collected subscription (Subscription.Collect), which carries
// the events of many BMCs.
const (
	maxEventsPerPost    = 64
	maxCollectedPerPost = 256
)

// Delivery retry policies (EventDestination.DeliveryRetryPolicy). SuspendRetries is
// refused: a suspended subscription could only be resumed by recreating it here.
const (
	policyTerminate        = "TerminateAfterRetries"
	policyRetryForever     = "RetryForever"
	policyRetryWithBackoff = "RetryForeverWithBackoff"
)

// subscription is an EventDestination. It is immutable: a PATCH replaces it (sharing
// gone, so events queued for the old copy see a delete too).
type subscription struct {
	id               string
	odataID          string
	destination      string
	context          string
	eventTypes       []string
	registryPrefixes []string
	headers          [][2]string // HttpHeaders: sent with every event POST, never read back
	policy           string      // DeliveryRetryPolicy
	bmc              *bmc
	gone             *atomic.Bool // deleted or terminated: queued events are not sent
	outbox           *outbox      // events waiting for the shard; a PATCHed copy gets its own
}

// outbox holds a subscription's events until its shard delivers them. A delivery is
// scheduled on the shard when the first event arrives; it takes what is there when it
// runs, so events queued meanwhile ride along in the same POST.
//
// A collected subscription's outbox (Subscription.Collect) is one for every BMC: its
// records carry their BMC's subscription (for its Context and whether it was deleted),
// and it is always delivered on the same shard, so a BMC's events still leave in order.
type outbox struct {
	pending[eventRecord]

	collected bool
	local     func([]EventRecord) bool // Subscription.Local of a collected outbox
	shard     int                      // the event shard of a collected outbox
	limit     int                      // the events it holds at most (0: Config.EventQueue)
}

// collectedOutbox is the outbox every BMC's copy of Config.Subscriptions[i] shares when
// it is collected. It holds up to EventQueue events and four per node (a boot storm's
// changes, all waiting for one POST at a time), and is delivered on the shard of i.
func (s *Simulator) collectedOutbox(i int) *outbox {
	if s.collected == nil {
		s.collected = map[int]*outbox{}
	}
	if box := s.collected[i]; box != nil {
		return box
	}
	box := &outbox{collected: true, local: s.cfg.Subscriptions[i].Local, shard: i, limit: s.cfg.EventQueue + 4*len(s.cfg.Topology.Nodes)}
	s.collected[i] = box
	return box
}

func newSubscription(b *bmc, seq uint64, dest, ctx string, types, prefixes []string) *subscription {
	id := strconv.FormatUint(seq, 10)
	return &subscription{id: id, odataID: "/redfish/v1/EventService/Subscriptions/" + id,
		destination: strings.ReplaceAll(dest, "{bmc}", b.xname), context: ctx,
		eventTypes: types, registryPrefixes: prefixes, policy: policyRetryForever, bmc: b, gone: new(atomic.Bool), outbox: &outbox{}}
}

// wantsPower: power events are EventType Alert (as CSM's BMCs send them, StatusChange
// accepted too) from registry ResourceEvent; empty filters take everything.
func (sub *subscription) wantsPower() bool {
	if len(sub.eventTypes) > 0 && !slices.Contains(sub.eventTypes, "Alert") && !slices.Contains(sub.eventTypes, "StatusChange") {
		return false
	}
	if len(sub.registryPrefixes) > 0 && !slices.Contains(sub.registryPrefixes, "ResourceEvent") {
		return false
	}
	return true
}

// eventRecord is one subscriber's copy of an event: what the copies of one change share
// (its eventFields, and their JSON once encoded) is behind a pointer, so an outbox holds
// 64 bytes an event, not 200.
type eventRecord struct {
	MemberID string `json:"MemberId"`
	EventID  string `json:"EventId"`
	*eventFields
	// Context names the BMC in a collected POST (Subscription.Collect), whose Event has none.
	Context string `json:"Context,omitempty"`

	sub *subscription // of a collected outbox: whose record it is
}

type eventBody struct {
	ODataType string        `json:"@odata.type"`
	ID        string        `json:"Id"`
	Name      string        `json:"Name"`
	Context   string        `json:"Context"`
	Events    []eventRecord `json:"Events"`
}

// queueEvents hands one power change of n to the shards of the subscribers that want it,
// without blocking: one record, encoded once, for all of them. Called with n's BMC lock
// held, so a BMC's events are queued in the order of its changes.
func (s *Simulator) queueEvents(n *node, st PowerState, at time.Time) {
	var rec eventRecord
	for _, sub := range n.bmc.subs {
		if !sub.wantsPower() {
			continue
		}
		if rec.eventFields == nil {
			uri := "/redfish/v1/Systems/" + n.systemID
			state := st.String()
			rec = withFields(eventRecord{eventFields: &eventFields{
				EventTimestamp: at.UTC().Format(time.RFC3339), EventType: "Alert", MessageSeverity: "OK",
				Message:     "The power state of resource " + uri + " has changed to type " + state + ".",
				MessageID:   "ResourceEvent.1.0.ResourcePowerStateChanged",
				MessageArgs: []string{uri, state}, OriginOfCondition: odataRef{uri},
			}})
		}
		s.queueRecord(sub, rec)
	}
}

// queueRecord puts one event in the subscriber's outbox and, if no delivery is scheduled,
// schedules one on the subscriber's shard, without blocking. An outbox holding
// Config.EventQueue events, or a full shard, drops the event.
func (s *Simulator) queueRecord(sub *subscription, rec eventRecord) {
	box := sub.outbox
	shard := s.events[sub.bmc.index%len(s.events)]
	if box.collected {
		rec.sub, rec.Context = sub, sub.context
		shard = s.events[box.shard%len(s.events)]
	}
	if !box.add(rec, cmp.Or(box.limit, s.cfg.EventQueue), func() bool { return shard.trySubmit(func() { s.deliverOutbox(sub) }) }) {
		s.stats.eventsDropped.Add(1)
		return
	}
	s.stats.eventsQueued.Add(1)
}

// deliverOutbox POSTs what sub's outbox holds, maxEventsPerPost events a POST (a
// collected outbox: maxCollectedPerPost, those of deleted subscriptions left out).
func (s *Simulator) deliverOutbox(sub *subscription) {
	box := sub.outbox
	events := box.take()
	per := maxEventsPerPost
	if box.collected {
		per = maxCollectedPerPost
		events = slices.DeleteFunc(events, func(e eventRecord) bool { return e.sub.gone.Load() })
	}
	for len(events) > 0 {
		n := min(len(events), per)
		s.deliver(sub, events[:n])
		events = events[n:]
	}
}

// deliver POSTs events as one Event, retrying a few times; a subscription whose policy
// is TerminateAfterRetries is deleted when the POST is given up.
func (s *Simulator) deliver(sub *subscription, events []eventRecord) {
	collected := sub.outbox.collected // events of many BMCs' subscriptions: sub is only the first's
	gone := func() bool { return !collected && sub.gone.Load() }
	if gone() {
		return
	}
	if local := sub.outbox.local; local != nil && deliverLocal(local, events) {
		s.stats.eventPosts.Add(1)
		s.stats.eventsDelivered.Add(int64(len(events)))
		return
	}
	id := strconv.FormatUint(s.eventSeq.Add(1), 10)
	eventIDs(id, events)
	evCtx := sub.context
	if collected {
		evCtx = "" // each record names its BMC
	}
	body := appendEventBody(make([]byte, 0, 128+len(events)*(len(events[0].raw)+96)), id, evCtx, events)
	n := int64(len(events))
	for attempt := 0; ; attempt++ {
		status, err := s.send(s.ctx, http.MethodPost, sub.destination, body, sub.headers)
		s.stats.eventPosts.Add(1)
		if err == nil && status/100 == 2 {
			s.stats.eventsDelivered.Add(n)
			return
		}
		if attempt == eventRetries || s.ctx.Err() != nil || gone() {
			s.stats.eventsFailed.Add(n)
			s.log.Debug("event delivery failed", "bmc", sub.bmc.xname, "destination", sub.destination, "status", status, "err", err)
			if sub.policy == policyTerminate && s.ctx.Err() == nil {
				s.terminate(sub)
			}
			return
		}
		t := time.NewTimer(s.timing.ReportBackoff)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
}

// deliverLocal hands events to a collected subscription's Local.
func deliverLocal(local func([]EventRecord) bool, events []eventRecord) bool {
	recs := make([]EventRecord, len(events))
	for i, e := range events {
		recs[i] = EventRecord{Context: e.Context, MessageID: e.MessageID, MessageArgs: e.MessageArgs, OriginOfCondition: e.OriginOfCondition.ID}
	}
	return local(recs)
}

// terminate deletes sub after its deliveries failed (DeliveryRetryPolicy
// TerminateAfterRetries), as a BMC does with a subscriber that went away.
func (s *Simulator) terminate(sub *subscription) {
	b := sub.bmc
	b.mu.Lock()
	i, cur := b.subscription(sub.id)
	if cur != nil {
		b.subs = slices.Delete(slices.Clone(b.subs), i, i+1)
		cur.gone.Store(true)
	}
	b.mu.Unlock()
	if cur != nil {
		s.stats.subscriptionsTerminated.Add(1)
		s.log.Info("event subscription terminated after failed deliveries", "bmc", b.xname, "subscription", sub.id, "destination", sub.destination)
	}
}

// parseHeaders reads HttpHeaders: the schema's array of {name: value} objects, or one
// object (as gofish sends it). Names must match the schema's ^[^:\s]+$.
func parseHeaders(raw json.RawMessage) ([][2]string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var objs []map[string]string
	if err := json.Unmarshal(raw, &objs); err != nil {
		var one map[string]string
		if json.Unmarshal(raw, &one) != nil {
			return nil, false
		}
		objs = []map[string]string{one}
	}
	var out [][2]string
	for _, o := range objs {
		names := make([]string, 0, len(o))
		for k := range o {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			if k == "" || strings.ContainsAny(k, ": \t\r\n") || strings.ContainsAny(o[k], "\r\n") {
				return nil, false
			}
			out = append(out, [2]string{k, o[k]})
		}
	}
	return out, true
}

func checkDestination(dest string) error {
	u, err := url.Parse(dest)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("Destination must be an absolute http or https URL")
	}
	return nil
}

// --- HTTP ---

type eventServiceJSON struct {
	ODataID                      string         `json:"@odata.id"`
	ODataType                    string         `json:"@odata.type"`
	ID                           string         `json:"Id"`
	Name                         string         `json:"Name"`
	ServiceEnabled               bool           `json:"ServiceEnabled"`
	Status                       statusJSON     `json:"Status"`
	DeliveryRetryAttempts        int            `json:"DeliveryRetryAttempts"`
	DeliveryRetryIntervalSeconds int            `json:"DeliveryRetryIntervalSeconds"`
	RegistryPrefixes             []string       `json:"RegistryPrefixes"`
	Subscriptions                odataRef       `json:"Subscriptions"`
	Actions                      map[string]any `json:"Actions"`
}

func (s *Simulator) getEventService(w http.ResponseWriter, r *http.Request, b *bmc) {
	writeJSON(w, http.StatusOK, eventServiceJSON{
		ODataID: "/redfish/v1/EventService", ODataType: "#EventService.v1_12_0.EventService",
		ID: "EventService", Name: "Event Service", ServiceEnabled: true, Status: statusJSON{"Enabled", "OK"},
		DeliveryRetryAttempts: eventRetries, DeliveryRetryIntervalSeconds: max(1, int(s.timing.ReportBackoff/time.Second)),
		RegistryPrefixes: []string{"Base", "ResourceEvent"},
		Subscriptions:    odataRef{"/redfish/v1/EventService/Subscriptions"},
		Actions: map[string]any{"#EventService.SubmitTestEvent": map[string]string{
			"target": "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent"}},
	})
}

type subscriptionJSON struct {
	ODataID             string   `json:"@odata.id"`
	ODataType           string   `json:"@odata.type"`
	ID                  string   `json:"Id"`
	Name                string   `json:"Name"`
	Destination         string   `json:"Destination"`
	Context             string   `json:"Context"`
	Protocol            string   `json:"Protocol"`
	SubscriptionType    string   `json:"SubscriptionType"`
	RegistryPrefixes    []string `json:"RegistryPrefixes"`
	HTTPHeaders         []any    `json:"HttpHeaders"` // always empty on reads (the schema's rule)
	DeliveryRetryPolicy string   `json:"DeliveryRetryPolicy"`
}

func (sub *subscription) json() subscriptionJSON {
	return subscriptionJSON{ODataID: sub.odataID, ODataType: "#EventDestination.v1_16_0.EventDestination",
		ID: sub.id, Name: "Event Subscription " + sub.id, Destination: sub.destination, Context: sub.context,
		Protocol: "Redfish", SubscriptionType: "RedfishEvent",
		RegistryPrefixes: orEmpty(sub.registryPrefixes),
		HTTPHeaders:      []any{}, DeliveryRetryPolicy: sub.policy}
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Simulator) getSubscriptions(w http.ResponseWriter, r *http.Request, b *bmc) {
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	members := make([]odataRef, len(subs))
	for i, sub := range subs {
		members[i] = odataRef{sub.odataID}
	}
	writeJSON(w, http.StatusOK, collection("/redfish/v1/EventService/Subscriptions",
		"#EventDestinationCollection.EventDestinationCollection", "Event Subscriptions Collection", members))
}

func (b *bmc) subscription(id string) (int, *subscription) {
	for i, sub := range b.subs {
		if sub.id == id {
			return i, sub
		}
	}
	return -1, nil
}

func (s *Simulator) getSubscription(w http.ResponseWriter, r *http.Request, b *bmc) {
	b.mu.Lock()
	_, sub := b.subscription(r.PathValue("id"))
	b.mu.Unlock()
	if sub == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "EventDestination", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, sub.json())
}

// postSubscription creates a subscription: Destination required, Protocol Redfish,
// EventTypes from EventTypesForSubscription, HttpHeaders sent with every event,
// DeliveryRetryPolicy TerminateAfterRetries (the default, as bmcweb's), RetryForever or
// RetryForeverWithBackoff. 201 + Location + the resource.
func (s *Simulator) postSubscription(w http.ResponseWriter, r *http.Request, b *bmc) {
	var body struct {
		Destination         *string         `json:"Destination"`
		Context             string          `json:"Context"`
		Protocol            string          `json:"Protocol"`
		EventTypes          []string        `json:"EventTypes"`
		RegistryPrefixes    []string        `json:"RegistryPrefixes"`
		DeliveryRetryPolicy string          `json:"DeliveryRetryPolicy"`
		HTTPHeaders         json.RawMessage `json:"HttpHeaders"` // gofish sends an object, the schema an array
		// Accepted and ignored, as many BMCs do.
		SubscriptionType string            `json:"SubscriptionType"`
		MessageIDs       []string          `json:"MessageIds"`
		ResourceTypes    []string          `json:"ResourceTypes"`
		OriginResources  []json.RawMessage `json:"OriginResources"`
		Name             string            `json:"Name"`
		Oem              json.RawMessage   `json:"Oem"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	switch {
	case body.Destination == nil:
		writeError(w, http.StatusBadRequest, msgPropertyMissing, "Destination")
		return
	case checkDestination(*body.Destination) != nil:
		writeError(w, http.StatusBadRequest, msgPropertyValueFormatError, *body.Destination, "Destination")
		return
	case body.Protocol != "" && body.Protocol != "Redfish":
		writeError(w, http.StatusBadRequest, msgPropertyValueNotInList, body.Protocol, "Protocol")
		return
	}
	for _, t := range body.EventTypes {
		if !slices.Contains(eventTypes, t) {
			writeError(w, http.StatusBadRequest, msgPropertyValueNotInList, t, "EventTypes")
			return
		}
	}
	policy := body.DeliveryRetryPolicy
	switch policy {
	case "":
		policy = policyTerminate
	case policyTerminate, policyRetryForever, policyRetryWithBackoff:
	default:
		writeError(w, http.StatusBadRequest, msgPropertyValueNotInList, policy, "DeliveryRetryPolicy")
		return
	}
	headers, ok := parseHeaders(body.HTTPHeaders)
	if !ok {
		writeError(w, http.StatusBadRequest, msgPropertyValueFormatError, "(redacted)", "HttpHeaders")
		return
	}
	b.mu.Lock()
	b.nextSub++
	sub := newSubscription(b, b.nextSub, *body.Destination, body.Context, body.EventTypes, body.RegistryPrefixes)
	sub.headers, sub.policy = headers, policy
	b.subs = append(slices.Clip(b.subs), sub)
	b.mu.Unlock()
	w.Header().Set("Location", sub.odataID)
	writeJSON(w, http.StatusCreated, sub.json())
}

// patchSubscription changes Context (what hmcollector PATCHes); other properties are read-only.
func (s *Simulator) patchSubscription(w http.ResponseWriter, r *http.Request, b *bmc) {
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return
	}
	var newCtx *string
	for k, v := range body {
		if k != "Context" {
			writeError(w, http.StatusBadRequest, msgPropertyNotWritable, k)
			return
		}
		var c string
		if err := json.Unmarshal(v, &c); err != nil {
			writeError(w, http.StatusBadRequest, msgPropertyValueTypeError, string(v), "Context")
			return
		}
		newCtx = &c
	}
	b.mu.Lock()
	i, sub := b.subscription(r.PathValue("id"))
	if sub != nil && newCtx != nil {
		cp := *sub
		cp.context, cp.outbox = *newCtx, &outbox{}
		subs := slices.Clone(b.subs)
		subs[i] = &cp
		b.subs, sub = subs, &cp
	}
	b.mu.Unlock()
	if sub == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "EventDestination", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, sub.json())
}

func (s *Simulator) deleteSubscription(w http.ResponseWriter, r *http.Request, b *bmc) {
	b.mu.Lock()
	i, sub := b.subscription(r.PathValue("id"))
	if sub != nil {
		b.subs = slices.Delete(slices.Clone(b.subs), i, i+1)
		sub.gone.Store(true)
	}
	b.mu.Unlock()
	if sub == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "EventDestination", r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
