package ims

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
)

// art renders one manifest artifact entry.
func art(typ, path string) string {
	return `{"link":{"path":"` + path + `","etag":"e-` + path[strings.LastIndex(path, "/")+1:] + `","type":"s3"},"type":"` + typ + `","md5":"m"}`
}

func manifestJSON(artifacts ...string) string {
	return `{"version":"1.0","created":"2025-03-03 12:00:00","artifacts":[` + strings.Join(artifacts, ",") + `]}`
}

func TestParseManifest(t *testing.T) {
	kernel := art(imsapi.ArtifactKernel, "s3://boot-images/i/kernel")
	initrd := art(imsapi.ArtifactInitrd, "s3://boot-images/i/initrd")
	rootfs := art(imsapi.ArtifactRootfs, "s3://boot-images/i/rootfs")
	params := art(imsapi.ArtifactBootParameters, "s3://boot-images/i/boot_parameters")
	tests := []struct {
		name      string
		data      string
		wantErr   error // from ParseManifest
		want      imsapi.BootArtifacts
		wantBAErr error // from BootArtifacts
	}{
		{name: "OKFull", data: manifestJSON(rootfs, kernel, initrd, params), want: imsapi.BootArtifacts{
			Kernel: "s3://boot-images/i/kernel", KernelETag: "e-kernel",
			Initrd: "s3://boot-images/i/initrd", InitrdETag: "e-initrd",
			Rootfs: "s3://boot-images/i/rootfs", RootfsETag: "e-rootfs",
			BootParameters: "s3://boot-images/i/boot_parameters", BootParametersETag: "e-boot_parameters",
		}},
		{name: "OKKernelOnly", data: manifestJSON(kernel), want: imsapi.BootArtifacts{Kernel: "s3://boot-images/i/kernel", KernelETag: "e-kernel"}},
		{name: "OKUnknownTypesAndKeysIgnored", data: `{"version":"1.0","extra":1,"artifacts":[` + kernel + `,` + art("application/vnd.cray.image.debug.kernel", "s3://b/dbg") + `]}`, want: imsapi.BootArtifacts{Kernel: "s3://boot-images/i/kernel", KernelETag: "e-kernel"}},
		{name: "ErrMissingKernel", data: manifestJSON(initrd, rootfs, params), wantBAErr: imsapi.ErrArtifactNotFound},
		{name: "ErrNoArtifacts", data: manifestJSON(), wantBAErr: imsapi.ErrArtifactNotFound},
		{name: "ErrDuplicateKernel", data: manifestJSON(kernel, initrd, art(imsapi.ArtifactKernel, "s3://boot-images/i/kernel2")), wantErr: imsapi.ErrDuplicateArtifact},
		{name: "ErrDuplicateInitrd", data: manifestJSON(kernel, initrd, initrd), wantErr: imsapi.ErrDuplicateArtifact},
		{name: "ErrNotObject", data: `[]`, wantErr: imsapi.ErrBadManifest},
		{name: "ErrNotJSON", data: `hello`, wantErr: imsapi.ErrBadManifest},
		{name: "ErrEmpty", data: ``, wantErr: imsapi.ErrBadManifest},
		{name: "ErrTruncated", data: `{"artifacts":[`, wantErr: imsapi.ErrBadManifest},
		{name: "ErrNoArtifactsList", data: `{"version":"1.0"}`, wantErr: imsapi.ErrBadManifest},
		{name: "ErrArtifactsNotList", data: `{"artifacts":{}}`, wantErr: imsapi.ErrBadManifest},
		{name: "ErrArtifactWithoutType", data: manifestJSON(`{"link":{"path":"s3://b/k","type":"s3"}}`), wantErr: imsapi.ErrBadManifest},
		{name: "ErrArtifactWithoutPath", data: manifestJSON(`{"link":{"type":"s3"},"type":"` + imsapi.ArtifactKernel + `"}`), wantErr: imsapi.ErrBadManifest},
		{name: "ErrTooBig", data: manifestJSON(kernel) + strings.Repeat(" ", imsapi.MaxManifestBytes), wantErr: imsapi.ErrManifestTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := imsapi.ParseManifest([]byte(tt.data))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			ba, err := m.BootArtifacts()
			if tt.wantBAErr != nil {
				require.ErrorIs(t, err, tt.wantBAErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ba)
		})
	}
}

