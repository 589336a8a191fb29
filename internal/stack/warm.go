package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/cray-bos/bos/api/hsmapi"
)

// Warm is the state WaitWarm waited for.
type Warm struct {
	// BMCs HSM lists and, of them, those it has discovered.
	BMCs, Discovered int
	// Subscribed is how many BMCs send BOS their power events; -1 when BOS subscribes
	// to none (PCS power, or no BOS here).
	Subscribed int
}

// warmPoll is how often WaitWarm reads HSM's discovery status.
const warmPoll = 100 * time.Millisecond

// WaitWarm waits until HSM has tried to discover every BMC it lists (the BMCs of every
// shard registered) and BOS, when it runs here, has subscribed to BMC events: until
// then, a boot would also pay for discovery and subscriptions. It fails when ctx ends
// first, saying what is pending.
func (s *Stack) WaitWarm(ctx context.Context) (Warm, error) {
	w := Warm{Subscribed: -1}
	if s.URLs.HSM != "" {
		c := hsmapi.NewClient(s.URLs.HSM, s.HTTPClient())
		tick := time.NewTicker(warmPoll)
		defer tick.Stop()
		for {
			eps, err := c.RedfishEndpoints(ctx)
			if err != nil {
				return w, fmt.Errorf("warm-up: %w", err)
			}
			pending := 0
			w.BMCs, w.Discovered = len(eps), 0
			for _, ep := range eps {
				switch ep.DiscoveryInfo.LastDiscoveryStatus {
				case "DiscoverOK":
					w.Discovered++
				case "NotYetQueried", "DiscoveryStarted":
					pending++
				}
			}
			if pending == 0 {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return w, fmt.Errorf("warm-up: HSM has %d of %d BMCs still to discover: %w", pending, w.BMCs, ctx.Err())
			}
		}
	}
	if s.BOS != nil {
		n, err := s.BOS.Subscribed(ctx)
		if err != nil {
			return w, fmt.Errorf("warm-up: BOS still subscribing to BMC events: %w", err)
		}
		w.Subscribed = n
	}
	return w, nil
}
