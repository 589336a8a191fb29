package hsm

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// HTTP handlers of the hardware inventory, with hms-smd's parameters and texts
// (cmd/smd/smd-api.go: doHWInvByLocation*, doHWInvByFRU*, hwInvHist*).

// Formats of GET /Inventory/Hardware/Query/{xname}.
const (
	HWInvFormatFullyFlat     = "FullyFlat"
	HWInvFormatNestNodesOnly = "NestNodesOnly" // the default
	HWInvFormatHierarchical  = "Hierarchical"  // refused: hms-smd has not implemented it
)

// hwFilter is the parsed filter of the location and FRU lists.
type hwFilter struct {
	ids, types, manufacturers, partNumbers, serials, fruIDs, partitions []string
}

// parseHWFilter reads id, type, manufacturer, partnumber, serialnumber, fruid and
// partition as hms-smd does, or returns its 400.
func parseHWFilter(q url.Values, withIDs bool) (hwFilter, *problem.Details) {
	f := hwFilter{manufacturers: q["manufacturer"], partNumbers: q["partnumber"], serials: q["serialnumber"], fruIDs: q["fruid"]}
	if withIDs {
		for _, raw := range q["id"] {
			id, _, err := xname.Parse(raw)
			if err != nil {
				return f, problem.New(http.StatusBadRequest, "Invalid xname")
			}
			f.ids = append(f.ids, id)
		}
		for _, raw := range q["partition"] {
			p, ok := normGroupField(raw)
			if !ok {
				return f, problem.New(http.StatusBadRequest, "Invalid partition")
			}
			f.partitions = append(f.partitions, p)
		}
	}
	for _, raw := range q["type"] {
		t, ok := hmsType.norm(raw)
		if !ok {
			return f, problem.New(http.StatusBadRequest, "Invalid HMS type")
		}
		f.types = append(f.types, t)
	}
	return f, nil
}

// fruOK applies the FRU filters to f (nil: an empty location, which they exclude).
func (hf hwFilter) fruOK(f *HWInvByFRU) bool {
	if f == nil {
		return len(hf.manufacturers)+len(hf.partNumbers)+len(hf.serials)+len(hf.fruIDs) == 0
	}
	return anyOf(hf.manufacturers, f.manufacturer) && anyOf(hf.partNumbers, f.partNumber) &&
		anyOf(hf.serials, f.serial) && anyOf(hf.fruIDs, f.FRUID)
}

// partitionOf is the partition of location id: that of the nearest of it and its
// ancestors that is a partition member (children share their parent's). Call with
// s.mu held.
func (s *Server) partitionOf(id string) string {
	for ; id != ""; id = xname.Parent(id) {
		if p, ok := s.compPart[id]; ok {
			return p
		}
	}
	return ""
}

func (s *Server) inPartitions(id string, parts []string) bool {
	if len(parts) == 0 {
		return true
	}
	return slices.Contains(parts, s.partitionOf(id))
}

// underOrSelf reports whether id is parent or one of its descendants by xname.
func underOrSelf(id, parent string) bool {
	return id == parent || strings.HasPrefix(id, parent) && id[len(parent)] >= 'a' && id[len(parent)] <= 'z'
}

func (s *Server) getHWLocs(w http.ResponseWriter, r *http.Request) {
	f, d := parseHWFilter(r.URL.Query(), true)
	if d != nil {
		problem.WriteDetails(w, d)
		return
	}
	s.mu.RLock()
	var bmcs []string // nil: every BMC's
	if len(f.ids) > 0 {
		bmcs = []string{}
		for _, id := range f.ids {
			if b := s.builtOwner(id); b != "" {
				bmcs = append(bmcs, b)
			}
		}
		slices.Sort(bmcs)
		bmcs = slices.Compact(bmcs)
	}
	locs := s.hwLocs(bmcs, func(id string) bool { return anyOf(f.ids, id) && s.inPartitions(id, f.partitions) })
	s.mu.RUnlock()
	out := make([]*HWInvByLoc, 0, len(locs))
	for _, e := range locs {
		if anyOf(f.types, e.Type) && f.fruOK(e.PopulatedFRU) {
			out = append(out, e)
		}
	}
	writeRaw(w, http.StatusOK, hwLocsJSON(out))
}

