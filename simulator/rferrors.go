package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// baseRegistry prefixes the MessageIds the BMCs send: the DMTF Base registry they serve
// (registries/Base.1.22.1.json), as DSP0266 spells it, RegistryPrefix.Major.Minor.
const baseRegistry = "Base.1.22."

// message is one Redfish Message object of @Message.ExtendedInfo.
type message struct {
	ODataType       string   `json:"@odata.type"`
	MessageID       string   `json:"MessageId"`
	Message         string   `json:"Message"`
	MessageArgs     []string `json:"MessageArgs"`
	MessageSeverity string   `json:"MessageSeverity"`
	Resolution      string   `json:"Resolution"`
}

type errorBody struct {
	Error struct {
		Code         string    `json:"code"`
		Message      string    `json:"message"`
		ExtendedInfo []message `json:"@Message.ExtendedInfo"`
	} `json:"error"`
}

// rfMessage is a Base registry entry: its text (with %1-style args in fmt form), severity
// and resolution.
type rfMessage struct {
	id, format, severity, resolution string
}

// The Base messages the simulator sends, with the DMTF texts.
var (
	msgMalformedJSON = rfMessage{"MalformedJSON", "The request body submitted was malformed JSON and could not be parsed by the receiving service.",
		"Critical", "Ensure that the request body is valid JSON and resubmit the request."}
	msgActionParameterMissing = rfMessage{"ActionParameterMissing", "The action %s requires the parameter %s to be present in the request body.",
		"Critical", "Supply the action with the required parameter in the request body when the request is resubmitted."}
	msgActionParameterUnknown = rfMessage{"ActionParameterUnknown", "The action %s was submitted with the invalid parameter %s.",
		"Warning", "Correct the invalid action parameter and resubmit the request if the operation failed."}
	msgActionParameterValueNotInList = rfMessage{"ActionParameterValueNotInList", "The value '%s' for the parameter %s in the action %s is not in the list of acceptable values.",
		"Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."}
	msgActionParameterValueTypeError = rfMessage{"ActionParameterValueTypeError", "The value '%s' for the parameter %s in the action %s is not a type that the parameter can accept.",
		"Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."}
	msgPropertyMissing = rfMessage{"PropertyMissing", "The property %s is a required property and must be included in the request.",
		"Warning", "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed."}
	msgPropertyValueFormatError = rfMessage{"PropertyValueFormatError", "The value '%s' for the property %s is not a format that the property can accept.",
		"Warning", "Correct the value for the property in the request body and resubmit the request if the operation failed."}
	msgPropertyValueNotInList = rfMessage{"PropertyValueNotInList", "The value '%s' for the property %s is not in the list of acceptable values.",
		"Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."}
	msgPropertyValueTypeError = rfMessage{"PropertyValueTypeError", "The value '%s' for the property %s is not a type that the property can accept.",
		"Warning", "Correct the value for the property in the request body and resubmit the request if the operation failed."}
	msgPropertyUnknown = rfMessage{"PropertyUnknown", "The property %s is not in the list of valid properties for the resource.",
		"Warning", "Remove the unknown property from the request body and resubmit the request if the operation failed."}
	msgPropertyNotWritable = rfMessage{"PropertyNotWritable", "The property %s is a read-only property and cannot be assigned a value.",
		"Warning", "Remove the property from the request body and resubmit the request if the operation failed."}
	msgNoValidSession = rfMessage{"NoValidSession", "There is no valid session established with the implementation.",
		"Critical", "Establish a session before attempting any operations."}
	msgResourceNotFound = rfMessage{"ResourceNotFound", "The requested resource of type %s named '%s' was not found.",
		"Critical", "Provide a valid resource identifier and resubmit the request."}
	msgResourceMissingAtURI = rfMessage{"ResourceMissingAtURI", "The resource at the URI '%s' was not found.",
		"Critical", "Place a valid resource at the URI or correct the URI and resubmit the request."}
	msgOperationNotAllowed = rfMessage{"OperationNotAllowed", "The HTTP method is not allowed on this resource.",
		"Critical", "None."}
	msgResourceInUse = rfMessage{"ResourceInUse", "The change to the requested resource failed because the resource is in use or in transition.",
		"Warning", "Remove the condition and resubmit the request if the operation failed."}
	msgHeaderInvalid = rfMessage{"HeaderInvalid", "Header '%s' is invalid.",
		"Critical", "Resubmit the request with a valid request header."}
	msgPreconditionFailed = rfMessage{"PreconditionFailed", "The ETag supplied did not match the ETag required to change this resource.",
		"Critical", "Try the operation again using the appropriate ETag."}
	msgServiceTemporarilyUnavailable = rfMessage{"ServiceTemporarilyUnavailable", "The service is temporarily unavailable.  Retry in %s seconds.",
		"Critical", "Wait for the indicated retry duration and retry the operation."}
	msgInternalError = rfMessage{"InternalError", "The request failed due to an internal service error.  The service is still operational.",
		"Critical", "Resubmit the request.  If the problem persists, consider resetting the service."}
	msgSessionLimitExceeded = rfMessage{"SessionLimitExceeded", "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.",
		"Critical", "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported."}
	msgPayloadTooLarge = rfMessage{"GeneralError", "The request body is larger than the implementation accepts.",
		"Critical", "Send a smaller request body."}
)

