package bootsets

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cray-bos/bos/api/imsapi"
)

// Image is what a boot set's manifest provides (reference 4.6).
type Image struct {
	Kernel, Initrd string // s3:// paths; Initrd may be ""
	Rootfs         string // s3:// path of the squashfs, "" if none
	RootfsETag     string
	BootParameters string // contents of the boot-parameters artifact, "" if none
}

// Images reads boot images (the S3 manifest named by a boot set's path).
type Images interface {
	Image(ctx context.Context, manifestPath string) (Image, error)
}

// S3Images reads boot images from their S3 manifests.
type S3Images struct {
	Client *imsapi.Client
	S3URL  string // scheme://host:port of the object store
}

var _ Images = S3Images{}

// maxBootParamsBytes bounds the boot-parameters artifact BOS reads into a command line.
const maxBootParamsBytes = 64 << 10

func (s S3Images) Image(ctx context.Context, manifestPath string) (Image, error) {
	m, err := s.Client.ReadManifest(ctx, s.S3URL, manifestPath)
	if err != nil {
		return Image{}, err
	}
	a, err := m.BootArtifacts()
	if err != nil {
		return Image{}, fmt.Errorf("manifest %s: %w", manifestPath, err)
	}
	img := Image{Kernel: a.Kernel, Initrd: a.Initrd, Rootfs: a.Rootfs, RootfsETag: a.RootfsETag}
	if a.BootParameters != "" {
		raw, _, err := s.Client.GetObject(ctx, s.S3URL, a.BootParameters, maxBootParamsBytes)
		if err != nil {
			return Image{}, fmt.Errorf("boot parameters of %s: %w", manifestPath, err)
		}
		img.BootParameters = string(raw)
	}
	return img, nil
}

// NewS3Images reads boot images through the IMS at imsURL and the object store at s3URL.
func NewS3Images(imsURL, s3URL string, hc *http.Client) S3Images {
	return S3Images{Client: imsapi.NewClient(imsURL, hc), S3URL: s3URL}
}

// NewBootSetChecker checks boot sets against the IMS at imsURL and the object store at s3URL.
func NewBootSetChecker(imsURL, s3URL string, hc *http.Client) BootSetChecker {
	return BootSetChecker{Client: imsapi.NewClient(imsURL, hc), S3URL: s3URL}
}
