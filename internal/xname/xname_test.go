package xname

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormalizeAndType(t *testing.T) {
	for _, tc := range []struct {
		in, norm string
		typ      Type
	}{
		{"x1000c0s0b0n0", "x1000c0s0b0n0", Node},
		{" X03000C00S01B0N0 ", "x3000c0s1b0n0", Node},
		{"x1000c0s0b0", "x1000c0s0b0", NodeBMC},
		{"x1000c0s0", "x1000c0s0", ComputeModule},
		{"x1000c0b0", "x1000c0b0", ChassisBMC},
		{"x1000c0r7b0", "x1000c0r7b0", RouterBMC},
		{"x1000c0", "x1000c0", Chassis},
		{"x3000", "x3000", Cabinet},
		{"p1.2", "p1.2", Partition},
		{"x10000", "x10000", Invalid},
		{"nid000001", "nid1", Invalid},
		{"", "", Invalid},
		{"x1000c0s0b0n0/../", "x1000c0s0b0n0/../", Invalid},
	} {
		assert.Equal(t, tc.norm, Normalize(tc.in), tc.in)
		assert.Equal(t, tc.typ, TypeOf(Normalize(tc.in)), tc.in)
	}
}

func TestParentAndBMC(t *testing.T) {
	assert.Equal(t, "x1000c0s0b0", Parent("x1000c0s0b0n1"))
	assert.Equal(t, "x1000c0s0", Parent("x1000c0s0b0"))
	assert.Equal(t, "", Parent("x1000"))
	assert.Equal(t, "x1000c0s0b0", Parent("X1000C0S0B0N0"), "upper case is normalised first")
	assert.Equal(t, "x1000c0s0b0", Parent(" x1000c00s0b0n01 "))
	bmc, err := BMCOf("x3000c0s1b0n0")
	assert.NoError(t, err)
	assert.Equal(t, "x3000c0s1b0", bmc)
	_, err = BMCOf("x3000c0s1b0")
	assert.Error(t, err)
	_, _, err = Parse("bogus")
	assert.ErrorContains(t, err, `"bogus"`)
}
