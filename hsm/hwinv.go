package hsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/xname"
)

// The hardware inventory (/Inventory/Hardware*, hms-smd's HWInvByLoc and HWInvByFRU):
// a location per xname, populated by a FRU (field-replaceable unit) that keeps its own
// identity (FRUID) wherever it goes, and a history of which FRU was seen where.

// HWInvByLoc is a location of the hardware inventory (HWInventoryByLocation). The
// type-specific location object (NodeLocationInfo, ProcessorLocationInfo, ...) is kept
// as given, as HSM stores it as JSON.
type HWInvByLoc struct {
	ID                        string
	Type                      string
	Ordinal                   int
	Status                    string
	HWInventoryByLocationType string
	// LocationInfo is the <Kind>LocationInfo object, e.g. NodeLocationInfo.
	LocationInfo json.RawMessage
	PopulatedFRU *HWInvByFRU

	locInfos map[string]json.RawMessage // the *LocationInfo objects of a decoded entry
	nested   map[string][]*HWInvByLoc   // subcomponents nested in a Query reply
}

// HWInvByFRU is a FRU of the hardware inventory (HWInventoryByFRU).
type HWInvByFRU struct {
	FRUID                string
	Type                 string
	Subtype              string
	HWInventoryByFRUType string
	// FRUInfo is the <Kind>FRUInfo object, e.g. NodeFRUInfo.
	FRUInfo json.RawMessage

	fruInfos                         map[string]json.RawMessage // the *FRUInfo objects of a decoded FRU
	manufacturer, partNumber, serial string                     // from FRUInfo, for the filters
}

// HWInvHist is one hardware history event (HWInventoryHistory).
type HWInvHist struct {
	ID        string `json:"ID"`
	FRUID     string `json:"FRUID"`
	Timestamp string `json:"Timestamp"`
	EventType string `json:"EventType"`
}

// HWInvHistArray is the history of one location or FRU.
type HWInvHistArray struct {
	ID      string      `json:"ID"`
	History []HWInvHist `json:"History"`
}

// HWInvHistResp is the history of every location or FRU.
type HWInvHistResp struct {
	Components []HWInvHistArray `json:"Components"`
}

// History event types, as hms-smd names them.
const (
	HWInvHistAdded    = "Added"
	HWInvHistRemoved  = "Removed"
	HWInvHistScanned  = "Scanned"
	HWInvHistDetected = "Detected"
)

var hwHistEventTypes = []string{HWInvHistAdded, HWInvHistRemoved, HWInvHistScanned, HWInvHistDetected}

// hwKind is how HSM names an HMS type in the inventory: the <Kind>LocationInfo and
// <Kind>FRUInfo keys, HWInvByLoc<Kind>/HWInvByFRU<Kind>, and the HWInventory array.
type hwKind struct{ kind, array string }

var hwKinds = map[xname.Type]hwKind{
	xname.Cabinet:                  {"Cabinet", "Cabinets"},
	xname.Chassis:                  {"Chassis", "Chassis"},
	xname.ComputeModule:            {"ComputeModule", "ComputeModules"},
	xname.RouterModule:             {"RouterModule", "RouterModules"},
	xname.NodeEnclosure:            {"NodeEnclosure", "NodeEnclosures"},
	xname.HSNBoard:                 {"HSNBoard", "HSNBoards"},
	xname.Node:                     {"Node", "Nodes"},
	xname.Processor:                {"Processor", "Processors"},
	xname.NodeAccelerator:          {"NodeAccel", "NodeAccels"},
	xname.Memory:                   {"Memory", "Memory"},
	xname.Drive:                    {"Drive", "Drives"},
	xname.NodeHsnNic:               {"NodeHsnNic", "NodeHsnNics"},
	xname.CabinetPDU:               {"PDU", "CabinetPDUs"},
	xname.CabinetPDUOutlet:         {"Outlet", "CabinetPDUPowerConnectors"},
	xname.CabinetPDUPowerConnector: {"Outlet", "CabinetPDUPowerConnectors"},
	xname.CMMRectifier:             {"CMMRectifier", "CMMRectifiers"},
	xname.NodeEnclosurePowerSupply: {"NodeEnclosurePowerSupply", "NodeEnclosurePowerSupplies"},
	xname.NodeBMC:                  {"NodeBMC", "NodeBMCs"},
	xname.RouterBMC:                {"RouterBMC", "RouterBMCs"},
	xname.NodeAccelRiser:           {"NodeAccelRiser", "NodeAccelRisers"},
}

