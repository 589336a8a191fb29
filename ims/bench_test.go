package ims

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cray-bos/bos/api/imsapi"
)

// reportRate prints requests per second alongside ns/op.
func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// In-process handler throughput (no network): the cost of the server itself.
func BenchmarkHandler(b *testing.B) {
	s := mustServer(b)
	id := ImageID(ImageCompute)
	cases := []struct {
		name, method, target, body string
		want                       int
	}{
		{"GetImage", http.MethodGet, "/v3/images/" + id, "", http.StatusOK},
		{"ListImages", http.MethodGet, "/v3/images", "", http.StatusOK},
		{"TagImage", http.MethodPatch, "/v3/images/" + id, `{"metadata":{"operation":"set","key":"sbps-project","value":"true"}}`, http.StatusOK},
		{"HeadKernel", http.MethodHead, "/boot-images/" + id + "/kernel", "", http.StatusOK},
		{"GetManifest", http.MethodGet, "/boot-images/" + id + "/manifest.json", "", http.StatusOK},
	}
	h := s.Handler()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if rec := call(b, h, c.method, c.target, c.body); rec.Code != c.want {
						b.Errorf("%s %s: %d", c.method, c.target, rec.Code)
						return
					}
				}
			})
			reportRate(b, start)
		})
	}
}

// What BOS pays per boot set over loopback: GET and parse the manifest, HEAD the kernel.
func BenchmarkClientValidateBootSet(b *testing.B) {
	s := mustServer(b)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := imsapi.NewClient(srv.URL, srv.Client())
	path := "s3://boot-images/" + ImageID(ImageCompute) + "/manifest.json"
	ctx := context.Background()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m, err := c.ReadManifest(ctx, srv.URL, path)
			if err != nil {
				b.Error(err)
				return
			}
			ba, err := m.BootArtifacts()
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.HeadObject(ctx, srv.URL, ba.Kernel); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "bootsets/s")
}
