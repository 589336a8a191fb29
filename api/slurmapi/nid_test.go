package slurmapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNIDOf(t *testing.T) {
	for name, want := range map[string]int{"nid000001": 1, "nid42": 42, "NID000007": 7, "nid": 0, "nid0": 0, "nid1a": 0, "login1": 0, "x1000c0s0b0n0": 0} {
		got, ok := NIDOf(name)
		assert.Equal(t, want, got, name)
		assert.Equal(t, want > 0, ok, name)
	}
}
