package lockstep

import (
	"fmt"
	"strings"

	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/operator"
)

// maxKernelParameters is the schema limit of a component's kernel_parameters.
const maxKernelParameters = 4096

// rootfsProtocols maps a rootfs_provider to the protocol of its root= parameter: cpss3 is
// v1's (BOA), sbps v2's.
var rootfsProtocols = map[string]string{"cpss3": "craycps-s3", "sbps": "sbps-s3"}

// KernelParameters assembles a v1 boot set's kernel command line as BOA did (reference
// bos-v1.md 5.3 "boot" step 2), joined by single spaces: the image's boot parameters; the
// boot set's kernel_parameters; root=<protocol>:<rootfs>:<etag>[:<passthrough>] for the
// cpss3 and sbps providers (root=::<passthrough> with no provider but a passthrough,
// nothing with neither); and nmd_data=url=<rootfs>,etag=<etag> for those providers. Any
// other provider, a provider on an image without a rootfs, or a result over 4,096
// characters is an error.
//
// BOA also appended bos_session_id=<session>; we do not: it would make every session's
// parameters differ, so a boot could never see that a running node already runs its
// image (and the session is on the node's component anyway).
func KernelParameters(img operator.Image, bs bos.V1BootSet) (string, error) {
	parts := strings.Fields(img.BootParameters)
	if bs.KernelParameters != "" {
		parts = append(parts, bs.KernelParameters)
	}
	switch proto, ok := rootfsProtocols[bs.RootfsProvider]; {
	case bs.RootfsProvider == "":
		if bs.RootfsProviderPassthrough != "" {
			parts = append(parts, "root=::"+bs.RootfsProviderPassthrough)
		}
	case !ok:
		return "", fmt.Errorf("unsupported rootfs_provider %q; cpss3 and sbps are supported", bs.RootfsProvider)
	case img.Rootfs == "":
		return "", fmt.Errorf("rootfs_provider %s needs a rootfs artifact, and the image manifest has none", bs.RootfsProvider)
	default:
		root := "root=" + proto + ":" + img.Rootfs + ":" + img.RootfsETag
		if bs.RootfsProviderPassthrough != "" {
			root += ":" + bs.RootfsProviderPassthrough
		}
		parts = append(parts, root, "nmd_data=url="+img.Rootfs+",etag="+img.RootfsETag)
	}
	out := strings.Join(parts, " ")
	if len(out) > maxKernelParameters {
		return "", fmt.Errorf("the assembled kernel parameters are %d characters long; at most %d are allowed", len(out), maxKernelParameters)
	}
	return out, nil
}
