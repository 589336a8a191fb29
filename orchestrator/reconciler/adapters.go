package reconciler

import (
	"context"
	"fmt"
	"strings"

	"github.com/cray-bos/bos/api/bssapi"
	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/api/hsmapi"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/selection"
)

// HSMInventory reads BOS's inventory through the HSM API.
type HSMInventory struct{ Client *hsmapi.Client }

var _ selection.Inventory = HSMInventory{}

func (h HSMInventory) Nodes(ctx context.Context) ([]selection.Node, error) {
	comps, err := h.Client.GetComponents(ctx, hsmapi.ComponentFilter{Type: []string{"Node"}})
	if err != nil {
		return nil, fmt.Errorf("hsm nodes: %w", err)
	}
	nodes := make([]selection.Node, 0, len(comps))
	for _, c := range comps {
		nodes = append(nodes, selection.Node{ID: c.ID, Role: c.Role, SubRole: c.SubRole, Arch: c.Arch, Enabled: c.Enabled == nil || *c.Enabled})
	}
	return nodes, nil
}

func (h HSMInventory) Groups(ctx context.Context) (map[string][]string, error) {
	groups, err := h.Client.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("hsm groups: %w", err)
	}
	out := make(map[string][]string, len(groups))
	for _, g := range groups {
		out[g.Label] = g.Members.IDs
	}
	return out, nil
}

func (h HSMInventory) Partitions(ctx context.Context) (map[string][]string, error) {
	parts, err := h.Client.Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("hsm partitions: %w", err)
	}
	out := make(map[string][]string, len(parts))
	for _, p := range parts {
		out[p.Name] = p.Members.IDs
	}
	return out, nil
}

func (h HSMInventory) LockedNodes(ctx context.Context) ([]string, error) {
	ids, err := h.Client.LockedNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("hsm locks: %w", err)
	}
	return ids, nil
}

// BSSBootParameters stores boot parameters through the BSS API.
type BSSBootParameters struct{ Client *bssapi.Client }

var _ BootParameters = BSSBootParameters{}

func (b BSSBootParameters) Put(ctx context.Context, hosts []string, a bos.BootArtifacts) (string, error) {
	token, err := b.Client.PutBootParameters(ctx, bssapi.BootParams{Hosts: hosts, Kernel: a.Kernel, Initrd: a.Initrd, Params: a.KernelParameters})
	if err != nil {
		return "", fmt.Errorf("bss put bootparameters: %w", err)
	}
	if token == "" {
		return "", fmt.Errorf("bss put bootparameters: reply has no BSS-Referral-Token header")
	}
	return token, nil
}

// CFSConfiguration reads and sets node configuration through the CFS v3 API.
type CFSConfiguration struct{ Client *cfsapi.Client }

var _ Configuration = CFSConfiguration{}

// cfsReadChunk is how many ids one CFS GET names (BOS uses 200).
const cfsReadChunk = 200

func (c CFSConfiguration) Components(ctx context.Context, ids []string) (map[string]CFSView, error) {
	out := make(map[string]CFSView, len(ids))
	for start := 0; start < len(ids); start += cfsReadChunk {
		chunk := ids[start:min(start+cfsReadChunk, len(ids))]
		comps, err := c.Client.GetComponents(ctx, cfsapi.ComponentQuery{IDs: chunk})
		if err != nil {
			return nil, fmt.Errorf("cfs components: %w", err)
		}
		for _, comp := range comps {
			out[comp.ID] = CFSView{DesiredConfig: comp.DesiredConfig, Status: strings.ToLower(comp.ConfigurationStatus), Enabled: comp.Enabled}
		}
	}
	return out, nil
}

func (c CFSConfiguration) SetDesired(ctx context.Context, ids []string, configuration string, enabled, clearState bool, session string) error {
	patch := cfsapi.ComponentPatch{DesiredConfig: &configuration, Enabled: &enabled, Tags: map[string]string{"bos_session": session}}
	if clearState {
		patch.State = &[]cfsapi.StateLayer{}
	}
	if _, err := c.Client.PatchComponents(ctx, patch, cfsapi.Filter{IDs: ids}); err != nil {
		return fmt.Errorf("cfs patch components: %w", err)
	}
	return nil
}
