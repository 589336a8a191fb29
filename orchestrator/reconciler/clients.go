package reconciler

import (
	"net/http"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/orchestrator/power"
)

// Constructors of the ports over the real services' HTTP APIs, by base URL
// (scheme://host:port), for callers that know the services only by URL (the composition
// in orchestrator/server). hc nil means http.DefaultClient.

// NewHSMInventory reads the inventory from the HSM at url.
func NewHSMInventory(url string, hc *http.Client) HSMInventory {
	return HSMInventory{Client: hsmapi.NewClient(url, hc)}
}

// Endpoints lists the nodes' BMCs from the same HSM, with creds for them.
func (h HSMInventory) Endpoints(creds *power.Credentials) power.HSMEndpoints {
	return power.HSMEndpoints{Client: h.Client, Credentials: creds}
}

// NewBSSBootParameters stores boot parameters in the BSS at url.
func NewBSSBootParameters(url string, hc *http.Client) BSSBootParameters {
	return BSSBootParameters{Client: bssapi.NewClient(url, hc)}
}

// NewCFSConfiguration reads and sets node configuration in the CFS at url.
func NewCFSConfiguration(url string, hc *http.Client) CFSConfiguration {
	return CFSConfiguration{Client: cfsapi.NewClient(url, hc)}
}
