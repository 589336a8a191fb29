package problem

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDoJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Equal(t, "blue", r.Header.Get("Cray-Tenant-Name"))
			raw, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Token", "t1")
			_, _ = w.Write(raw)
		case "/text":
			_, _ = io.WriteString(w, "#!ipxe\n")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			Write(w, http.StatusNotFound, "no such thing: %s", r.URL.Path)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	var got map[string]int
	resp, err := DoJSON(ctx, nil, http.MethodPost, srv.URL+"/echo", http.Header{"Cray-Tenant-Name": {"blue"}}, map[string]int{"a": 1}, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"a": 1}, got)
	assert.Equal(t, "t1", resp.Header.Get("X-Token"))

	var text strings.Builder
	_, err = DoJSON(ctx, nil, http.MethodGet, srv.URL+"/text", nil, nil, &text)
	require.NoError(t, err)
	assert.Equal(t, "#!ipxe\n", text.String())

	var none json.RawMessage
	_, err = DoJSON(ctx, nil, http.MethodDelete, srv.URL+"/empty", nil, nil, &none)
	require.NoError(t, err)
	assert.Nil(t, none)

	_, err = DoJSON(ctx, nil, http.MethodGet, srv.URL+"/missing", nil, nil, nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusNotFound, StatusOf(err))
	assert.Contains(t, err.Error(), "no such thing: /missing")
}

// A Service joins base URL, prefix, path and query, and returns the service's problem.
func TestServiceDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/boot/v1/hosts" {
			Write(w, http.StatusNotFound, "no such thing: %s", r.URL.Path)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"query": r.URL.RawQuery})
	}))
	defer srv.Close()
	svc := NewService(srv.URL+"//", "/boot/v1", nil)
	assert.Equal(t, http.DefaultClient, svc.HC)
	ctx := context.Background()

	var got map[string]string
	_, err := svc.Do(ctx, http.MethodGet, "/hosts", url.Values{"name": {"x1,x2"}}, nil, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"query": "name=x1%2Cx2"}, got)

	_, err = svc.Do(ctx, http.MethodGet, "/hosts", nil, nil, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"query": ""}, got, "no query: no '?'")

	_, err = svc.Do(ctx, http.MethodGet, "/nope", url.Values{}, nil, nil)
	assert.Equal(t, http.StatusNotFound, StatusOf(err))
	assert.Contains(t, err.Error(), "no such thing: /boot/v1/nope")
}
