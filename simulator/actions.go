package simulator

import (
	"net/http"
	"time"
)

// The node chassis' Reset acts on the node's power, as on iLO; the enclosure has none.
var chassisResetTypes = []string{"On", "ForceOff", "GracefulShutdown", "PowerCycle"}

// managerResetTypes restart the BMC itself.
var managerResetTypes = []string{"GracefulRestart", "ForceRestart"}

func (s *Simulator) postChassisReset(w http.ResponseWriter, r *http.Request, b *bmc) {
	id := r.PathValue("id")
	n := b.system(id) // a node's chassis has its system's Id
	if n == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "Chassis", id)
		return
	}
	s.resetNode(w, r, n, "Chassis.Reset", chassisResetTypes)
}

// postManagerReset restarts the BMC: its sessions end (clients log in again); the nodes'
// power is untouched. 204.
func (s *Simulator) postManagerReset(w http.ResponseWriter, r *http.Request, b *bmc) {
	if id := r.PathValue("id"); id != b.managerID() {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "Manager", id)
		return
	}
	if _, ok := parseResetType(w, r, "Manager.Reset", managerResetTypes); !ok {
		return
	}
	b.mu.Lock()
	for _, sess := range b.sessions {
		b.dropSession(sess)
	}
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// postTestEvent is EventService.SubmitTestEvent: the event given (every parameter
// optional) goes to every subscription. 204.
func (s *Simulator) postTestEvent(w http.ResponseWriter, r *http.Request, b *bmc) {
	var body struct {
		EventID           string    `json:"EventId"`
		EventTimestamp    string    `json:"EventTimestamp"`
		EventType         string    `json:"EventType"` // deprecated: accepted, always Alert
		Message           string    `json:"Message"`
		MessageArgs       []string  `json:"MessageArgs"`
		MessageID         string    `json:"MessageId"`
		MessageSeverity   string    `json:"MessageSeverity"`
		Severity          string    `json:"Severity"` // deprecated: accepted, not sent
		OriginOfCondition *odataRef `json:"OriginOfCondition"`
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &body) {
		return
	}
	rec := eventRecord{EventID: body.EventID, eventFields: &eventFields{EventTimestamp: body.EventTimestamp, EventType: "Alert",
		Message: body.Message, MessageArgs: orEmpty(body.MessageArgs), MessageID: body.MessageID,
		MessageSeverity: body.MessageSeverity}}
	if rec.EventTimestamp == "" {
		rec.EventTimestamp = s.now().UTC().Format(time.RFC3339)
	}
	if rec.MessageID == "" {
		rec.MessageID, rec.Message = "Base.1.22.Success", "The request completed successfully."
	}
	if rec.MessageSeverity == "" {
		rec.MessageSeverity = "OK"
	}
	if body.OriginOfCondition != nil {
		rec.OriginOfCondition = *body.OriginOfCondition
	} else {
		rec.OriginOfCondition = odataRef{"/redfish/v1/EventService"}
	}
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	for _, sub := range subs {
		s.queueRecord(sub, rec)
	}
	w.WriteHeader(http.StatusNoContent)
}
