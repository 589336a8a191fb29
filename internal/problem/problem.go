// Package problem writes and reads RFC 7807 problem details, the error shape of BOS, HSM,
// BSS and CFS, and decodes JSON request bodies strictly (unknown fields, trailing data and
// oversized bodies are errors) so that a bad request never becomes a partial write.
package problem

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
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

// Handler adapts a handler that returns its failure instead of writing it: a non-nil
// *Details is written with WriteDetails. Such a handler reads as its logic, each check
// ending in `return d` rather than a write and a bare return.
func Handler(h func(http.ResponseWriter, *http.Request) *Details) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d := h(w, r); d != nil {
			WriteDetails(w, d)
		}
	}
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

// Decode strictly decodes one JSON value from r into v (see DecodeJSON). A body that is
// JSON null, or not valid UTF-8 (which encoding/json would silently replace), is a 400:
// null would otherwise decode as "no fields", i.e. as {} or an empty list.
func Decode(r io.Reader, v any) *Details {
	raw, err := io.ReadAll(r)
	if err != nil {
		return decodeProblem(err)
	}
	return decodeRaw(raw, v)
}

// DecodeFast is Decode for a hot path, on encoding/json's v2 engine with encoding/json's
// semantics (about half the CPU). Where that engine refuses the body, v is reset and the
// body decoded again as Decode does: every problem is Decode's, word for word.
func DecodeFast(r io.Reader, v any) *Details {
	raw, err := io.ReadAll(r)
	if err != nil {
		return decodeProblem(err)
	}
	if len(bytes.TrimSpace(raw)) > 0 && CheckBody(raw) == nil &&
		jsonv2.Unmarshal(raw, v, jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true)) == nil {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero()
	return decodeRaw(raw, v)
}

// DecodeJSONFast is DecodeJSON by DecodeFast.
func DecodeJSONFast(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) *Details {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	return DecodeFast(http.MaxBytesReader(w, r.Body, maxBytes), v)
}

func decodeRaw(raw []byte, v any) *Details {
	if len(bytes.TrimSpace(raw)) == 0 {
		return New(http.StatusBadRequest, "request body is empty; a JSON value is required")
	}
	if d := CheckBody(raw); d != nil {
		return d
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
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

// CheckBody refuses a raw JSON body that is not valid UTF-8 or is JSON null (400).
func CheckBody(raw []byte) *Details {
	if !utf8.Valid(raw) {
		return New(http.StatusBadRequest, "request body is not valid UTF-8 (first bad byte at offset %d)", invalidUTF8At(raw))
	}
	if IsNull(raw) {
		return New(http.StatusBadRequest, "request body is null; a JSON object or array is required")
	}
	return nil
}

// IsNull reports whether raw is the JSON literal null (surrounding white space aside).
func IsNull(raw []byte) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// TypeMessage describes a JSON type mismatch in JSON terms ("field count must be a JSON
// integer, not string"), never naming Go types.
func TypeMessage(te *json.UnmarshalTypeError) string {
	got := te.Value
	if got == "bool" {
		got = "boolean"
	}
	if te.Field == "" {
		return fmt.Sprintf("the body must be a JSON %s, not %s", JSONType(te.Type), got)
	}
	return fmt.Sprintf("field %s must be a JSON %s, not %s", te.Field, JSONType(te.Type), got)
}

// JSONType names the JSON type a Go type decodes from: string, integer, number, boolean,
// array or object ("value" when any is accepted).
func JSONType(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "string (an RFC 3339 time)"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
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
		return New(http.StatusBadRequest, "%s", TypeMessage(typ))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return New(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return New(http.StatusBadRequest, "invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
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
