// Package e2e holds whole-stack tests: BOS (API and reconciler) and every simulator in one
// process, driven through the real HTTP APIs, asserting the state of the world (BOS
// components, the virtual nodes, CFS) and waiting on conditions with deadlines.
//
// Each test runs on the embedded miniredis and, where one answers at 127.0.0.1:6379 (or
// BOS_TEST_REDIS_URL), on a real Redis under its own key prefix, deleted afterwards.
// `go test -short` runs smaller clusters.
package e2e
