package bootsets

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/ims"
	bos "github.com/cray-bos/bos/orchestrator"
)

func TestBootSetChecker(t *testing.T) {
	srv, err := ims.New(ims.Config{})
	require.NoError(t, err)
	s3 := httptest.NewServer(srv.S3Handler())
	defer s3.Close()
	imsHTTP := httptest.NewServer(srv.IMSHandler())
	defer imsHTTP.Close()
	check := BootSetChecker{Client: imsapi.NewClient(imsHTTP.URL, nil), S3URL: s3.URL}
	x86, _ := srv.Image(ims.ImageID(ims.ImageCompute))
	arm, _ := srv.Image(ims.ImageID(ims.ImageComputeARM))

	noKernel, err := srv.AddImage("broken", "x86_64", "")
	require.NoError(t, err)
	bucket, key, err := imsapi.ParseS3Path(noKernel.Link.Path)
	require.NoError(t, err)
	require.NoError(t, srv.DeleteObject(bucket, key[:len(key)-len("manifest.json")]+"kernel"))

	opts := bos.DefaultOptions()
	must := opts
	must.IMSImagesMustExist = true
	for _, tc := range []struct {
		name      string
		op        string
		bs        bos.BootSet
		o         bos.Options
		err, warn string
	}{
		{"valid x86", bos.OpBoot, bos.BootSet{Type: "s3", Path: x86.Link.Path, Arch: "X86"}, opts, "", ""},
		{"valid ARM", bos.OpReboot, bos.BootSet{Type: "s3", Path: arm.Link.Path, Arch: "ARM"}, opts, "", ""},
		{"arch mismatch", bos.OpBoot, bos.BootSet{Type: "s3", Path: arm.Link.Path, Arch: "X86"}, opts, "Boot set arch 'X86' means IMS image arch should be 'x86_64', but actual IMS image arch is 'aarch64'", ""},
		{"arch Other is a warning", bos.OpBoot, bos.BootSet{Type: "s3", Path: arm.Link.Path, Arch: "Other"}, opts, "", "not checked"},
		{"shutdown checks nothing", bos.OpShutdown, bos.BootSet{Type: "weird", Path: "nowhere"}, opts, "", ""},
		{"not s3", bos.OpBoot, bos.BootSet{Type: "nfs", Path: x86.Link.Path}, opts, `boot set type "nfs" is not supported; only s3 is`, ""},
		{"no manifest", bos.OpBoot, bos.BootSet{Type: "s3", Path: "s3://boot-images/nope/manifest.json"}, opts, "Can't find boot artifacts. Error: ", ""},
		{"kernel object missing", bos.OpBoot, bos.BootSet{Type: "s3", Path: noKernel.Link.Path}, opts, "Can't find kernel in " + noKernel.Link.Path + ". Error: ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warnings, err := check.CheckBootSet(context.Background(), tc.op, tc.bs, tc.o)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, bos.EINVALID, bos.ErrorCode(err), "BOS answers 400")
				assert.True(t, strings.HasPrefix(bos.ErrorMessage(err), tc.err), "message %q", bos.ErrorMessage(err))
			} else {
				require.NoError(t, err)
			}
			if tc.warn != "" {
				require.NotEmpty(t, warnings)
				assert.Contains(t, warnings[0], tc.warn)
			} else if tc.err == "" {
				assert.Empty(t, warnings)
			}
		})
	}

	// A manifest in S3 whose image IMS does not know: a warning, or an error with
	// ims_images_must_exist.
	b, k, err := imsapi.ParseS3Path(x86.Link.Path)
	require.NoError(t, err)
	manifest, _, err := srv.GetObject(b, k)
	require.NoError(t, err)
	_, err = srv.PutObject(b, "0badc0de-0000-0000-0000-000000000000/manifest.json", manifest, "application/json")
	require.NoError(t, err)
	orphan := bos.BootSet{Type: "s3", Path: imsapi.S3Path(b, "0badc0de-0000-0000-0000-000000000000/manifest.json")}
	warnings, err := check.CheckBootSet(context.Background(), bos.OpBoot, orphan, opts)
	require.NoError(t, err)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "does not exist")
	_, err = check.CheckBootSet(context.Background(), bos.OpBoot, orphan, must)
	assert.ErrorContains(t, err, "ims_images_must_exist")
}
