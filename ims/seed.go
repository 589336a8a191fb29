package ims

import (
	"encoding/json"
	"fmt"
	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/internal/uuid"
	"time"
)

// Names of the default seed images. Their ids are ImageID(name), so tests and demos can
// refer to them without asking IMS.
const (
	// ImageCompute is the compute (COS on SLES) image nodes boot by default.
	ImageCompute = "cos-3.1.0-x86_64"
	// ImageComputeARM is its aarch64 twin.
	ImageComputeARM = "cos-3.1.0-aarch64"
	// ImageUAN is the user access node image.
	ImageUAN = "uan-2.6.0-x86_64"
	// ImageComputeNext is a newer compute image, for upgrade demos.
	ImageComputeNext = "cos-3.2.0-x86_64"
	// ImageComputeNextARM is the newer compute image's aarch64 twin.
	ImageComputeNextARM = "cos-3.2.0-aarch64"
)

// ImageSpec describes an image to create at start.
type ImageSpec struct {
	// Name is the IMS image name; the id is ImageID(Name). Required, unique.
	Name string
	// Arch is x86_64 (default) or aarch64.
	Arch string
	// KernelParameters is the content of the image's boot parameters object. Default
	// DefaultKernelParameters(Arch).
	KernelParameters string
	// Created stamps the record and the manifest. Default: Config.Now() at New.
	Created time.Time
}

// DefaultImages is the seed used when Config.Images is nil: the 3.1.0 compute image in
// both architectures, a UAN image, and the newer 3.2.0 compute image in both
// architectures.
func DefaultImages() []ImageSpec {
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 12, 0, 0, 0, time.UTC) }
	uan := "console=ttyS0,115200 bad_page=panic crashkernel=512M hugepagelist=2m-2g intel_iommu=off iommu.passthrough=on oops=panic rd.neednet=1 rd.retry=10 rd.shell ip=dhcp quiet spire_join_token=${SPIRE_JOIN_TOKEN}"
	return []ImageSpec{
		{Name: ImageCompute, Arch: imsapi.ArchX86_64, Created: day(time.March, 3)},
		{Name: ImageComputeARM, Arch: imsapi.ArchAarch64, Created: day(time.March, 3).Add(time.Minute)},
		{Name: ImageUAN, Arch: imsapi.ArchX86_64, KernelParameters: uan, Created: day(time.April, 14)},
		{Name: ImageComputeNext, Arch: imsapi.ArchX86_64, Created: day(time.September, 22)},
		{Name: ImageComputeNextARM, Arch: imsapi.ArchAarch64, Created: day(time.September, 22).Add(time.Minute)},
	}
}

// DefaultKernelParameters is a realistic boot parameters string for a compute image of
// the architecture. ${SPIRE_JOIN_TOKEN} is left for BSS to fill, as on a real system.
func DefaultKernelParameters(arch string) string {
	if arch == imsapi.ArchAarch64 {
		return "console=ttyAMA0,115200 bad_page=panic crashkernel=360M hugepagelist=2m-2g iommu.passthrough=on numa_interleave_omit=headless oops=panic pageblock_order=14 rd.neednet=1 rd.retry=10 rd.shell ip=dhcp quiet spire_join_token=${SPIRE_JOIN_TOKEN}"
	}
	return "console=ttyS0,115200 bad_page=panic crashkernel=360M hugepagelist=2m-2g intel_iommu=off intel_pstate=disable iommu.passthrough=on numa_interleave_omit=headless oops=panic pageblock_order=14 rd.neednet=1 rd.retry=10 rd.shell split_lock_detect=off ip=dhcp quiet spire_join_token=${SPIRE_JOIN_TOKEN}"
}

// imageNamespace is the name space of ImageID, a fixed random UUID of our own.
var imageNamespace = [16]byte{0x4b, 0x1d, 0x9e, 0x52, 0x7c, 0x3a, 0x4f, 0x0e, 0x9a, 0x61, 0x2d, 0x8f, 0x15, 0xc4, 0x73, 0xb0}

// ImageID is the stable id of a seeded or AddImage'd image: a name-based (version 5,
// SHA-1) UUID of name, so the same name always gives the same id.
func ImageID(name string) string { return uuid.FromName(imageNamespace[:], name) }

// formatCreated is IMS's record timestamp: ISO 8601 with microseconds and an offset.
func formatCreated(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000-07:00")
}

// manifestCreated is the manifest's own "created" format.
func manifestCreated(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// writeArtifacts stores an image's fake artifacts and its manifest under <id>/ in Bucket
// and returns the manifest link. The objects are a few bytes each; what matters is that
// they exist, have ETags, and that the boot parameters object holds real parameters.
func (s *Server) writeArtifacts(id, name, arch, kernelParams string, created time.Time) (imsapi.Link, error) {
	if kernelParams == "" {
		kernelParams = DefaultKernelParameters(arch)
	}
	files := []struct {
		key, typ, content string
	}{
		{"rootfs", imsapi.ArtifactRootfs, fmt.Sprintf("hsqs fake squashfs root file system of %s (%s)\n", name, arch)},
		{"kernel", imsapi.ArtifactKernel, fmt.Sprintf("fake kernel of %s (%s)\n", name, arch)},
		{"initrd", imsapi.ArtifactInitrd, fmt.Sprintf("fake initrd of %s (%s)\n", name, arch)},
		{"boot_parameters", imsapi.ArtifactBootParameters, kernelParams},
	}
	m := imsapi.Manifest{Version: imsapi.ManifestVersion, Created: manifestCreated(created), Artifacts: make([]imsapi.Artifact, 0, len(files))}
	for _, f := range files {
		info, err := s.store.put(Bucket, id+"/"+f.key, []byte(f.content), "application/octet-stream")
		if err != nil {
			return imsapi.Link{}, fmt.Errorf("write %s: %w", f.key, err)
		}
		m.Artifacts = append(m.Artifacts, imsapi.Artifact{
			Link: imsapi.Link{Path: imsapi.S3Path(Bucket, info.Key), ETag: info.ETag, Type: imsapi.LinkTypeS3},
			Type: f.typ,
			MD5:  info.ETag, // single-part upload: the ETag is the MD5
		})
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return imsapi.Link{}, fmt.Errorf("encode manifest: %w", err)
	}
	info, err := s.store.put(Bucket, id+"/manifest.json", raw, "application/json")
	if err != nil {
		return imsapi.Link{}, fmt.Errorf("write manifest: %w", err)
	}
	return imsapi.Link{Path: imsapi.S3Path(Bucket, info.Key), ETag: info.ETag, Type: imsapi.LinkTypeS3}, nil
}