func (m rfMessage) render(args ...string) message {
	text := m.format
	if len(args) > 0 {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a
		}
		text = fmt.Sprintf(m.format, vals...)
	}
	if args == nil {
		args = []string{}
	}
	return message{ODataType: "#Message.v1_3_0.Message", MessageID: baseRegistry + m.id, Message: text,
		MessageArgs: args, MessageSeverity: m.severity, Resolution: m.resolution}
}

// writeError writes a DSP0266 extended error: code GeneralError at the top, the specific
// message in @Message.ExtendedInfo (bmcweb's shape).
func writeError(w http.ResponseWriter, status int, m rfMessage, args ...string) {
	var body errorBody
	body.Error.Code = baseRegistry + "GeneralError"
	body.Error.Message = "A general error has occurred. See ExtendedInfo for more information."
	body.Error.ExtendedInfo = []message{m.render(args...)}
	h := w.Header()
	h.Del("X-Content-Type-Options")
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="Redfish"`)
	case http.StatusServiceUnavailable:
		if m.id == msgServiceTemporarilyUnavailable.id && len(args) == 1 {
			h.Set("Retry-After", args[0])
		}
	}
	writeJSON(w, status, body)
}

// writeJSON writes v with the Redfish headers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		// Our own types always marshal; say so loudly if one does not.
		http.Error(w, "simulator: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, raw)
}

// writeRaw writes a JSON body with the Redfish headers: OData-Version, Cache-Control and,
// on a resource, a Link to the JSON schema its @odata.type names (DSP0266 §8.1).
func writeRaw(w http.ResponseWriter, status int, raw []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	if status == http.StatusOK || status == http.StatusCreated {
		if typ := odataType(raw); typ != "" {
			h.Set("Link", "<"+schemaURL(typ)+">; rel=describedby")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// odataType finds the top-level @odata.type of a body we marshalled: json.Marshal sorts map
// keys and our structs put it first, so it is the first "@odata.type" in the text unless an
// "@odata.id" object precedes it, which never holds one.
func odataType(raw []byte) string {
	const key = `"@odata.type":"`
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return ""
	}
	rest := raw[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// schemaURL is the DMTF schema of an @odata.type: "#Chassis.v1_28_0.Chassis" →
// http://redfish.dmtf.org/schemas/v1/Chassis.v1_28_0.json.
func schemaURL(typ string) string {
	typ = strings.TrimPrefix(typ, "#")
	if i := strings.LastIndexByte(typ, '.'); i > 0 {
		typ = typ[:i]
	}
	return "http://redfish.dmtf.org/schemas/v1/" + typ + ".json"
}

// muxErrors turns the ServeMux's own plain-text 404 and 405 answers into Redfish errors
// (keeping the Allow header the mux computed). Our handlers always write JSON, so a
// text/plain 404/405 can only come from the mux.
type muxErrors struct {
	http.ResponseWriter
	path      string
	rewritten bool
}

func (w *muxErrors) WriteHeader(code int) {
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.rewritten = true
		w.Header().Del("Content-Type")
		if code == http.StatusNotFound {
			writeError(w.ResponseWriter, code, msgResourceMissingAtURI, w.path)
		} else {
			writeError(w.ResponseWriter, code, msgOperationNotAllowed)
		}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *muxErrors) Write(b []byte) (int, error) {
	if w.rewritten {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *muxErrors) Unwrap() http.ResponseWriter { return w.ResponseWriter }
