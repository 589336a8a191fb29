package ims

import (
	"testing"

	"github.com/cray-bos/bos/internal/conformance"
)

// imsDeviations are the differences from IMS 3.33.0's published document that we mean,
// each with its reason.
var imsDeviations = []conformance.Deviation{
	conformance.ProblemJSON("IMS's code (connexion's problem())"),
}

// TestConformsToIMS validates the IMS image operations we serve, on success and error
// paths, against IMS 3.33.0's document, through the gateway paths (/apis/ims/v3): what
// BOS asks (GET an image, PATCH its arch-less tag) and cray ims images shaped requests.
func TestConformsToIMS(t *testing.T) {
	s := mustServer(t)
	c := conformance.New(t, conformance.IMS, s.IMSHandler(), imsDeviations...)
	images := s.Images()
	if len(images) == 0 {
		t.Fatal("no seeded image")
	}
	id := images[0].ID

	c.Do("GET", "/v3/images", nil)
	c.Do("GET", "/v3/images/"+id, nil)
	c.Do("GET", "/v3/images/00000000-0000-0000-0000-000000000000", nil)
	var created struct{ ID string }
	c.Do("POST", "/v3/images", map[string]any{"name": "new-image", "arch": "x86_64"}).JSON(t, &created)
	c.DoInvalid("POST", "/v3/images", map[string]any{"arch": "x86_64"})
	c.Do("PATCH", "/v3/images/"+id, map[string]any{"metadata": map[string]any{"operation": "set", "key": "sbps-project", "value": "true"}})
	c.Do("PATCH", "/v3/images/"+created.ID, map[string]any{"arch": "aarch64"})
	c.DoInvalid("PATCH", "/v3/images/"+id, map[string]any{"arch": "sparc"})
	c.Do("DELETE", "/v3/images/"+created.ID, nil)
	c.Do("GET", "/v3/deleted/images", nil)
	c.Do("GET", "/v3/deleted/images/"+created.ID, nil)
	c.Do("PATCH", "/v3/deleted/images/"+created.ID, map[string]any{"operation": "undelete"})
	c.Do("DELETE", "/v3/images/"+created.ID, nil)
	c.Do("DELETE", "/v3/deleted/images/"+created.ID, nil)
	c.Do("DELETE", "/v3/deleted/images/"+created.ID, nil)
	c.Do("PATCH", "/v3/deleted/images", map[string]any{"operation": "undelete"})
	c.Do("DELETE", "/v3/images", nil)
	c.Do("DELETE", "/v3/deleted/images", nil)

	c.RequireAll("/v3/images", nil)
}
