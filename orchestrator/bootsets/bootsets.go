package bootsets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	bos "github.com/cray-bos/bos/orchestrator"

	"github.com/cray-bos/bos/api/imsapi"
)

// BootSetChecker performs the artifact and IMS checks BOS runs on each boot set at
// session creation and for /v2/sessiontemplatesvalid (reference 1.6), over the S3 and IMS
// APIs. The structural checks stay in the domain (bos.CheckBootSets).
type BootSetChecker struct {
	Client *imsapi.Client
	S3URL  string
}

var _ bos.BootSetChecker = BootSetChecker{}

// imsArch maps a boot set's arch to IMS's.
var imsArch = map[string]string{"X86": "x86_64", "Unknown": "x86_64", "ARM": "aarch64"}

// invalid is a boot-set check failure: BOS answers 400 with its text.
func invalid(format string, args ...any) error { return bos.Errorf(bos.EINVALID, format, args...) }

// CheckBootSet runs the S3 and IMS checks of BOS's boot-set validation (reference 1.6);
// its errors carry BOS's own sentences ("Can't find boot artifacts. Error: ...", the arch
// mismatch) and are EINVALID, so the API answers 400 with them.
func (b BootSetChecker) CheckBootSet(ctx context.Context, operation string, bs bos.BootSet, o bos.Options) (warnings []string, err error) {
	if operation != bos.OpBoot && operation != bos.OpReboot {
		return nil, nil
	}
	if bs.Type != "s3" {
		return nil, invalid("boot set type %q is not supported; only s3 is", bs.Type)
	}
	m, err := b.Client.ReadManifest(ctx, b.S3URL, bs.Path)
	if err != nil {
		return nil, invalid("Can't find boot artifacts. Error: %v", err)
	}
	kernel, err := m.Artifact(imsapi.ArtifactKernel)
	if err != nil {
		return nil, invalid("Can't find kernel in %s. Error: %v", bs.Path, err)
	}
	if _, err := b.Client.HeadObject(ctx, b.S3URL, kernel.Link.Path); err != nil {
		return nil, invalid("Can't find kernel in %s. Error: %v", bs.Path, err)
	}
	if initrd, err := m.Artifact(imsapi.ArtifactInitrd); err != nil {
		warnings = append(warnings, fmt.Sprintf("manifest %s has no usable initrd: %v", bs.Path, err))
	} else if _, err := b.Client.HeadObject(ctx, b.S3URL, initrd.Link.Path); err != nil {
		warnings = append(warnings, fmt.Sprintf("initrd %s cannot be read: %v", initrd.Link.Path, err))
	}

	// IMS: the image id is the first segment of the manifest's S3 key.
	_, key, err := imsapi.ParseS3Path(bs.Path)
	if err != nil {
		return warnings, invalid("Can't find boot artifacts. Error: %v", err)
	}
	id, _, _ := strings.Cut(key, "/")
	img, err := b.Client.GetImage(ctx, id)
	switch {
	case errors.Is(err, imsapi.ErrImageNotFound):
		if o.IMSImagesMustExist {
			return warnings, invalid("IMS image %s does not exist (ims_images_must_exist)", id)
		}
		return append(warnings, fmt.Sprintf("IMS image %s does not exist", id)), nil
	case err != nil:
		if o.IMSErrorsFatal {
			return warnings, invalid("IMS image %s: %v (ims_errors_fatal)", id, err)
		}
		return append(warnings, fmt.Sprintf("IMS image %s could not be checked: %v", id, err)), nil
	}
	arch := bs.Arch
	if arch == "" {
		arch = "X86"
	}
	if arch == "Other" {
		return append(warnings, "boot set arch Other: the IMS image's arch is not checked"), nil
	}
	have := img.Arch
	if have == "" {
		have = "x86_64"
	}
	if want := imsArch[arch]; want != have {
		return warnings, invalid("Boot set arch '%s' means IMS image arch should be '%s', but actual IMS image arch is '%s'", arch, want, have)
	}
	return warnings, nil
}
