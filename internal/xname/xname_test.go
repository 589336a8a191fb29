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

// TestEveryHMSType: one name per hms-xname type, and near misses its ranges refuse.
func TestEveryHMSType(t *testing.T) {
	for _, tc := range []struct {
		id  string
		typ Type
	}{
		{"d1", CDU}, {"d1w2", CDUMgmtSwitch}, {"x9999d1", CabinetCDU}, {"x9999", Cabinet}, {"x9999b0", CabinetBMC},
		{"x9999m3", CabinetPDUController}, {"x9999m3p0", CabinetPDU}, {"x9999m3i3", CabinetPDUNic},
		{"x9999m3p7j12", CabinetPDUOutlet}, {"x9999m3p7v1", CabinetPDUPowerConnector},
		{"x9999c7", Chassis}, {"x9999c7b0", ChassisBMC}, {"x9999c7b0i3", ChassisBMCNic}, {"x9999c7t9", CMMRectifier},
		{"x9999c7f0", CMMFpga}, {"x9999e1", CEC}, {"x9999c7s17", ComputeModule}, {"x9999c7r9", RouterModule},
		{"x9999c7s17b0", NodeBMC}, {"x9999c7s17b0i3", NodeBMCNic}, {"x9999c7s17e9", NodeEnclosure},
		{"x9999c7s17e9t9", NodeEnclosurePowerSupply}, {"x9999c7s17v2", NodePowerConnector}, {"x9999c7s17j1", NodePowerConnector},
		{"x9999c7s17b0n9", Node}, {"x9999c5s17b0n0v0", VirtualNode}, {"x9999c7s17b0n9p3", Processor},
		{"x9999c7s17b0n9g1", StorageGroup}, {"x9999c7s17b0n9g1k2", Drive}, {"x9999c7s17b0n9i3", NodeNic},
		{"x9999c7s17b0n9h3", NodeHsnNic}, {"x9999c7s17b0n9d9", Memory}, {"x9999c7s17b0n9a9", NodeAccelerator},
		{"x9999c7s17b0n9r7", NodeAccelRiser}, {"x9999c7s17b0f0", NodeFpga}, {"x9999c7r9a3", HSNAsic},
		{"x9999c7r9f1", RouterFpga}, {"x9999c7r9t9", RouterTOR}, {"x9999c7r9t9f1", RouterTORFpga},
		{"x9999c7r9b0", RouterBMC}, {"x9999c7r9b0i3", RouterBMCNic}, {"x9999c7r9v2", RouterPowerConnector},
		{"x9999c7r9e9", HSNBoard}, {"x9999c7r9a3l9", HSNLink}, {"x9999c7r9j9", HSNConnector}, {"x9999c7r9j9p2", HSNConnectorPort},
		{"x9999c7w9", MgmtSwitch}, {"x9999c7h9", MgmtHLSwitchEnclosure}, {"x9999c7h9s9", MgmtHLSwitch},
		{"x9999c7w9j9", MgmtSwitchConnector}, {"sms1", SMSBox}, {"p1", Partition}, {"p1.2", Partition},
		// Outside hms-xname's ranges.
		{"x9999c8", Invalid}, {"x9999c8s0b0n0", Invalid}, {"x9999m4", Invalid}, {"x9999c7s17b0n9p4", Invalid},
		{"x9999c7s17b0i4", Invalid}, {"x9999c7w0", Invalid}, {"x9999c7b1", Invalid}, {"x9999c7r9j0", Invalid},
		{"x9999c7s17v3", Invalid}, {"s0", Invalid}, {"all", Invalid},
	} {
		assert.Equal(t, tc.typ, TypeOf(tc.id), tc.id)
	}
	seen := map[Type]bool{}
	for _, typ := range Types() {
		assert.False(t, seen[typ], "%s listed twice", typ)
		seen[typ] = true
	}
	assert.Len(t, seen, 51, "hms-xname's 50 named types (s0, all, all_comp, all_svc are wildcards) and VirtualNode")
}
