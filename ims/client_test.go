package ims

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// testEnv runs IMS and S3 on separate listeners, as on a real system.
type testEnv struct {
	s     *Server
	c     *imsapi.Client
	s3URL string
}

func newEnv(t *testing.T) testEnv {
	t.Helper()
	s := mustServer(t)
	imsSrv := httptest.NewServer(s.IMSHandler())
	t.Cleanup(imsSrv.Close)
	s3Srv := httptest.NewServer(s.S3Handler())
	t.Cleanup(s3Srv.Close)
	return testEnv{s: s, c: imsapi.NewClient(imsSrv.URL, imsSrv.Client()), s3URL: s3Srv.URL}
}

func TestClientReadManifest(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	id := ImageID(ImageCompute)
	img, err := env.c.GetImage(ctx, id)
	require.NoError(t, err)

	m, err := env.c.ReadManifest(ctx, env.s3URL, img.Link.Path)
	require.NoError(t, err)
	ba, err := m.BootArtifacts()
	require.NoError(t, err)
	assert.Equal(t, "s3://boot-images/"+id+"/kernel", ba.Kernel)

	// What BOS does next: HEAD the kernel, GET the boot parameters.
	info, err := env.c.HeadObject(ctx, env.s3URL, ba.Kernel)
	require.NoError(t, err)
	assert.Equal(t, ba.KernelETag, info.ETag)
	assert.Positive(t, info.Size)
	assert.Equal(t, testNow, info.LastModified)
	params, pinfo, err := env.c.GetObject(ctx, env.s3URL, ba.BootParameters, 64<<10)
	require.NoError(t, err)
	assert.Equal(t, DefaultKernelParameters(imsapi.ArchX86_64), string(params))
	assert.Equal(t, ba.BootParametersETag, pinfo.ETag)
	assert.Equal(t, int64(len(params)), pinfo.Size)

	tests := []struct {
		name    string
		setup   func(t *testing.T)
		path    string
		wantErr error
	}{
		{name: "ErrNoSuchKey", path: "s3://boot-images/nope/manifest.json", wantErr: imsapi.ErrNoSuchKey},
		{name: "ErrNoSuchBucket", path: "s3://nobucket/x/manifest.json", wantErr: imsapi.ErrNoSuchBucket},
		{name: "ErrBadPath", path: "boot-images/x/manifest.json", wantErr: imsapi.ErrBadS3Path},
		{name: "ErrTooBig", path: "s3://boot-images/big/manifest.json", wantErr: imsapi.ErrManifestTooBig, setup: func(t *testing.T) {
			_, err := env.s.PutObject(Bucket, "big/manifest.json", []byte(manifestJSON()+strings.Repeat(" ", imsapi.MaxManifestBytes)), "")
			require.NoError(t, err)
		}},
		{name: "ErrNotObject", path: "s3://boot-images/list/manifest.json", wantErr: imsapi.ErrBadManifest, setup: func(t *testing.T) {
			_, err := env.s.PutObject(Bucket, "list/manifest.json", []byte(`[1,2]`), "")
			require.NoError(t, err)
		}},
		{name: "ErrDuplicateType", path: "s3://boot-images/dup/manifest.json", wantErr: imsapi.ErrDuplicateArtifact, setup: func(t *testing.T) {
			k := art(imsapi.ArtifactKernel, "s3://boot-images/dup/kernel")
			_, err := env.s.PutObject(Bucket, "dup/manifest.json", []byte(manifestJSON(k, k)), "")
			require.NoError(t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			_, err := env.c.ReadManifest(ctx, env.s3URL, tt.path)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Contains(t, err.Error(), tt.path)
		})
	}

	t.Run("MissingKernel", func(t *testing.T) {
		_, err := env.s.PutObject(Bucket, "nokernel/manifest.json", []byte(manifestJSON(art(imsapi.ArtifactInitrd, "s3://boot-images/nokernel/initrd"))), "")
		require.NoError(t, err)
		m, err := env.c.ReadManifest(ctx, env.s3URL, "s3://boot-images/nokernel/manifest.json")
		require.NoError(t, err, "readable")
		_, err = m.BootArtifacts()
		assert.ErrorIs(t, err, imsapi.ErrArtifactNotFound)
	})
	t.Run("HeadMissingKernel", func(t *testing.T) {
		require.NoError(t, env.s.DeleteObject(Bucket, id+"/kernel"))
		_, err := env.c.HeadObject(ctx, env.s3URL, ba.Kernel)
		assert.ErrorIs(t, err, imsapi.ErrNoSuchKey)
	})
	t.Run("GetObjectLimit", func(t *testing.T) {
		_, _, err := env.c.GetObject(ctx, env.s3URL, ba.BootParameters, 4)
		assert.ErrorContains(t, err, "limit")
		_, _, err = env.c.GetObject(ctx, env.s3URL, "s3://boot-images/none", 4)
		assert.ErrorIs(t, err, imsapi.ErrNoSuchKey)
	})
}

func TestClientS3PutAndList(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	etag, err := env.c.PutObject(ctx, env.s3URL, "s3://boot-images/up/a b/file?.txt", []byte("hello"), "text/plain")
	require.NoError(t, err)
	assert.Equal(t, md5hex("hello"), etag)
	data, info, err := env.c.GetObject(ctx, env.s3URL, "s3://boot-images/up/a b/file?.txt", 100)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
	assert.Equal(t, "text/plain", info.ContentType)
	assert.Equal(t, "up/a b/file?.txt", info.Key)

	_, err = env.c.PutObject(ctx, env.s3URL, "s3://nobucket/k", []byte("x"), "")
	assert.ErrorIs(t, err, imsapi.ErrNoSuchBucket)
	var s3e *imsapi.S3Error
	require.ErrorAs(t, err, &s3e)
	assert.Equal(t, http.StatusNotFound, s3e.Status)

	// More keys than one page: the client follows continuation tokens.
	for i := range 1005 {
		_, err := env.s.PutObject(Bucket, "many/"+strings.Repeat("k", 1+i%7)+"/"+string(rune('a'+i%26))+"-"+strconv.Itoa(i), nil, "")
		require.NoError(t, err)
	}
	all, err := env.c.ListObjects(ctx, env.s3URL, Bucket, "many/")
	require.NoError(t, err)
	assert.Len(t, all, 1005)
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].Key, all[i].Key, "sorted, no duplicates")
	}
	assert.Equal(t, Bucket, all[0].Bucket)
	assert.Equal(t, md5hex(""), all[0].ETag)

	up, err := env.c.ListObjects(ctx, env.s3URL, Bucket, "up/")
	require.NoError(t, err)
	require.Len(t, up, 1)
	assert.Equal(t, int64(5), up[0].Size)
	assert.Equal(t, testNow, up[0].LastModified)

	_, err = env.c.ListObjects(ctx, env.s3URL, "nobucket", "")
	assert.ErrorIs(t, err, imsapi.ErrNoSuchBucket)
}

