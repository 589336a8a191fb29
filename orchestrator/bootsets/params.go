package bootsets

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	bos "github.com/cray-bos/bos/orchestrator"
)

// maxKernelParameters is the schema limit of boot_artifacts.kernel_parameters: a longer
// command line fails the session rather than every component write.
const maxKernelParameters = 4096

// ParamRules are the inputs of the kernel parameters that differ between the v2 session
// setup and the v1 agent: which rootfs providers each supports, and the actual-state TTL
// passed as bos_update_frequency.
type ParamRules struct {
	// RootfsProtocols maps each supported rootfs_provider to the protocol of its root=.
	RootfsProtocols map[string]string
	// UpdateFrequency is bos_update_frequency, bos-reporter's interval
	// (component_actual_state_ttl); "" leaves the parameter out.
	UpdateFrequency string
}

// Rootfs providers: BOS v2 supports only sbps; BOA also cpss3 (reference bos-v1.md 5.3).
var (
	V2RootfsProtocols = map[string]string{"sbps": "sbps-s3"}
	V1RootfsProtocols = map[string]string{"cpss3": "craycps-s3", "sbps": "sbps-s3"}
)

// V2Params are the v2 session setup's rules under opts.
func V2Params(opts bos.Options) ParamRules {
	return ParamRules{RootfsProtocols: V2RootfsProtocols, UpdateFrequency: opts.ComponentActualStateTTL}
}

// V1Params are the v1 agent's rules under opts. BOA added no bos_update_frequency; we do:
// the v1 agent waits for bos-reporter's token report, and the actual-state TTL cleanup
// applies to v1-booted nodes too, so the reporter needs the interval v2 gives it.
func V1Params(opts bos.Options) ParamRules {
	return ParamRules{RootfsProtocols: V1RootfsProtocols, UpdateFrequency: opts.ComponentActualStateTTL}
}

// KernelParameters assembles a boot set's kernel command line (reference bos-v2.md 4.6
// step 2, bos-v1.md 5.3 "boot" step 2), joined by single spaces: the image's boot
// parameters (split on white space), the boot set's kernel_parameters as they are, the
// rootfs parameter, nmd_data=url=<rootfs>,etag=<etag> with a rootfs provider, and
// bos_update_frequency=<r.UpdateFrequency> when set.
//
// The rootfs parameter is root=<protocol>:<rootfs>:<etag>[:<passthrough>] for a provider
// in r.RootfsProtocols (whose image must then have a rootfs), root=::<passthrough> with
// no provider but a passthrough, and nothing otherwise. Any other provider is an error.
// BOA's bos_session_id is never added: it would make every session's parameters differ.
func KernelParameters(img Image, bs bos.BootSet, r ParamRules) (string, error) {
	parts := strings.Fields(img.BootParameters)
	if bs.KernelParameters != "" {
		parts = append(parts, bs.KernelParameters)
	}
	switch proto, ok := r.RootfsProtocols[bs.RootfsProvider]; {
	case bs.RootfsProvider == "":
		if bs.RootfsProviderPassthrough != "" {
			parts = append(parts, "root=::"+bs.RootfsProviderPassthrough)
		}
	case !ok:
		return "", fmt.Errorf("unsupported rootfs_provider %q; supported: %s",
			bs.RootfsProvider, strings.Join(slices.Sorted(maps.Keys(r.RootfsProtocols)), ", "))
	case img.Rootfs == "":
		return "", fmt.Errorf("rootfs_provider %s needs a rootfs artifact, and the image manifest has none", bs.RootfsProvider)
	default:
		root := "root=" + proto + ":" + img.Rootfs + ":" + img.RootfsETag
		if bs.RootfsProviderPassthrough != "" {
			root += ":" + bs.RootfsProviderPassthrough
		}
		parts = append(parts, root, "nmd_data=url="+img.Rootfs+",etag="+img.RootfsETag)
	}
	if r.UpdateFrequency != "" {
		parts = append(parts, "bos_update_frequency="+r.UpdateFrequency)
	}
	return strings.Join(parts, " "), nil
}

// BootArtifactsFor is what a boot set boots from img: its kernel and initrd and the
// kernel parameters (KernelParameters). A missing kernel and parameters over the schema's
// 4,096 characters are errors.
func BootArtifactsFor(img Image, bs bos.BootSet, r ParamRules) (bos.BootArtifacts, error) {
	if img.Kernel == "" {
		return bos.BootArtifacts{}, errors.New("the image manifest has no kernel")
	}
	params, err := KernelParameters(img, bs, r)
	if err != nil {
		return bos.BootArtifacts{}, err
	}
	if n := len(params); n > maxKernelParameters {
		return bos.BootArtifacts{}, fmt.Errorf("the assembled kernel parameters are %d characters long; at most %d are allowed", n, maxKernelParameters)
	}
	return bos.BootArtifacts{Kernel: img.Kernel, KernelParameters: params, Initrd: img.Initrd}, nil
}
