// Package storetest opens stores for tests on both backends: the embedded miniredis and
// a real Redis (127.0.0.1:6379 unless BOS_TEST_REDIS_URL says otherwise). Each real-Redis
// store gets its own random key prefix, emptied and closed when the test ends; when no
// Redis answers, those tests are skipped with a message.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/cray-bos/bos/orchestrator/store"
)

// Backend names.
const (
	Mini  = "miniredis"
	Redis = "redis"
)

// Backends lists both backends, miniredis first.
var Backends = []string{Mini, Redis}

// DefaultRedisURL is the real Redis the tests use.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisURL returns BOS_TEST_REDIS_URL or DefaultRedisURL.
func RedisURL() string {
	if u := os.Getenv("BOS_TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// Open returns a store on the named backend, closed (and for real Redis emptied) at the
// end of the test. cfg.URL and cfg.KeyPrefix are set here.
func Open(tb testing.TB, backend string, cfg store.Config) *store.Store {
	tb.Helper()
	switch backend {
	case Mini:
		cfg.URL, cfg.KeyPrefix = "", ""
	case Redis:
		cfg.URL = RedisURL()
		cfg.KeyPrefix = "bostest:" + randomHex(6) + ":"
	default:
		tb.Fatalf("unknown backend %q", backend)
	}
	return openN(tb, backend, 1, cfg)[0]
}

// OpenShared returns n stores on one database and key prefix of the named backend, as n
// BOS processes sharing one Redis would have: for miniredis one embedded server this
// package starts (each store connects to it over loopback), for real Redis one random
// prefix. They are closed (and the real Redis keys deleted) at the end of the test.
func OpenShared(tb testing.TB, backend string, n int, cfg store.Config) []*store.Store {
	tb.Helper()
	switch backend {
	case Mini:
		cfg.URL, cfg.KeyPrefix = "redis://"+miniredis.RunT(tb).Addr(), ""
	case Redis:
		cfg.URL, cfg.KeyPrefix = RedisURL(), "bostest:"+randomHex(6)+":"
	default:
		tb.Fatalf("unknown backend %q", backend)
	}
	return openN(tb, backend, n, cfg)
}

// openN opens n stores with cfg and registers their cleanup; it skips the test when a
// real Redis does not answer.
func openN(tb testing.TB, backend string, n int, cfg store.Config) []*store.Store {
	tb.Helper()
	out := make([]*store.Store, 0, n)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if backend == Redis && len(out) > 0 {
			if err := out[0].DeleteAll(ctx); err != nil {
				tb.Errorf("clean up test keys: %v", err)
			}
		}
		for _, s := range out {
			_ = s.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range n {
		s, err := store.Open(ctx, cfg)
		if err != nil {
			if backend == Redis {
				tb.Skipf("no Redis at %s: %v", cfg.URL, err)
			}
			tb.Fatalf("open %s store: %v", backend, err)
		}
		out = append(out, s)
	}
	return out
}

// Each runs fn as a subtest per backend.
func Each(t *testing.T, fn func(t *testing.T, backend string)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
