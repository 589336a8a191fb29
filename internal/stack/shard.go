package stack

import (
	"context"
	"fmt"
	"sync"

	"github.com/cray-bos/bos/api/hsmapi"
	"github.com/cray-bos/bos/simulator"
)

// registerWorkers is how many BMCs registerBMCs registers with HSM at once.
const registerWorkers = 16

// registerBMCs tells the HSM running elsewhere where the BMCs of this stack listen and
// how to log in (PATCH of each RedfishEndpoint), as a site registers BMCs it adds. HSM
// must know each BMC already, from the whole topology, and what it seeded from it is
// what a discovery would read (hsm's TestDiscoverAgreesWithSeed), so the PATCH turns
// RediscoverOnUpdate off, as the first shard's BMCs are never rediscovered either:
// rediscovering 45,000 BMCs (some 44 Redfish GETs each) took a 100,000-node cluster's
// start-up 90 to 160 s a shard.
func (s *Stack) registerBMCs(ctx context.Context) error {
	c := hsmapi.NewClient(s.URLs.HSM, s.HTTPClient())
	bmcs := s.Sim.BMCs()
	noRediscovery := false
	work := make(chan simulator.BMCInfo)
	errs := make(chan error, registerWorkers)
	var wg sync.WaitGroup
	for range min(registerWorkers, len(bmcs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				err := c.PatchRedfishEndpoint(ctx, b.Xname, hsmapi.RedfishEndpointUpdate{FQDN: hostPort(b.URL), User: b.Username, Password: b.Password,
					RediscoverOnUpdate: &noRediscovery})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
send:
	for _, b := range bmcs {
		select {
		case work <- b:
		case err = <-errs:
			break send
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	if err != nil {
		return fmt.Errorf("stack: registering the BMCs with HSM at %s (it must run the whole topology): %w", s.URLs.HSM, err)
	}
	return nil
}