func (s *Server) getHWLoc(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	e := s.hwLoc(pathID(r))
	s.mu.RUnlock()
	if e == nil {
		problem.Write(w, http.StatusNotFound, "no such xname.")
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// postHWLocs takes {"Hardware":[HWInvByLoc...]}: all entries are checked before any is
// stored; the first bad one is 400 with hms-smd's text.
func (s *Server) postHWLocs(w http.ResponseWriter, r *http.Request) {
	var in struct{ Hardware []HWInvByLoc }
	if d := s.decode(w, r, &in); d != nil {
		problem.WriteDetails(w, d)
		return
	}
	entries := make([]*HWInvByLoc, 0, len(in.Hardware))
	for _, h := range in.Hardware {
		e, err := checkHWLoc(h)
		if err != nil {
			problem.Write(w, http.StatusBadRequest, "%s", err)
			return
		}
		entries = append(entries, e)
	}
	s.mu.Lock()
	s.putHW(entries)
	s.mu.Unlock()
	writeMessage(w, http.StatusOK, "Created %d entries", len(entries))
}

func (s *Server) deleteHWLoc(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	s.mu.Lock()
	e := s.hwLoc(id)
	if e != nil {
		delete(s.hw.locs, id)
		s.hw.locGone[id] = true
	}
	s.mu.Unlock()
	if e == nil {
		problem.Write(w, http.StatusNotFound, "no such xname.")
		return
	}
	writeMessage(w, http.StatusOK, "deleted 1 entry")
}

// deleteHWLocs deletes every location; the FRUs stay, as in HSM.
func (s *Server) deleteHWLocs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.hwLocs(nil, func(string) bool { return true }))
	clear(s.hw.locs)
	s.hw.allLocsGone = true
	s.mu.Unlock()
	if n == 0 {
		problem.Write(w, http.StatusNotFound, "no entries to delete")
		return
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
}

func (s *Server) getHWFRUs(w http.ResponseWriter, r *http.Request) {
	f, d := parseHWFilter(r.URL.Query(), false)
	if d != nil {
		problem.WriteDetails(w, d)
		return
	}
	s.mu.RLock()
	frus := s.hwFRUs()
	s.mu.RUnlock()
	out := make([]*HWInvByFRU, 0, len(frus))
	for _, fru := range frus {
		if anyOf(f.types, fru.Type) && f.fruOK(fru) {
			out = append(out, fru)
		}
	}
	var b bytes.Buffer
	b.Grow(len(out) * 300)
	b.WriteByte('[')
	for i, fru := range out {
		if i > 0 {
			b.WriteByte(',')
		}
		fru.appendJSON(&b)
	}
	b.WriteString("]\n")
	writeRaw(w, http.StatusOK, b.Bytes())
}

func (s *Server) getHWFRU(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	f := s.hwFRU(r.PathValue("fruid"))
	s.mu.RUnlock()
	if f == nil {
		problem.Write(w, http.StatusNotFound, "no such FRU ID.")
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// installedAt returns a location that FRU fruID populates, or "". Call with s.mu held.
func (s *Server) installedAt(fruID string) string {
	if loc, ok := s.hw.fruLoc[fruID]; ok {
		if e := s.hwLoc(loc); e != nil && e.PopulatedFRU.FRUID == fruID {
			return loc
		}
	}
	if loc, ok := strings.CutPrefix(fruID, "FRUIDfor"); ok {
		if e := s.hwLoc(loc); e != nil && e.PopulatedFRU.FRUID == fruID {
			return loc
		}
	}
	for id, e := range s.hw.locs {
		if e.PopulatedFRU.FRUID == fruID {
			return id
		}
	}
	return ""
}

// deleteHWFRU deletes a FRU that no location holds (HSM's database refuses the others).
func (s *Server) deleteHWFRU(w http.ResponseWriter, r *http.Request) {
	fruID := r.PathValue("fruid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hwFRU(fruID) == nil {
		problem.Write(w, http.StatusNotFound, "no such FRU ID.")
		return
	}
	if loc := s.installedAt(fruID); loc != "" {
		problem.Write(w, http.StatusConflict, "FRU %s is installed at %s; delete that location first", fruID, loc)
		return
	}
	delete(s.hw.frus, fruID)
	s.hw.fruGone[fruID] = true
	writeMessage(w, http.StatusOK, "deleted 1 entry")
}

// deleteHWFRUs deletes every FRU, or none when a location still holds one.
func (s *Server) deleteHWFRUs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	frus := s.hwFRUs()
	if len(frus) == 0 {
		problem.Write(w, http.StatusNotFound, "no entries to delete")
		return
	}
	if locs := s.hwLocs(nil, func(string) bool { return true }); len(locs) > 0 {
		problem.Write(w, http.StatusConflict, "FRU %s is installed at %s; delete the locations first",
			locs[0].PopulatedFRU.FRUID, locs[0].ID)
		return
	}
	clear(s.hw.frus)
	s.hw.allFRUsGone = true
	writeMessage(w, http.StatusOK, "deleted %d entries", len(frus))
}

// queryHW serves GET /Inventory/Hardware/Query/{xname}: the locations at xname (every
// one for s0 or all, a partition's for pN), with their children (default) and/or
// parents, as an HWInventory.
func (s *Server) queryHW(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("xname")
	q := r.URL.Query()
	target := xname.Normalize(raw)
	t := xname.TypeOf(target)
	var partitions []string
	switch {
	case target == "s0" || target == "all":
		target = ""
	case t == xname.Invalid:
		problem.Write(w, http.StatusBadRequest, "Invalid xname")
		return
	case t == xname.Partition:
		partitions = append(partitions, target)
		target = ""
	}
	f, d := parseHWFilter(url.Values{"type": q["type"], "partition": q["partition"]}, true)
	if d != nil {
		problem.WriteDetails(w, d)
		return
	}
	partitions = append(partitions, f.partitions...)
	parents, children := false, true
	if v := q["parents"]; len(v) > 0 {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			problem.Write(w, http.StatusBadRequest, "Invalid boolean for parents")
			return
		}
		parents = b
	}
	if v := q["children"]; len(v) > 0 {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			problem.Write(w, http.StatusBadRequest, "Invalid boolean for children")
			return
		}
		children = b
	} else if parents {
		children = false // children by default only when not asking for parents
	}
	format := HWInvFormatNestNodesOnly
	if v := q["format"]; len(v) > 0 {
		switch strings.ToLower(v[0]) {
		case strings.ToLower(HWInvFormatFullyFlat):
			format = HWInvFormatFullyFlat
		case strings.ToLower(HWInvFormatNestNodesOnly):
		default:
			problem.Write(w, http.StatusBadRequest, "Invalid format")
			return
		}
	}

	selected := func(id string) bool {
		return target == "" || id == target || children && underOrSelf(id, target) || parents && underOrSelf(target, id)
	}
	s.mu.RLock()
	var bmcs []string // the BMCs whose discovery can build a selected location
	for _, b := range s.hw.bmcs {
		slot := xname.Parent(b)
		if target == "" || underOrSelf(slot, target) || underOrSelf(target, slot) {
			bmcs = append(bmcs, b)
		}
	}
	locs := s.hwLocs(bmcs, func(id string) bool { return selected(id) && s.inPartitions(id, partitions) })
	s.mu.RUnlock()
	arrays := map[string][]*HWInvByLoc{}
	for _, e := range locs {
		if anyOf(f.types, e.Type) {
			k := hwKinds[xname.Type(e.Type)].array
			arrays[k] = append(arrays[k], e)
		}
	}
	if format == HWInvFormatNestNodesOnly {
		nest(arrays, "Nodes", nodeChildArrays)
		nest(arrays, "CabinetPDUs", []string{"CabinetPDUPowerConnectors"})
	}
	var b bytes.Buffer
	b.WriteString(`{"XName":`)
	writeJSONString(&b, raw)
	b.WriteString(`,"Format":`)
	writeJSONString(&b, format)
	writeArrays(&b, arrays)
	b.WriteString("}\n")
	writeRaw(w, http.StatusOK, b.Bytes())
}

