package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/cray-bos/bos/orchestrator/auth"
	"github.com/cray-bos/bos/orchestrator/auth/authtest"
)

// BenchmarkAuthenticate measures one token verification (RS256 with a 2048-bit key,
// ES256 on P-256) beside a floor measured in the same run: one keep-alive HTTP round trip
// over loopback. Each reports cpu-ns/op, the process's CPU time per operation.
//
//	go test ./orchestrator/auth -run - -bench Authenticate
func BenchmarkAuthenticate(b *testing.B) {
	is := authtest.NewIssuer(b)
	v, err := auth.New(context.Background(), auth.Config{JWKSFile: is.WriteJWKS(b)})
	if err != nil {
		b.Fatal(err)
	}
	claims := authtest.Claims(time.Now(), time.Hour, "", "", "shasta", []string{"admin"}, []string{"blue"})
	b.Run("floor-loopback-roundtrip", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		defer srv.Close()
		hc := srv.Client()
		withCPU(b, func() {
			resp, err := hc.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	})
	for _, k := range []authtest.Key{is.RSA, is.EC} {
		token := k.Sign(b, claims)
		b.Run(k.Alg, func(b *testing.B) {
			withCPU(b, func() {
				if _, err := v.Authenticate(context.Background(), token); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// withCPU runs op b.N times and reports the process CPU time per op.
func withCPU(b *testing.B, op func()) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	start := cpu()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
}
