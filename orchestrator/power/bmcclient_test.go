package power

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/internal/memnet"
)

// A BMC that sends its answer's headers and then stalls the body is given up on at
// Timeout after the request, as a hung BMC is: the timeout bounds the body's reading too.
func TestRedfishTimeoutBoundsTheAnswersBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := memnet.New()
		ln, err := mn.Listen("tcp", "bmc-stall:443")
		require.NoError(t, err)
		stall := make(chan struct{})
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"PowerState":`))
			w.(http.Flusher).Flush()
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		})}
		go func() { _ = srv.Serve(ln) }()
		defer func() { close(stall); _ = srv.Close() }()

		eps := staticEndpoints{{Node: "x1000c0s0b0n0", BMC: "x1000c0s0b0", FQDN: "bmc-stall:443", SystemPath: "/redfish/v1/Systems/Node0"}}
		rf := NewRedfish(RedfishConfig{Endpoints: eps, Scheme: "http", Timeout: 200 * time.Millisecond, Dial: mn.DialContext})
		defer rf.Close()
		start := time.Now()
		st := rf.PowerStates(context.Background(), []string{"x1000c0s0b0n0"})
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		assert.Equal(t, PowerUnknown, st["x1000c0s0b0n0"].Power)
		assert.Error(t, st["x1000c0s0b0n0"].Err)
	})
}