// hwArrays is the order of HWInventory's arrays in hms-smd's struct.
var hwArrays = []string{"Nodes", "Cabinets", "Chassis", "ComputeModules", "RouterModules", "NodeEnclosures",
	"HSNBoards", "Processors", "Memory", "Drives", "CabinetPDUs", "CabinetPDUPowerConnectors", "CMMRectifiers",
	"NodeAccels", "NodeAccelRisers", "NodeEnclosurePowerSupplies", "NodeHsnNics", "NodeBMCs", "RouterBMCs"}

// nodeChildArrays are the arrays NestNodesOnly moves under their node.
var nodeChildArrays = []string{"Processors", "NodeAccels", "Memory", "Drives", "NodeHsnNics", "NodeAccelRisers"}

// hms-smd's texts for bad POST entries (pkg/sm/hwinv.go).
var (
	errHWLocInvalid        = errors.New("ID is empty or not a valid xname")
	errHWInvMissingFRU     = errors.New("PopulatedFRU must be populated")
	errHWInvMissingFRUInfo = errors.New("FRU info is empty")
	errHWInvMissingLoc     = errors.New("Component location info is empty")
	errHMSTypeUnsupported  = errors.New("HMSType value not supported for this operation")
)

// MarshalJSON writes the entry as HSM does: the type-specific *LocationInfo key, the
// FRU when populated, and the nested subcomponent arrays of a Query reply.
func (h HWInvByLoc) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"ID":`)
	writeJSONString(&b, h.ID)
	b.WriteString(`,"Type":`)
	writeJSONString(&b, h.Type)
	b.WriteString(`,"Ordinal":` + strconv.Itoa(h.Ordinal) + `,"Status":`)
	writeJSONString(&b, h.Status)
	b.WriteString(`,"HWInventoryByLocationType":`)
	writeJSONString(&b, h.HWInventoryByLocationType)
	if len(h.LocationInfo) > 0 {
		b.WriteString(`,"` + hwKinds[xname.Type(h.Type)].kind + `LocationInfo":`)
		b.Write(h.LocationInfo)
	}
	if h.PopulatedFRU != nil {
		b.WriteString(`,"PopulatedFRU":`)
		h.PopulatedFRU.appendJSON(&b)
	}
	writeArrays(&b, h.nested)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// appendJSON appends h's encoding (MarshalJSON's, without encoding/json's re-check of
// what MarshalJSON returns: the info objects were checked when stored).
func (h *HWInvByLoc) appendJSON(b *bytes.Buffer) {
	raw, _ := h.MarshalJSON() // never fails
	b.Write(raw)
}

// hwLocsJSON encodes a list of entries.
func hwLocsJSON(locs []*HWInvByLoc) []byte {
	var b bytes.Buffer
	b.Grow(len(locs) * 600) // a built entry is 350..700 bytes: one allocation, not twenty
	b.WriteByte('[')
	for i, e := range locs {
		if i > 0 {
			b.WriteByte(',')
		}
		e.appendJSON(&b)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// writeArrays appends ,"<array>":[...] for each non-empty array, in hms-smd's order.
func writeArrays(b *bytes.Buffer, arrays map[string][]*HWInvByLoc) {
	for _, name := range hwArrays {
		if len(arrays[name]) == 0 {
			continue
		}
		b.WriteString(`,"` + name + `":[`)
		for i, e := range arrays[name] {
			if i > 0 {
				b.WriteByte(',')
			}
			e.appendJSON(b)
		}
		b.WriteByte(']')
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	raw, _ := json.Marshal(s) // a string always marshals
	b.Write(raw)
}

// UnmarshalJSON reads an entry and keeps its *LocationInfo objects for checkHWLoc to
// pick the one of its type. Unknown keys are ignored, as HSM ignores them.
func (h *HWInvByLoc) UnmarshalJSON(data []byte) error {
	var base struct {
		ID                        string
		Type                      string
		Ordinal                   int
		Status                    string
		HWInventoryByLocationType string
		PopulatedFRU              *HWInvByFRU
	}
	if err := json.Unmarshal(data, &base); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	*h = HWInvByLoc{ID: base.ID, Type: base.Type, Ordinal: base.Ordinal, Status: base.Status,
		HWInventoryByLocationType: base.HWInventoryByLocationType, PopulatedFRU: base.PopulatedFRU}
	h.locInfos = infos(all, "LocationInfo")
	return nil
}

// MarshalJSON writes the FRU with its type-specific *FRUInfo key.
func (f HWInvByFRU) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	f.appendJSON(&b)
	return b.Bytes(), nil
}

func (f *HWInvByFRU) appendJSON(b *bytes.Buffer) {
	b.WriteString(`{"FRUID":`)
	writeJSONString(b, f.FRUID)
	b.WriteString(`,"Type":`)
	writeJSONString(b, f.Type)
	b.WriteString(`,"Subtype":`)
	writeJSONString(b, f.Subtype)
	b.WriteString(`,"HWInventoryByFRUType":`)
	writeJSONString(b, f.HWInventoryByFRUType)
	if len(f.FRUInfo) > 0 {
		b.WriteString(`,"` + hwKinds[xname.Type(f.Type)].kind + `FRUInfo":`)
		b.Write(f.FRUInfo)
	}
	b.WriteByte('}')
}

// UnmarshalJSON reads a FRU and keeps its *FRUInfo objects.
func (f *HWInvByFRU) UnmarshalJSON(data []byte) error {
	var base struct {
		FRUID                string
		Type                 string
		Subtype              string
		HWInventoryByFRUType string
	}
	if err := json.Unmarshal(data, &base); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	*f = HWInvByFRU{FRUID: base.FRUID, Type: base.Type, Subtype: base.Subtype, HWInventoryByFRUType: base.HWInventoryByFRUType}
	f.fruInfos = infos(all, "FRUInfo")
	return nil
}

// infos returns the "<Kind><suffix>" members of an object.
func infos(all map[string]json.RawMessage, suffix string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range all {
		if len(k) > len(suffix) && strings.EqualFold(k[len(k)-len(suffix):], suffix) {
			out[k] = v
		}
	}
	return out
}

// info returns the member of a decoded object's infos named key (compared as Go's
// encoding/json compares, ignoring case), else the Go-set value.
func info(infos map[string]json.RawMessage, key string, set json.RawMessage) json.RawMessage {
	if infos == nil {
		return set
	}
	for k, v := range infos {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// fruFacts reads the Manufacturer, PartNumber and SerialNumber of f's FRU info.
func (f *HWInvByFRU) fruFacts() {
	var v struct{ Manufacturer, PartNumber, SerialNumber string }
	_ = json.Unmarshal(f.FRUInfo, &v) // checked an object by checkHWLoc; odd fields just don't filter
	f.manufacturer, f.partNumber, f.serial = v.Manufacturer, v.PartNumber, v.SerialNumber
}

// trailingOrdinal is the number ending an xname (hms-smd's Ordinal).
func trailingOrdinal(id string) int {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	n, _ := strconv.Atoi(id[i:])
	return n
}

// checkHWLoc validates and fills in an entry as hms-smd's NewHWInvByLocs does: a valid
// xname of a type the inventory has, the type's location and FRU info, and the FRUID
// HSM derives from the FRU info (<Type>.<Manufacturer>.<PartNumber>.<SerialNumber>).
// The returned entry shares nothing with h.
func checkHWLoc(h HWInvByLoc) (*HWInvByLoc, error) {
	id := xname.Normalize(h.ID)
	t := xname.TypeOf(id)
	if t == xname.Invalid || t == xname.Partition {
		return nil, errHWLocInvalid
	}
	out := &HWInvByLoc{ID: id, Type: string(t), Ordinal: trailingOrdinal(id), Status: "Populated"}
	if h.PopulatedFRU == nil {
		return nil, errHWInvMissingFRU
	}
	k, ok := hwKinds[t]
	if !ok {
		return nil, errHMSTypeUnsupported
	}
	locInfo := info(h.locInfos, k.kind+"LocationInfo", h.LocationInfo)
	if !isJSONObject(locInfo) {
		return nil, errHWInvMissingLoc
	}
	f := h.PopulatedFRU
	fruInfo := info(f.fruInfos, k.kind+"FRUInfo", f.FRUInfo)
	if !isJSONObject(fruInfo) {
		return nil, errHWInvMissingFRUInfo
	}
	out.HWInventoryByLocationType = "HWInvByLoc" + k.kind
	out.LocationInfo = slices.Clone(locInfo)
	fru := &HWInvByFRU{Type: string(t), Subtype: f.Subtype, HWInventoryByFRUType: "HWInvByFRU" + k.kind,
		FRUInfo: slices.Clone(fruInfo)}
	fru.fruFacts()
	var err error
	switch t {
	case xname.NodeHsnNic: // never fails: untrackable NICs get FRUIDfor<xname>
		fru.FRUID, _ = fruID(string(t), id, fru.manufacturer, fru.partNumber, fru.serial)
	case xname.CabinetPDUOutlet, xname.CabinetPDUPowerConnector: // the PDU's FRUID, or a bogus one
		fru.FRUID = f.FRUID
		if fru.FRUID == "" {
			fru.FRUID = "FRUIDfor" + id
		}
	default:
		fru.FRUID, err = fruID(string(t), id, fru.manufacturer, fru.partNumber, fru.serial)
		if err != nil {
			return nil, err
		}
	}
	out.PopulatedFRU = fru
	return out, nil
}

func isJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// alnum keeps the ASCII letters and digits of s.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// fruID is hms-smd's FRUID: <Type>.<Manufacturer>.<PartNumber>.<SerialNumber> with
// only letters and digits in each field and empty fields left out; a FRU without a
// serial number, or without both manufacturer and part number, is untrackable and gets
// FRUIDfor<xname> with an error saying why.
func fruID(hmsType, id, manufacturer, partNumber, serial string) (string, error) {
	m, p, sn := alnum(manufacturer), alnum(partNumber), alnum(serial)
	msg := "Trackable " + hmsType + " FRUID can't be created. "
	switch {
	case m == "" && p == "":
		return "FRUIDfor" + id, errors.New(msg + "Missing required fields: Manufacturer and/or PartNumber")
	case sn == "":
		return "FRUIDfor" + id, errors.New(msg + "Missing required fields: SerialNumber")
	}
	parts := []string{hmsType}
	for _, f := range []string{m, p, sn} {
		if f != "" {
			parts = append(parts, f)
		}
	}
	out := strings.Join(parts, ".")
	if len(out) > 255 {
		return "FRUIDfor" + id, errors.New(msg + "FRUID is too long, '" + out + "'")
	}
	return out, nil
}

// normHistEventType is hms-smd's VerifyNormalizeHWInvHistEventType: "" if unknown.
func normHistEventType(s string) string {
	for _, t := range hwHistEventTypes {
		if strings.EqualFold(strings.TrimSpace(s), t) {
			return t
		}
	}
	return ""
}

// histStamp is the Timestamp of a history event.
func histStamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
