package problem

import (
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
			var got body
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.in))
			d := DecodeJSON(w, r, &got, 100)
			if tc.status == 0 {
				require.Nil(t, d)
				assert.Equal(t, body{"a", 2}, got)
				return
			}
			require.NotNil(t, d)
			assert.Equal(t, tc.status, d.Status)
			assert.Contains(t, d.Detail, tc.detail)
			assert.NotContains(t, d.Detail, "Go ")
			assert.NotContains(t, d.Detail, "json:")
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
