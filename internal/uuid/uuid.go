// Package uuid makes the RFC 4122 UUIDs the services hand out: random ones (version 4) for
// records, referral tokens and reservation keys, and name-based ones (version 5, SHA-1) for
// ids that must be the same on every run.
package uuid

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // version 5 UUIDs are defined with SHA-1; nothing secret depends on it
	"fmt"
)

// New returns a random (version 4) UUID.
func New() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	return format(u, 0x40)
}

// FromName returns the name-based (version 5) UUID of name within namespace: the same
// inputs always give the same UUID.
func FromName(namespace []byte, name string) string {
	h := sha1.New() //nolint:gosec // see import
	h.Write(namespace)
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	return format(u, 0x50)
}

// format sets the version and the RFC 4122 variant bits and renders u as 8-4-4-4-12 hex.
func format(u [16]byte, version byte) string {
	u[6] = u[6]&0x0f | version
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
