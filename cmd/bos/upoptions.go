package main

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/simulator"
)

// The rule by which `bos up` sets BOS's time options for its simulated hardware, as told
// in its --help, docs/cli.md and the README.
const optionsRule = `BOS's time options follow the simulated hardware: each wait is the slowest the simulator
can be at --delay-scale (every delay at the top of its ±20% jitter) plus a slack for the
software's own work, which does not scale: 5 s + 1 s per 50 nodes (20 ms of BOS's work
per node, several times what an idle machine needs, so a loaded one still keeps up).
  max_power_on_wait_time   power on                  (default scale 0.05, 200 nodes: 10 s)
  max_boot_wait_time       power on + POST + boot    (                               21 s)
  max_power_off_wait_time  graceful shutdown         (                               11 s)
  polling_frequency        15 s × --delay-scale, at least 1 s                         (1 s)
--option KEY=VALUE (repeatable) then sets any option, e.g. --option max_boot_wait_time=60.`

// simulatedOptions are BOS's time options for hardware with timing t, for nodes nodes
// (optionsRule). Waits are whole seconds, rounded up.
func simulatedOptions(t simulator.Timing, nodes int) map[string]any {
	slack := 5 + nodes/50
	slowest := func(ds ...time.Duration) int {
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		return int(math.Ceil(sum.Seconds()*t.Scale*(1+t.Jitter))) + slack
	}
	return map[string]any{
		"max_power_on_wait_time":  slowest(t.PowerOn),
		"max_boot_wait_time":      slowest(t.PowerOn, t.POST, t.Boot),
		"max_power_off_wait_time": slowest(t.GracefulShutdown),
		"polling_frequency":       max(1, int(math.Round(float64(bos.DefaultOptions().PollingFrequency)*t.Scale))),
	}
}

// parseOptionFlags turns --option KEY=VALUE values into a PATCH of BOS's options, checked
// as BOS would check it (known key, value of the option's type and in its range).
func parseOptionFlags(values []string) (map[string]any, error) {
	kinds := map[string]reflect.Kind{}
	t := reflect.TypeOf(bos.Options{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		kinds[name] = t.Field(i).Type.Kind()
	}
	patch := map[string]any{}
	for _, v := range values {
		key, val, ok := strings.Cut(v, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--option %q: want KEY=VALUE, e.g. max_boot_wait_time=60", v)
		}
		key = strings.ReplaceAll(key, "-", "_")
		kind, known := kinds[key]
		switch {
		case !known:
			names := make([]string, 0, len(kinds))
			for n := range kinds {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("--option %q: unknown option %q (options: %s)", v, key, strings.Join(names, ", "))
		case kind == reflect.Int:
			n, err := strconv.Atoi(val)
			if err != nil {
				return nil, fmt.Errorf("--option %q: %s takes a whole number", v, key)
			}
			patch[key] = n
		case kind == reflect.Bool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				return nil, fmt.Errorf("--option %q: %s takes true or false", v, key)
			}
			patch[key] = b
		default:
			patch[key] = val
		}
	}
	if len(patch) > 0 {
		o := bos.DefaultOptions()
		raw, _ := json.Marshal(patch)
		if err := o.Patch(raw); err != nil {
			return nil, fmt.Errorf("--option: %w", err)
		}
	}
	return patch, nil
}

// describeOptions is "k v, k v" for the options of patch that are in keys, in that order.
func describeOptions(patch map[string]any) string {
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, patch[k])
	}
	return strings.Join(parts, " ")
}