// nest moves the entries of the child arrays under their parent in arrays[parent]
// (copies of the parents, the stored entries are shared). Orphans stay where they are.
func nest(arrays map[string][]*HWInvByLoc, parent string, childArrays []string) {
	byID := map[string]*HWInvByLoc{}
	for i, p := range arrays[parent] {
		c := *p
		c.nested = map[string][]*HWInvByLoc{}
		arrays[parent][i] = &c
		byID[c.ID] = &c
	}
	for _, name := range childArrays {
		var orphans []*HWInvByLoc
		for _, e := range arrays[name] {
			id := xname.Parent(e.ID)
			if xname.TypeOf(e.ID) == xname.Drive { // x...n0g0k0: the node is two levels up
				id = xname.Parent(id)
			}
			if p, ok := byID[id]; ok {
				p.nested[name] = append(p.nested[name], e)
			} else {
				orphans = append(orphans, e)
			}
		}
		arrays[name] = orphans
	}
}

// histQuery is the parsed filter of the history reads.
type histQuery struct {
	ids, fruIDs, eventTypes []string
	start, end              time.Time
}

func parseHistQuery(q url.Values) (histQuery, *problem.Details) {
	h := histQuery{fruIDs: q["fruid"]}
	for _, raw := range q["id"] {
		id, _, err := xname.Parse(raw)
		if err != nil {
			return h, problem.New(http.StatusBadRequest, "Invalid xname")
		}
		h.ids = append(h.ids, id)
	}
	for _, raw := range q["eventtype"] {
		t := normHistEventType(raw)
		if t == "" {
			return h, problem.New(http.StatusBadRequest, "Invalid HWInvHist event type")
		}
		h.eventTypes = append(h.eventTypes, t)
	}
	for key, dst := range map[string]*time.Time{"starttime": &h.start, "endtime": &h.end} {
		if v := q[key]; len(v) > 0 {
			t, err := time.Parse(time.RFC3339, v[0])
			if err != nil {
				return h, problem.New(http.StatusBadRequest, "Invalid %s: not an RFC 3339 time", key)
			}
			*dst = t
		}
	}
	return h, nil
}

