package simulator

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// bootOverride is a system's Boot.BootSourceOverride{Target,Enabled,Mode}.
type bootOverride struct {
	target, enabled, mode string
}

var defaultOverride = bootOverride{target: "None", enabled: "Disabled", mode: "UEFI"}

var (
	bootEnabledValues = []string{"Disabled", "Once", "Continuous"}
	bootModes         = []string{"Legacy", "UEFI"}
	indicatorLEDs     = []string{"Lit", "Blinking", "Off"}
)

// consumed is the override after the system powers on: a Once override is used up, as on
// real BMCs.
func (o bootOverride) consumed() bootOverride {
	if o.enabled == "Once" {
		return bootOverride{target: "None", enabled: "Disabled", mode: o.mode}
	}
	return o
}

// systemPatch is a validated PATCH of a ComputerSystem; nil fields are unchanged.
type systemPatch struct {
	target, enabled, mode *string
	locator               *bool
}

// systemProperties are the ComputerSystem's properties (json names): a PATCH of one we do
// not let clients write is PropertyNotWritable, of any other name PropertyUnknown.
var systemProperties = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeFor[systemJSON]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
})

// parseSystemPatch validates a PATCH body, answering the Redfish 400 itself when invalid:
// every error is found before anything changes.
func parseSystemPatch(w http.ResponseWriter, r *http.Request) (systemPatch, bool) {
	var p systemPatch
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return p, false
	}
	str := func(raw json.RawMessage, prop string, allowed []string) (*string, bool) {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			writeError(w, http.StatusBadRequest, msgPropertyValueTypeError, string(raw), prop)
			return nil, false
		}
		if !slices.Contains(allowed, v) {
			writeError(w, http.StatusBadRequest, msgPropertyValueNotInList, v, prop)
			return nil, false
		}
		return &v, true
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first error is the same every time
	var ok bool
	for _, k := range keys {
		raw := body[k]
		switch k {
		case "Boot":
			var boot map[string]json.RawMessage
			if err := json.Unmarshal(raw, &boot); err != nil || boot == nil {
				writeError(w, http.StatusBadRequest, msgPropertyValueTypeError, string(raw), "Boot")
				return p, false
			}
			bk := make([]string, 0, len(boot))
			for k := range boot {
				bk = append(bk, k)
			}
			slices.Sort(bk)
			for _, k := range bk {
				switch k {
				case "BootSourceOverrideTarget":
					p.target, ok = str(boot[k], "Boot/"+k, bootTargets)
				case "BootSourceOverrideEnabled":
					p.enabled, ok = str(boot[k], "Boot/"+k, bootEnabledValues)
				case "BootSourceOverrideMode":
					p.mode, ok = str(boot[k], "Boot/"+k, bootModes)
				default:
					writeError(w, http.StatusBadRequest, msgPropertyUnknown, "Boot/"+k)
					return p, false
				}
				if !ok {
					return p, false
				}
			}
		case "LocationIndicatorActive":
			var v bool
			if err := json.Unmarshal(raw, &v); err != nil {
				writeError(w, http.StatusBadRequest, msgPropertyValueTypeError, string(raw), k)
				return p, false
			}
			p.locator = &v
		case "IndicatorLED":
			// Deprecated for LocationIndicatorActive: accepted from older clients, never shown.
			v, ok := str(raw, k, indicatorLEDs)
			if !ok {
				return p, false
			}
			on := *v != "Off"
			p.locator = &on
		default:
			if systemProperties()[k] {
				writeError(w, http.StatusBadRequest, msgPropertyNotWritable, k)
			} else {
				writeError(w, http.StatusBadRequest, msgPropertyUnknown, k)
			}
			return p, false
		}
	}
	return p, true
}

// patchSystem sets the boot source override and the locator LED. If-Match must name the
// current ETag (or be *); the change bumps the ETag. 204 on success, as bmcweb answers.
func (s *Simulator) patchSystem(w http.ResponseWriter, r *http.Request, b *bmc) {
	id := r.PathValue("id")
	n := b.system(id)
	if n == nil {
		writeError(w, http.StatusNotFound, msgResourceNotFound, "ComputerSystem", id)
		return
	}
	p, ok := parseSystemPatch(w, r)
	if !ok {
		return
	}
	ifMatch := r.Header.Get("If-Match")
	b.mu.Lock()
	if ifMatch != "" && ifMatch != "*" && ifMatch != n.etagValue() {
		b.mu.Unlock()
		writeError(w, http.StatusPreconditionFailed, msgPreconditionFailed)
		return
	}
	o := n.override
	for _, f := range []struct {
		dst *string
		src *string
	}{{&o.target, p.target}, {&o.enabled, p.enabled}, {&o.mode, p.mode}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	n.override = o
	if p.locator != nil {
		n.locator = *p.locator
	}
	n.etag++
	etag := n.etagValue()
	b.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusNoContent)
}
