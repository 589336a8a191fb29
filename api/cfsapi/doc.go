// Package cfsapi speaks the Cray Configuration Framework Service (CFS 1.31, API v3): its
// wire types (components, their state layers and patches, configurations, paged replies,
// the status words) and a Go Client for a real or a simulated CFS. It holds no server; the
// simulator is package cfs, which serves these types.
package cfsapi