func TestManifestArtifact(t *testing.T) {
	// A Manifest built by hand can hold duplicates; Artifact still refuses to pick one.
	m := imsapi.Manifest{Artifacts: []imsapi.Artifact{
		{Type: imsapi.ArtifactKernel, Link: imsapi.Link{Path: "s3://b/k1"}},
		{Type: imsapi.ArtifactKernel, Link: imsapi.Link{Path: "s3://b/k2"}},
		{Type: imsapi.ArtifactInitrd, Link: imsapi.Link{Path: "s3://b/i"}},
	}}
	_, err := m.Artifact(imsapi.ArtifactKernel)
	assert.ErrorIs(t, err, imsapi.ErrDuplicateArtifact)
	_, err = m.BootArtifacts()
	assert.ErrorIs(t, err, imsapi.ErrDuplicateArtifact)
	a, err := m.Artifact(imsapi.ArtifactInitrd)
	require.NoError(t, err)
	assert.Equal(t, "s3://b/i", a.Link.Path)
	_, err = m.Artifact(imsapi.ArtifactRootfs)
	assert.ErrorIs(t, err, imsapi.ErrArtifactNotFound)

	m = imsapi.Manifest{Artifacts: []imsapi.Artifact{{Type: imsapi.ArtifactKernel}, {Type: imsapi.ArtifactRootfs}, {Type: imsapi.ArtifactRootfs}}}
	_, err = m.BootArtifacts()
	assert.ErrorIs(t, err, imsapi.ErrDuplicateArtifact, "a duplicate optional artifact is an error too")
}

func TestParseS3Path(t *testing.T) {
	tests := []struct {
		in, bucket, key string
		ok              bool
	}{
		{"s3://boot-images/abc/manifest.json", "boot-images", "abc/manifest.json", true},
		{"s3://b/k", "b", "k", true},
		{"s3://boot-images/deleted/abc/kernel", "boot-images", "deleted/abc/kernel", true},
		{"s3://boot-images", "", "", false},
		{"s3://boot-images/", "", "", false},
		{"s3:///key", "", "", false},
		{"http://host/b/k", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, k, err := imsapi.ParseS3Path(tt.in)
			if !tt.ok {
				assert.ErrorIs(t, err, imsapi.ErrBadS3Path)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.bucket, b)
			assert.Equal(t, tt.key, k)
			assert.Equal(t, tt.in, imsapi.S3Path(b, k))
		})
	}
}

// Every seeded manifest is what BOS expects: version 1.0, the four artifact types once
// each, s3 links under the image's own id.
func TestSeededManifests(t *testing.T) {
	s := mustServer(t)
	for _, img := range s.Images() {
		t.Run(img.Name, func(t *testing.T) {
			raw, info, err := s.GetObject(Bucket, img.ID+"/manifest.json")
			require.NoError(t, err)
			assert.Equal(t, "application/json", info.ContentType)
			m, err := imsapi.ParseManifest(raw)
			require.NoError(t, err)
			assert.Equal(t, imsapi.ManifestVersion, m.Version)
			assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, m.Created)
			ba, err := m.BootArtifacts()
			require.NoError(t, err)
			prefix := "s3://boot-images/" + img.ID + "/"
			assert.Equal(t, prefix+"kernel", ba.Kernel)
			assert.Equal(t, prefix+"initrd", ba.Initrd)
			assert.Equal(t, prefix+"rootfs", ba.Rootfs)
			assert.Equal(t, prefix+"boot_parameters", ba.BootParameters)
			for _, a := range m.Artifacts {
				assert.Equal(t, imsapi.LinkTypeS3, a.Link.Type)
			}
			params, _, err := s.GetObject(Bucket, img.ID+"/boot_parameters")
			require.NoError(t, err)
			assert.Contains(t, string(params), "spire_join_token=${SPIRE_JOIN_TOKEN}")
			assert.Contains(t, string(params), "ip=dhcp")
			if img.Arch == imsapi.ArchAarch64 {
				assert.Contains(t, string(params), "console=ttyAMA0,115200")
			} else {
				assert.Contains(t, string(params), "console=ttyS0,115200")
			}
		})
	}
}
