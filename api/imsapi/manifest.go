package imsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Artifact types found in an image manifest, spelled as IMS writes them.
const (
	ArtifactKernel         = "application/vnd.cray.image.kernel"
	ArtifactInitrd         = "application/vnd.cray.image.initrd"
	ArtifactRootfs         = "application/vnd.cray.image.rootfs.squashfs"
	ArtifactBootParameters = "application/vnd.cray.image.parameters.boot"
	// ArtifactManifest only appears in a deleted_manifest.json, naming where the image's
	// own manifest.json was moved to.
	ArtifactManifest = "application/vnd.cray.image.manifest"
)

// ManifestVersion is the manifest format IMS writes.
const ManifestVersion = "1.0"

// MaxManifestBytes is the largest manifest BOS will read (CASMCMS-7902); anything bigger
// is certainly not a manifest.
const MaxManifestBytes = 1 << 20

// LinkTypeS3 is the only link type IMS and BOS use.
const LinkTypeS3 = "s3"

// Errors returned when reading a manifest.
var (
	// ErrArtifactNotFound: the manifest has no artifact of the asked type.
	ErrArtifactNotFound = errors.New("artifact not found in manifest")
	// ErrDuplicateArtifact: the manifest has more than one artifact of one type, which BOS
	// treats as an error.
	ErrDuplicateArtifact = errors.New("multiple artifacts of one type in manifest")
	// ErrManifestTooBig: the manifest object is over MaxManifestBytes.
	ErrManifestTooBig = errors.New("manifest larger than 1 MiB")
	// ErrBadManifest: the manifest is not a JSON object of the expected shape.
	ErrBadManifest = errors.New("malformed manifest")
	// ErrBadS3Path: a path is not of the form s3://bucket/key.
	ErrBadS3Path = errors.New("not an s3://bucket/key path")
)

// Link locates an object: an image's manifest, or one artifact inside a manifest.
// ETag is the object's S3 ETag without quotes.
type Link struct {
	Path string `json:"path"`
	ETag string `json:"etag,omitempty"`
	Type string `json:"type"`
}

// Artifact is one entry of a manifest's artifacts list.
type Artifact struct {
	Link Link   `json:"link"`
	Type string `json:"type"`
	MD5  string `json:"md5,omitempty"`
}

// Manifest is an image's manifest.json. Created is IMS's "YYYY-MM-DD HH:MM:SS" string.
type Manifest struct {
	Version   string     `json:"version"`
	Created   string     `json:"created"`
	Artifacts []Artifact `json:"artifacts"`
}

// BootArtifacts is what BOS takes from a manifest: the kernel (required) and, when
// present, the initrd, rootfs and boot parameters object, with their etags.
type BootArtifacts struct {
	Kernel             string
	KernelETag         string
	Initrd             string // "" when the manifest has none
	InitrdETag         string
	Rootfs             string // "" when the manifest has none
	RootfsETag         string
	BootParameters     string // "" when the manifest has none
	BootParametersETag string
}

// ParseManifest decodes a manifest as BOS reads it: at most MaxManifestBytes, a JSON
// object with an artifacts list, each artifact with a type and an s3 link path, and no two
// artifacts of one type. A missing kernel is not an error here (BOS decides what is
// required); ask with Artifact or BootArtifacts.
func ParseManifest(data []byte) (Manifest, error) {
	if len(data) > MaxManifestBytes {
		return Manifest{}, fmt.Errorf("parse manifest: %w (%d bytes)", ErrManifestTooBig, len(data))
	}
	m, err := DecodeManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("parse manifest: %w", err)
	}
	seen := make(map[string]bool, len(m.Artifacts))
	for i, a := range m.Artifacts {
		if a.Type == "" {
			return Manifest{}, fmt.Errorf("parse manifest: %w: artifact %d has no type", ErrBadManifest, i)
		}
		if a.Link.Path == "" {
			return Manifest{}, fmt.Errorf("parse manifest: %w: artifact %d (%s) has no link path", ErrBadManifest, i, a.Type)
		}
		if seen[a.Type] {
			return Manifest{}, fmt.Errorf("parse manifest: %w: %s", ErrDuplicateArtifact, a.Type)
		}
		seen[a.Type] = true
	}
	return m, nil
}

// DecodeManifest is the lenient decoding IMS uses to find artifacts to move: any
// JSON object with an artifacts array (unknown keys are allowed, as IMS allows them).
func DecodeManifest(data []byte) (Manifest, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Manifest{}, fmt.Errorf("%w: not a JSON object", ErrBadManifest)
	}
	var m Manifest
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if m.Artifacts == nil {
		return Manifest{}, fmt.Errorf("%w: no artifacts list", ErrBadManifest)
	}
	return m, nil
}

// Artifact returns the one artifact of type typ: ErrArtifactNotFound when there is none,
// ErrDuplicateArtifact when there are several (possible only for a Manifest not built by
// ParseManifest).
func (m Manifest) Artifact(typ string) (Artifact, error) {
	var found []Artifact
	for _, a := range m.Artifacts {
		if a.Type == typ {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return Artifact{}, fmt.Errorf("%w: %s", ErrArtifactNotFound, typ)
	case 1:
		return found[0], nil
	default:
		return Artifact{}, fmt.Errorf("%w: %s", ErrDuplicateArtifact, typ)
	}
}

// BootArtifacts extracts what BOS boots from. The kernel is required
// (ErrArtifactNotFound without one); the others are optional. A duplicate of any type is
// an error.
func (m Manifest) BootArtifacts() (BootArtifacts, error) {
	k, err := m.Artifact(ArtifactKernel)
	if err != nil {
		return BootArtifacts{}, fmt.Errorf("boot artifacts: %w", err)
	}
	ba := BootArtifacts{Kernel: k.Link.Path, KernelETag: k.Link.ETag}
	optional := []struct {
		typ        string
		path, etag *string
	}{
		{ArtifactInitrd, &ba.Initrd, &ba.InitrdETag},
		{ArtifactRootfs, &ba.Rootfs, &ba.RootfsETag},
		{ArtifactBootParameters, &ba.BootParameters, &ba.BootParametersETag},
	}
	for _, o := range optional {
		a, err := m.Artifact(o.typ)
		switch {
		case errors.Is(err, ErrArtifactNotFound):
			continue
		case err != nil:
			return BootArtifacts{}, fmt.Errorf("boot artifacts: %w", err)
		}
		*o.path, *o.etag = a.Link.Path, a.Link.ETag
	}
	return ba, nil
}

// ParseS3Path splits "s3://bucket/key" into bucket and key. Both must be non-empty.
func ParseS3Path(p string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(p, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%w: %q", ErrBadS3Path, p)
	}
	bucket, key, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%w: %q", ErrBadS3Path, p)
	}
	return bucket, key, nil
}

// S3Path joins a bucket and key into an s3:// path.
func S3Path(bucket, key string) string { return "s3://" + bucket + "/" + key }