func TestClientImages(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	c := env.c

	imgs, err := c.ListImages(ctx)
	require.NoError(t, err)
	assert.Equal(t, env.s.Images(), imgs)

	_, err = c.GetImage(ctx, "missing")
	require.ErrorIs(t, err, imsapi.ErrImageNotFound)
	assert.Equal(t, http.StatusNotFound, problem.StatusOf(err), "the problem details are kept")

	created, err := c.CreateImage(ctx, imsapi.ImageCreate{Name: "cos-4.0.0-aarch64", Arch: imsapi.ArchAarch64, KernelParameters: "console=ttyAMA0,115200 quiet"})
	require.NoError(t, err)
	assert.Equal(t, imsapi.ArchAarch64, created.Arch)
	m, err := c.ReadManifest(ctx, env.s3URL, created.Link.Path)
	require.NoError(t, err)
	ba, err := m.BootArtifacts()
	require.NoError(t, err)
	params, _, err := c.GetObject(ctx, env.s3URL, ba.BootParameters, 1<<10)
	require.NoError(t, err)
	assert.Equal(t, "console=ttyAMA0,115200 quiet", string(params))

	bare, err := c.CreateImage(ctx, imsapi.ImageCreate{Name: "bare", NoLink: true, Metadata: map[string]string{"a": "b"}})
	require.NoError(t, err)
	assert.Nil(t, bare.Link)
	assert.Equal(t, map[string]string{"a": "b"}, bare.Metadata)
	_, err = c.CreateImage(ctx, imsapi.ImageCreate{Name: ""})
	assert.Equal(t, http.StatusUnprocessableEntity, problem.StatusOf(err))

	// Link the bare record to the new image's manifest, then change its arch.
	arch := imsapi.ArchX86_64
	patched, err := c.PatchImage(ctx, bare.ID, imsapi.ImagePatch{Link: created.Link, Arch: &arch, Metadata: []imsapi.MetadataOp{{Operation: "remove", Key: "a"}, {Operation: "set", Key: "c", Value: "d"}}})
	require.NoError(t, err)
	assert.Equal(t, created.Link, patched.Link)
	assert.Equal(t, imsapi.ArchX86_64, patched.Arch)
	assert.Equal(t, map[string]string{"c": "d"}, patched.Metadata)
	_, err = c.PatchImage(ctx, bare.ID, imsapi.ImagePatch{Link: &imsapi.Link{Path: "s3://boot-images/x/manifest.json", Type: "s3"}})
	assert.Equal(t, http.StatusConflict, problem.StatusOf(err))
	_, err = c.PatchImage(ctx, "missing", imsapi.ImagePatch{Arch: &arch})
	assert.ErrorIs(t, err, imsapi.ErrImageNotFound)

	// BOS's SBPS tag.
	id := ImageID(ImageCompute)
	require.NoError(t, c.TagImage(ctx, id, "set", "sbps-project", "true"))
	got, err := c.GetImage(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "true", got.Metadata["sbps-project"])
	assert.Equal(t, http.StatusUnprocessableEntity, problem.StatusOf(c.TagImage(ctx, id, "toggle", "k", "")))
	assert.ErrorIs(t, c.TagImage(ctx, "missing", "set", "k", "v"), imsapi.ErrImageNotFound)

	// Soft delete: the kernel BOS would boot is now under deleted/.
	require.NoError(t, c.DeleteImage(ctx, id))
	assert.ErrorIs(t, c.DeleteImage(ctx, id), imsapi.ErrImageNotFound)
	_, err = c.ReadManifest(ctx, env.s3URL, got.Link.Path)
	assert.ErrorIs(t, err, imsapi.ErrNoSuchKey)
	deleted, err := c.GetDeletedImage(ctx, id)
	require.NoError(t, err)
	dm, err := c.ReadManifest(ctx, env.s3URL, deleted.Link.Path)
	require.NoError(t, err)
	k, err := dm.Artifact(imsapi.ArtifactKernel)
	require.NoError(t, err)
	assert.Equal(t, "s3://boot-images/deleted/"+id+"/kernel", k.Link.Path)
	_, err = c.HeadObject(ctx, env.s3URL, k.Link.Path)
	assert.NoError(t, err)
	list, err := c.ListDeletedImages(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, id, list[0].ID)
	assert.NotEmpty(t, list[0].Deleted)
	_, err = c.GetDeletedImage(ctx, "missing")
	assert.ErrorIs(t, err, imsapi.ErrImageNotFound)

	// Undelete restores the original manifest link.
	require.NoError(t, c.UndeleteImage(ctx, id))
	restored, err := c.GetImage(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, got.Link, restored.Link)
	_, err = c.ReadManifest(ctx, env.s3URL, restored.Link.Path)
	assert.NoError(t, err)
	assert.ErrorIs(t, c.UndeleteImage(ctx, id), imsapi.ErrImageNotFound)

	// Purge removes everything.
	require.NoError(t, c.DeleteImage(ctx, id))
	require.NoError(t, c.PurgeImage(ctx, id))
	assert.ErrorIs(t, c.PurgeImage(ctx, id), imsapi.ErrImageNotFound)
	objs, err := c.ListObjects(ctx, env.s3URL, Bucket, "deleted/")
	require.NoError(t, err)
	assert.Empty(t, objs)
}

// The client also works against the combined Handler (one URL for both) and honours
// context cancellation.
func TestClientCombinedHandlerAndContext(t *testing.T) {
	s := mustServer(t)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c := imsapi.NewClient(srv.URL+"/", nil)
	ctx := context.Background()
	img, err := c.GetImage(ctx, ImageID(ImageUAN))
	require.NoError(t, err)
	_, err = c.ReadManifest(ctx, srv.URL, img.Link.Path)
	require.NoError(t, err)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.ListImages(cancelled)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = c.ReadManifest(cancelled, srv.URL, img.Link.Path)
	assert.ErrorIs(t, err, context.Canceled)
}
