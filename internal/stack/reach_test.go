package stack

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckReachable(t *testing.T) {
	remote := map[string]string{"x1000c0s0b0": "http://10.1.0.5:20000", "x1000c0s0b1": "http://127.1.0.2:8000"}
	loop := map[string]string{"x1000c0s0b0": "http://127.1.0.1:8000", "x1000c0s0b1": "http://localhost:8001"}
	ok := URLs{BOS: "http://10.1.0.1:8080", HSM: "http://sim1.example:27700", BSS: "http://10.1.0.2:27701", CFS: "http://[fd00::2]:27702"}
	for _, tc := range []struct {
		name string
		u    URLs
		want string // "" for no error
	}{
		{"loopback BMCs, loopback services", URLs{BOS: "http://127.0.0.1:8080", HSM: "http://127.0.0.1:1", BMCs: loop}, ""},
		{"no BMCs", URLs{BOS: "http://127.0.0.1:8080"}, ""},
		{"remote BMCs, reachable services", with(ok, remote), ""},
		{"remote BMCs, BOS on loopback", with(URLs{BOS: "http://127.0.0.1:8080", HSM: ok.HSM}, remote), "the bos URL http://127.0.0.1:8080"},
		{"remote BMCs, BOS unspecified", with(URLs{BOS: "http://[::]:8080"}, remote), "the bos URL http://[::]:8080"},
		{"remote BMCs, HSM on localhost", with(URLs{BOS: ok.BOS, HSM: "http://localhost:27700"}, remote), "the hsm URL"},
		{"remote BMCs, BSS on 0.0.0.0", with(URLs{BOS: ok.BOS, BSS: "http://0.0.0.0:27701"}, remote), "the bss URL"},
		{"remote BMCs, CFS on 127.0.0.1", with(URLs{CFS: "http://127.0.0.1:27702"}, remote), "the cfs URL"},
		{"remote BMCs, S3 and IMS are BOS's own business", with(URLs{BOS: ok.BOS, S3: "http://127.0.0.1:1", IMS: "http://127.0.0.1:2"}, remote), ""},
		{"a BMC by host name", with(URLs{BOS: "http://127.0.0.1:8080"}, map[string]string{"x1000c0s0b0": "https://sim2.example:20000"}), "BMC x1000c0s0b0 listens for other hosts"},
	} {
		err := CheckReachable(tc.u)
		if tc.want == "" {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorContains(t, err, tc.want, tc.name)
		}
	}
}

func with(u URLs, bmcs map[string]string) URLs { u.BMCs = bmcs; return u }