func (h histQuery) ok(ev HWInvHist) bool {
	if !anyOf(h.ids, ev.ID) || !anyOf(h.fruIDs, ev.FRUID) || !anyOf(h.eventTypes, ev.EventType) {
		return false
	}
	if h.start.IsZero() && h.end.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
	return err == nil && (h.start.IsZero() || !t.Before(h.start)) && (h.end.IsZero() || !t.After(h.end))
}

// getHWHistory serves the history of every location (byFRU false) or FRU, grouped by
// location or FRU and sorted by it.
func (s *Server) getHWHistory(byFRU bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h, d := parseHistQuery(r.URL.Query())
		if d != nil {
			problem.WriteDetails(w, d)
			return
		}
		s.mu.RLock()
		events := s.hwHistory(h.ok)
		s.mu.RUnlock()
		groups := map[string][]HWInvHist{}
		for _, ev := range events {
			k := ev.ID
			if byFRU {
				k = ev.FRUID
			}
			groups[k] = append(groups[k], ev)
		}
		out := HWInvHistResp{Components: make([]HWInvHistArray, 0, len(groups))}
		for _, k := range sortedKeys(groups) {
			out.Components = append(out.Components, HWInvHistArray{ID: k, History: groups[k]})
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// getHWHistoryOf serves the history of one location or FRU (empty when it has none).
func (s *Server) getHWHistoryOf(byFRU bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h, d := parseHistQuery(url.Values{"eventtype": q["eventtype"], "starttime": q["starttime"], "endtime": q["endtime"]})
		if d != nil {
			problem.WriteDetails(w, d)
			return
		}
		id := r.PathValue("fruid")
		if byFRU {
			h.fruIDs = []string{id}
		} else {
			id = r.PathValue("xname")
			norm, _, err := xname.Parse(id)
			if err != nil {
				problem.Write(w, http.StatusBadRequest, "Invalid xname")
				return
			}
			h.ids = []string{norm}
		}
		s.mu.RLock()
		events := s.hwHistory(h.ok)
		s.mu.RUnlock()
		if events == nil {
			events = []HWInvHist{}
		}
		writeJSON(w, http.StatusOK, HWInvHistArray{ID: id, History: events})
	}
}

func (s *Server) deleteHWHistory(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.hwHistory(func(HWInvHist) bool { return true }))
	s.hw.hist, s.hw.allHistGone = nil, true
	s.mu.Unlock()
	if n == 0 {
		problem.Write(w, http.StatusNotFound, "no entries to delete")
		return
	}
	writeMessage(w, http.StatusOK, "deleted %d entries", n)
}

// deleteHWHistoryOf deletes the history of one location or FRU.
func (s *Server) deleteHWHistoryOf(byFRU bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("fruid")
		if !byFRU {
			norm, _, err := xname.Parse(r.PathValue("xname"))
			if err != nil {
				problem.Write(w, http.StatusBadRequest, "Invalid xname")
				return
			}
			id = norm
		}
		match := func(ev HWInvHist) bool { return !byFRU && ev.ID == id || byFRU && ev.FRUID == id }
		s.mu.Lock()
		n := len(s.hwHistory(match))
		s.hw.hist = slices.DeleteFunc(s.hw.hist, match)
		if byFRU {
			s.hw.fruHistGone[id] = true
		} else {
			s.hw.histGone[id] = true
		}
		s.mu.Unlock()
		if n == 0 {
			problem.Write(w, http.StatusNotFound, "no entries to delete")
			return
		}
		writeMessage(w, http.StatusOK, "deleted %d entries", n)
	}
}
