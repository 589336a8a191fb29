package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	for _, tc := range []struct {
		name, in string
		status   int
		detail   string
	}{
		{"OK", `{"name":"a","count":2}`, 0, ""},
		{"Empty", ``, 400, "empty"},
		{"NotJSON", `hello`, 400, "not valid JSON"},
		{"Truncated", `{"name":`, 400, "truncated"},
		{"UnknownField", `{"name":"a","bogus":1}`, 400, `unknown field "bogus"`},
		{"WrongType", `{"count":"two"}`, 400, "field count must be a JSON integer, not string"},
		{"WrongTopType", `[1]`, 400, "the body must be a JSON object, not array"},
		{"Null", `null`, 400, "request body is null"},
		{"NullSpaced", " \n null \t", 400, "request body is null"},
		{"BadUTF8", "{\"name\":\"a\xff\"}", 400, "not valid UTF-8 (first bad byte at offset 10)"},
		{"Trailing", `{"name":"a"} {}`, 400, "single JSON value"},
		{"TooLarge", `{"name":"` + strings.Repeat("x", 200) + `"}`, 413, "larger than 100 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, decode := range map[string]func(http.ResponseWriter, *http.Request, any, int64) *Details{
				"DecodeJSON": DecodeJSON, "DecodeJSONFast": DecodeJSONFast,
			} {
				var got body
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.in))
				d := decode(w, r, &got, 100)
				if tc.status == 0 {
					require.Nil(t, d, name)
					assert.Equal(t, body{"a", 2}, got, name)
					continue
				}
				require.NotNil(t, d, name)
				assert.Equal(t, tc.status, d.Status, name)
				assert.Contains(t, d.Detail, tc.detail, name)
				assert.NotContains(t, d.Detail, "Go ", name)
				assert.NotContains(t, d.Detail, "json:", name)
			}
		})
	}
}

func TestWriteAndRead(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, http.StatusNotFound, "no such group: %s", "blue")
	assert.Equal(t, ContentType, w.Header().Get("Content-Type"))
	d := FromResponse(w.Result())
	assert.Equal(t, &Details{Type: "about:blank", Title: "Not Found", Status: 404, Detail: "no such group: blue"}, d)
	assert.Equal(t, 404, StatusOf(error(d)))

	w = httptest.NewRecorder()
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.WriteString("upstream down\n")
	d = FromResponse(w.Result())
	assert.Equal(t, 502, d.Status)
	assert.Equal(t, "upstream down", d.Detail)
}

func TestHandlerWritesReturnedProblem(t *testing.T) {
	failing := Handler(func(w http.ResponseWriter, r *http.Request) *Details {
		return New(http.StatusConflict, "busy %s", r.URL.Path)
	})
	rec := httptest.NewRecorder()
	failing(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Equal(t, ContentType, rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), `"detail":"busy /x"`)

	ok := Handler(func(w http.ResponseWriter, r *http.Request) *Details {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	rec = httptest.NewRecorder()
	ok(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Body.String())
}

// fastBody has what the services' write bodies have: pointers, a map, raw JSON and a
// field with its own UnmarshalJSON.
type fastBody struct {
	ID      *string            `json:"id"`
	Enabled *bool              `json:"enabled"`
	Count   int                `json:"count"`
	State   *[]fastLayer       `json:"state"`
	Tags    map[string]*string `json:"tags"`
	Logs    json.RawMessage    `json:"logs"`
	Retry   fastInt            `json:"retry"`
}

type fastLayer struct {
	Name   string `json:"name"`
	Status string `json:"status,omitempty"`
}

type fastInt struct {
	set bool
	v   int
}

func (o *fastInt) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &o.v); err != nil {
		return fmt.Errorf("retry must be an integer or null: %w", err)
	}
	return nil
}

// FuzzDecodeFastIsDecode: DecodeFast gives what Decode gives, value and problem, for any
// body (its seeds run with go test).
func FuzzDecodeFastIsDecode(f *testing.F) {
	for _, seed := range []string{
		`{"state": [], "enabled": true}`,
		`{"id":"x1","enabled":false,"count":3,"state":[{"name":"a","status":"applied"}],"tags":{"k":"v","n":null},"logs":{"a": [1, 2]},"retry":null}`,
		`{"ENABLED": true, "Count": 2}`, `{"enabled": true, "enabled": false}`, `{"count": 1.0}`, `{"count": 1e2}`,
		`{"count": -0}`, `{"retry": 3}`, `{"retry": "3"}`, `{"tags": null, "state": null, "logs": null}`,
		`{"logs":  [ 1 , "a\u0041" ] }`, `{"id": "\ud800"}`, `{"bogus": 1}`, `{"count": 99999999999999999999}`,
		`[]`, `null`, ``, `{} {}`, `{} `, `{"state": [{"name": "a", "extra": 1}]}`, `{"id": "a\u00e9"}`, "{\"id\":\"\xff\"}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var slow, fast fastBody
		dSlow := Decode(strings.NewReader(in), &slow)
		dFast := DecodeFast(strings.NewReader(in), &fast)
		assert.Equal(t, dSlow, dFast, "problem")
		if dSlow == nil {
			assert.Equal(t, slow, fast, "value")
		}
	})
}
