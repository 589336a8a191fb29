package reconciler

import (
	"net/http"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/api/imsapi"
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

// NewS3Images reads boot images through the IMS at imsURL and the object store at s3URL.
func NewS3Images(imsURL, s3URL string, hc *http.Client) S3Images {
	return S3Images{Client: imsapi.NewClient(imsURL, hc), S3URL: s3URL}
}

// NewBootSetChecker checks boot sets against the IMS at imsURL and the object store at s3URL.
func NewBootSetChecker(imsURL, s3URL string, hc *http.Client) BootSetChecker {
	return BootSetChecker{Client: imsapi.NewClient(imsURL, hc), S3URL: s3URL}
}
