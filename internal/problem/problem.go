// Package problem writes and reads RFC 7807 problem details, the error shape of BOS, HSM,
// BSS and CFS, and decodes JSON request bodies strictly (unknown fields, trailing data and
// oversized bodies are errors) so that a bad request never becomes a partial write.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ContentType is the media type of a problem body.
const ContentType = "application/problem+json"

// DefaultMaxBody is the body size limit used by DecodeJSON when the caller gives none.
const DefaultMaxBody = 8 << 20

// Details is an RFC 7807 problem. Type is "about:blank" unless a service says otherwise;
// Title is the HTTP status text.
type Details struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// Error makes *Details usable as an error, so handlers can return it.
func (d *Details) Error() string {
	if d.Detail == "" {
		return fmt.Sprintf("%d %s", d.Status, d.Title)
	}
	return fmt.Sprintf("%d %s: %s", d.Status, d.Title, d.Detail)
}

// New returns a problem for status with a formatted detail.
func New(status int, format string, args ...any) *Details {
	return &Details{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: fmt.Sprintf(format, args...)}
}

// Write sends a problem with the given status and detail.
func Write(w http.ResponseWriter, status int, format string, args ...any) {
	WriteDetails(w, New(status, format, args...))
}

// WriteDetails sends d.
func WriteDetails(w http.ResponseWriter, d *Details) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}

// WriteError sends err as a problem: a *Details as itself, anything else as a 500 whose
// detail is err's message.
func WriteError(w http.ResponseWriter, err error) {
	var d *Details
	if errors.As(err, &d) {
		WriteDetails(w, d)
		return
	}
	Write(w, http.StatusInternalServerError, "%s", err)
}

// DecodeJSON reads r's body into v, rejecting unknown fields, trailing data, an empty
// body and bodies over maxBytes (0 means DefaultMaxBody). The error is a *Details with
// status 400, or 413 for an oversized body, ready for WriteDetails.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) *Details {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	return Decode(body, v)
}

// Decode strictly decodes one JSON value from r into v (see DecodeJSON).
func Decode(r io.Reader, v any) *Details {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err == nil {
			return New(http.StatusBadRequest, "request body must hold a single JSON value")
		}
		return decodeProblem(err)
	}
	return nil
}

func decodeProblem(err error) *Details {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return New(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return New(http.StatusBadRequest, "request body is empty; a JSON value is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return New(http.StatusBadRequest, "request body is truncated JSON")
	case errors.As(err, &syntax):
		return New(http.StatusBadRequest, "request body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return New(http.StatusBadRequest, "field %s must be of type %s, not %s", field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return New(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return New(http.StatusBadRequest, "invalid request body: %v", err)
	}
}

// FromResponse reads a non-2xx response into a *Details, falling back to the status text
// and the raw body when the body is not a problem. It is what clients return as their error.
func FromResponse(resp *http.Response) *Details {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	d := &Details{}
	if json.Unmarshal(raw, d) != nil || d.Status == 0 {
		d = &Details{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(raw))}
	}
	d.Status = resp.StatusCode
	if d.Title == "" {
		d.Title = http.StatusText(resp.StatusCode)
	}
	return d
}

// StatusOf returns the HTTP status carried by err if it is (or wraps) a *Details, else 0.
func StatusOf(err error) int {
	var d *Details
	if errors.As(err, &d) {
		return d.Status
	}
	return 0
}
