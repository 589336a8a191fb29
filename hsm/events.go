package hsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Redfish power events. In CSM, BMCs post events to hmcollector, which puts them on
// Kafka, where HSM reads them and turns ResourcePowerStateChanged into a StateData
// update. POST /hsm/v2/RedfishEvents takes the same event body directly.

// redfishEvents serves POST /RedfishEvents. Redfish events carry many fields HSM
// does not use (EventType, Severity, Message, Oem...), so unknown fields are ignored
// here, unlike everywhere else; malformed JSON is still a 400.
func (s *Server) redfishEvents(w http.ResponseWriter, r *http.Request) {
	var ev hsmapi.RedfishEvent
	// encoding/json's decoding, from its v2 engine (about half the CPU): a simulator of
	// 100,000 nodes' first process takes the other processes' events here. A body it
	// refuses is decoded again by encoding/json, from the bytes it read on, so that the
	// problem is encoding/json's, word for word.
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	var read bytes.Buffer
	if jsonv1.NewDecoder(io.TeeReader(body, &read)).Decode(&ev) != nil {
		ev = hsmapi.RedfishEvent{}
		if err := json.NewDecoder(io.MultiReader(&read, body)).Decode(&ev); err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				problem.Write(w, http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit)
			case errors.Is(err, io.EOF):
				problem.Write(w, http.StatusBadRequest, "request body is empty; a Redfish event is required")
			default:
				problem.Write(w, http.StatusBadRequest, "request body is not a valid Redfish event: %v", err)
			}
			return
		}
	}
	writeJSON(w, http.StatusOK, s.HandleRedfishEvent(ev))
}

// HandleRedfishEvent applies a Redfish event as POST /RedfishEvents does, for callers
// in the same process (a BMC simulator wired directly to this HSM).
func (s *Server) HandleRedfishEvent(ev hsmapi.RedfishEvent) hsmapi.EventResult {
	var res hsmapi.EventResult
	scn := s.newSCNSets()
	s.mu.Lock()
	for i := range ev.Events {
		id, state, ok := s.powerChange(ev.Context, &ev.Events[i])
		rec := s.comps[id]
		if ok && rec != nil && s.apply(fieldPatch{kind: patchState, state: state, flag: FlagOK}, rec) {
			res.Applied++
			if scn != nil { // one SCN per new state, as HSM's StateData update
				scn.add(id, SCNPayload{State: state, Flag: FlagOK})
			}
		} else {
			res.Ignored++
		}
	}
	s.mu.Unlock()
	s.notifySets(scn)
	s.log.Debug("hsm: redfish event", "context", ev.Context, "applied", res.Applied, "ignored", res.Ignored)
	return res
}

// powerChange maps one event record to (component, On|Off) as HSM's
// ResourcePowerStateChanged parser does: the message key is the last dot-separated
// part of MessageId; the BMC is the first controller xname in the event's (or the
// record's) Context; the arguments, in any order, hold the resource path and the new
// power state; without a path, OriginOfCondition names the resource. PoweringOn and
// PoweringOff are ignored. Call with s.mu held.
func (s *Server) powerChange(eventCtx string, rec *hsmapi.RedfishEventRecord) (id, state string, ok bool) {
	msg := rec.MessageID
	if i := strings.LastIndexByte(msg, '.'); i >= 0 {
		msg = msg[i+1:]
	}
	if !strings.EqualFold(msg, "ResourcePowerStateChanged") {
		return "", "", false
	}
	bmc := contextBMC(eventCtx)
	if bmc == "" {
		bmc = contextBMC(rec.Context)
	}
	if bmc == "" {
		return "", "", false
	}
	path := ""
	if rec.OriginOfCondition != nil {
		path = rec.OriginOfCondition.ID
	}
	for _, arg := range rec.MessageArgs {
		switch {
		case strings.HasPrefix(arg, "/"):
			path = arg
		case strings.EqualFold(strings.TrimSpace(arg), "on"):
			state = StateOn
		case strings.EqualFold(strings.TrimSpace(arg), "off"):
			state = StateOff
		}
	}
	if state == "" || path == "" {
		return "", "", false
	}
	id, ok = s.eventTargets[eventKey{bmc, strings.TrimRight(path, "/")}]
	return id, state, ok
}

// contextBMC returns the first field of a "x1000c0s0b0:label:..." context that is a
// controller xname.
func contextBMC(ctx string) string {
	for _, f := range strings.Split(ctx, ":") {
		if id, t, err := parseXname(f); err == nil && isController(t) {
			return id
		}
	}
	return ""
}
