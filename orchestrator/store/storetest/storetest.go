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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch backend {
	case Mini:
		cfg.URL, cfg.KeyPrefix = "", ""
	case Redis:
		cfg.URL = RedisURL()
		cfg.KeyPrefix = "bostest:" + randomHex(6) + ":"
	default:
		tb.Fatalf("unknown backend %q", backend)
	}
	s, err := store.Open(ctx, cfg)
	if err != nil {
		if backend == Redis {
			tb.Skipf("no Redis at %s: %v", cfg.URL, err)
		}
		tb.Fatalf("open %s store: %v", backend, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if backend == Redis {
			if err := s.DeleteAll(ctx); err != nil {
				tb.Errorf("clean up test keys: %v", err)
			}
		}
		_ = s.Close()
	})
	return s
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
