package reconciler

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/power"
)

// slowService answers after delay, or fails when the request is given up first.
type slowService struct{ delay time.Duration }

func (s slowService) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case <-time.After(s.delay):
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok"))}, nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

// A service's read timeout, from the options and changed at run time, bounds the wait for
// its response; another service's does not.
func TestReadTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt ReadTimeouts
		get := func(service string, delay time.Duration) (time.Duration, error) {
			c := &http.Client{Transport: rt.Transport(service, slowService{delay})}
			start := time.Now()
			resp, err := c.Get("http://" + service + "/x")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				assert.Equal(t, "ok", string(body))
				_ = resp.Body.Close()
			}
			return time.Since(start), err
		}
		took, err := get(ServiceBSS, 25*time.Second)
		require.Error(t, err, "the default is 20 s")
		assert.Equal(t, 20*time.Second, took)
		assert.ErrorContains(t, err, "bss_read_timeout 20s")

		o := bos.DefaultOptions()
		o.BSSReadTimeout, o.HSMReadTimeout = 60, 10
		rt.Set(o)
		took, err = get(ServiceBSS, 25*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 25*time.Second, took)
		_, err = get(ServiceHSM, 11*time.Second)
		assert.ErrorContains(t, err, "hsm_read_timeout 10s")
		_, err = get(ServiceCFS, 19*time.Second)
		assert.NoError(t, err, "CFS keeps its own (default) timeout")
	})
}

// pcs_read_timeout bounds every PCS call: a PCS that does not answer fails power-status
// reads and transitions after the option's time, with the option named in the error.
func TestPCSReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt ReadTimeouts
		o := bos.DefaultOptions()
		o.PCSReadTimeout = 7
		rt.Set(o)
		p := power.NewPCS(power.PCSConfig{URL: "http://pcs/v1", HTTP: &http.Client{Transport: rt.Transport(ServicePCS, slowService{time.Hour})}})

		start := time.Now()
		r := p.PowerStates(context.Background(), []string{"x1c0s0b0n0"})["x1c0s0b0n0"]
		require.ErrorContains(t, r.Err, "pcs_read_timeout 7s")
		require.Equal(t, 7*time.Second, time.Since(start))

		start = time.Now()
		err := p.Reset(context.Background(), []string{"x1c0s0b0n0"}, power.ResetOn)["x1c0s0b0n0"]
		require.ErrorContains(t, err, "pcs_read_timeout 7s")
		require.Equal(t, 7*time.Second, time.Since(start))
	})
}
