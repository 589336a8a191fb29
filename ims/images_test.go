package ims

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// decodeAs decodes a JSON response body.
func decodeAs[T any](tb testing.TB, rec *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &v), "body: %s", rec.Body.String())
	return v
}

// requireProblem checks a problem+json answer with the given status.
func requireProblem(tb testing.TB, rec *httptest.ResponseRecorder, status int) problem.Details {
	tb.Helper()
	require.Equal(tb, status, rec.Code, rec.Body.String())
	assert.Equal(tb, problem.ContentType, rec.Header().Get("Content-Type"))
	d := decodeAs[problem.Details](tb, rec)
	assert.Equal(tb, status, d.Status)
	assert.NotEmpty(tb, d.Detail)
	return d
}

// keysUnder lists the keys in Bucket with a prefix.
func keysUnder(tb testing.TB, s *Server, prefix string) []string {
	tb.Helper()
	infos, _, err := s.store.list(Bucket, prefix, "", 1<<30)
	require.NoError(tb, err)
	keys := make([]string, 0, len(infos))
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	return keys
}

// objectCount is the number of objects in Bucket.
func objectCount(tb testing.TB, s *Server) int { return len(keysUnder(tb, s, "")) }

func TestListImages(t *testing.T) {
	s := mustServer(t)
	for _, base := range []string{"/v3", "/apis/ims/v3"} {
		t.Run(base, func(t *testing.T) {
			rec := call(t, s.IMSHandler(), http.MethodGet, base+"/images", "")
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			imgs := decodeAs[[]imsapi.Image](t, rec)
			var names []string
			for _, img := range imgs {
				names = append(names, img.Name)
				assert.Equal(t, ImageID(img.Name), img.ID)
				require.NotNil(t, img.Link)
				assert.Equal(t, "s3://boot-images/"+img.ID+"/manifest.json", img.Link.Path)
				assert.Equal(t, imsapi.LinkTypeS3, img.Link.Type)
				assert.NotEmpty(t, img.Link.ETag)
				assert.NotNil(t, img.Metadata, "metadata is {} not null")
			}
			assert.Equal(t, []string{ImageCompute, ImageComputeARM, ImageUAN, ImageComputeNext, ImageComputeNextARM}, names, "oldest first")
		})
	}
	t.Run("Empty", func(t *testing.T) {
		s := mustServer(t, []ImageSpec{}...)
		rec := call(t, s.IMSHandler(), http.MethodGet, "/v3/images", "")
		require.Equal(t, http.StatusOK, rec.Code)
		assert.JSONEq(t, "[]", rec.Body.String())
	})
}

func TestGetImage(t *testing.T) {
	s := mustServer(t)
	tests := []struct {
		name       string
		target     string
		wantStatus int
		wantName   string
		wantArch   string
	}{
		{name: "OK", target: "/v3/images/" + ImageID(ImageCompute), wantStatus: 200, wantName: ImageCompute, wantArch: imsapi.ArchX86_64},
		{name: "OKGateway", target: "/apis/ims/v3/images/" + ImageID(ImageComputeARM), wantStatus: 200, wantName: ImageComputeARM, wantArch: imsapi.ArchAarch64},
		{name: "ErrNotFound", target: "/v3/images/00000000-0000-0000-0000-000000000000", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, s.IMSHandler(), http.MethodGet, tt.target, "")
			if tt.wantStatus != http.StatusOK {
				requireProblem(t, rec, tt.wantStatus)
				return
			}
			require.Equal(t, http.StatusOK, rec.Code)
			img := decodeAs[imsapi.Image](t, rec)
			assert.Equal(t, tt.wantName, img.Name)
			assert.Equal(t, tt.wantArch, img.Arch)
			// The wire shape is IMS's: exactly these keys.
			var raw map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
			keys := make([]string, 0, len(raw))
			for k := range raw {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			assert.Equal(t, []string{"arch", "created", "id", "link", "metadata", "name"}, keys)
			assert.Equal(t, map[string]string{ImageCompute: `"2025-03-03T12:00:00.000000+00:00"`, ImageComputeARM: `"2025-03-03T12:01:00.000000+00:00"`}[tt.wantName], string(raw["created"]))
		})
	}
}

func TestCreateImage(t *testing.T) {
	seedManifest := "s3://boot-images/" + ImageID(ImageCompute) + "/manifest.json"
	tests := []struct {
		name       string
		body       string
		wantStatus int
		check      func(t *testing.T, s *Server, img imsapi.Image)
	}{
		{name: "OKGenerated", body: `{"name":"my-image","arch":"aarch64"}`, wantStatus: 201, check: func(t *testing.T, s *Server, img imsapi.Image) {
			assert.Equal(t, "my-image", img.Name)
			assert.Equal(t, imsapi.ArchAarch64, img.Arch)
			assert.Equal(t, formatCreated(testNow), img.Created)
			require.NotNil(t, img.Link)
			assert.Equal(t, "s3://boot-images/"+img.ID+"/manifest.json", img.Link.Path)
			assert.Equal(t, []string{img.ID + "/boot_parameters", img.ID + "/initrd", img.ID + "/kernel", img.ID + "/manifest.json", img.ID + "/rootfs"}, keysUnder(t, s, img.ID+"/"))
			params, _, err := s.GetObject(Bucket, img.ID+"/boot_parameters")
			require.NoError(t, err)
			assert.Equal(t, DefaultKernelParameters(imsapi.ArchAarch64), string(params))
			assert.NotEqual(t, ImageID("my-image"), img.ID, "API-created images get random ids")
		}},
		{name: "OKGeneratedKernelParameters", body: `{"name":"custom","kernel_parameters":"console=ttyS0,115200 quiet"}`, wantStatus: 201, check: func(t *testing.T, s *Server, img imsapi.Image) {
			assert.Equal(t, imsapi.ArchX86_64, img.Arch, "default arch")
			params, _, err := s.GetObject(Bucket, img.ID+"/boot_parameters")
			require.NoError(t, err)
			assert.Equal(t, "console=ttyS0,115200 quiet", string(params))
		}},
		{name: "OKNullLink", body: `{"name":"bare","link":null}`, wantStatus: 201, check: func(t *testing.T, s *Server, img imsapi.Image) {
			assert.Nil(t, img.Link)
			assert.Empty(t, keysUnder(t, s, img.ID+"/"), "no artifacts generated")
		}},
		{name: "OKExistingManifest", body: `{"name":"alias","link":{"path":"` + seedManifest + `","etag":"e","type":"s3"}}`, wantStatus: 201, check: func(t *testing.T, s *Server, img imsapi.Image) {
			assert.Equal(t, &imsapi.Link{Path: seedManifest, ETag: "e", Type: "s3"}, img.Link)
			assert.Empty(t, keysUnder(t, s, img.ID+"/"))
		}},
		{name: "OKMetadata", body: `{"name":"tagged","metadata":{"sbps-project":"true"}}`, wantStatus: 201, check: func(t *testing.T, s *Server, img imsapi.Image) {
			assert.Equal(t, map[string]string{"sbps-project": "true"}, img.Metadata)
		}},
		{name: "ErrMalformedJSON", body: `{"name":`, wantStatus: 400},
		{name: "ErrNotJSON", body: `hello`, wantStatus: 400},
		{name: "ErrEmptyBody", body: ``, wantStatus: 400},
		{name: "ErrEmptyObject", body: `{}`, wantStatus: 400},
		{name: "ErrUnknownField", body: `{"name":"x","colour":"red"}`, wantStatus: 400},
		{name: "ErrWrongType", body: `{"name":1}`, wantStatus: 400},
		{name: "ErrTrailingData", body: `{"name":"x"} {}`, wantStatus: 400},
		{name: "ErrTooLarge", body: `{"name":"` + strings.Repeat("x", maxJSONBody) + `"}`, wantStatus: 413},
		{name: "ErrNoName", body: `{"arch":"x86_64"}`, wantStatus: 422},
		{name: "ErrBlankName", body: `{"name":"  "}`, wantStatus: 422},
		{name: "ErrBadArch", body: `{"name":"x","arch":"X86"}`, wantStatus: 422},
		{name: "ErrLinkType", body: `{"name":"x","link":{"path":"` + seedManifest + `","type":"http"}}`, wantStatus: 422},
		{name: "ErrLinkBadPath", body: `{"name":"x","link":{"path":"/boot-images/m.json","type":"s3"}}`, wantStatus: 422},
		{name: "ErrLinkMissingManifest", body: `{"name":"x","link":{"path":"s3://boot-images/nope/manifest.json","type":"s3"}}`, wantStatus: 422},
		{name: "ErrLinkNotManifest", body: `{"name":"x","link":{"path":"s3://boot-images/` + ImageID(ImageCompute) + `/kernel","type":"s3"}}`, wantStatus: 422},
		{name: "ErrLinkUnknownField", body: `{"name":"x","link":{"path":"` + seedManifest + `","type":"s3","size":1}}`, wantStatus: 422},
		{name: "ErrLinkNotObject", body: `{"name":"x","link":"` + seedManifest + `"}`, wantStatus: 422},
		{name: "ErrKernelParamsWithLink", body: `{"name":"x","kernel_parameters":"quiet","link":null}`, wantStatus: 422},
		{name: "ErrBlankMetadataKey", body: `{"name":"x","metadata":{"":"v"}}`, wantStatus: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			before, objects := s.Images(), objectCount(t, s)
			rec := call(t, s.IMSHandler(), http.MethodPost, "/v3/images", tt.body, "Content-Type", "application/json")
			if tt.wantStatus != http.StatusCreated {
				requireProblem(t, rec, tt.wantStatus)
				assert.Equal(t, before, s.Images(), "no record written")
				assert.Equal(t, objects, objectCount(t, s), "no object written")
				return
			}
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			img := decodeAs[imsapi.Image](t, rec)
			assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, img.ID)
			got, ok := s.Image(img.ID)
			require.True(t, ok)
			assert.Equal(t, img, got, "the answer is what was stored")
			assert.Len(t, s.Images(), len(before)+1)
			tt.check(t, s, img)
		})
	}
}

func TestPatchImage(t *testing.T) {
	compute := ImageID(ImageCompute)
	seedManifest := "s3://boot-images/" + compute + "/manifest.json"
	// bare makes an image without a link and returns its id.
	bare := func(t *testing.T, s *Server) string {
		rec := call(t, s.IMSHandler(), http.MethodPost, "/v3/images", `{"name":"bare","link":null}`)
		require.Equal(t, http.StatusCreated, rec.Code)
		return decodeAs[imsapi.Image](t, rec).ID
	}
	seed := func(*testing.T, *Server) string { return compute }
	tests := []struct {
		name       string
		setup      func(t *testing.T, s *Server) string
		body       string
		wantStatus int
		check      func(t *testing.T, img imsapi.Image)
	}{
		{name: "OKTagAsBOSDoes", setup: seed, body: `{"metadata":{"operation":"set","key":"sbps-project","value":"true"}}`, wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Equal(t, map[string]string{"sbps-project": "true"}, img.Metadata)
		}},
		{name: "OKOperationList", setup: seed, body: `{"metadata":[{"operation":"set","key":"a","value":"1"},{"operation":"set","key":"b","value":"2"},{"operation":"remove","key":"a"}]}`, wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Equal(t, map[string]string{"b": "2"}, img.Metadata)
		}},
		{name: "OKRemoveAbsentKey", setup: seed, body: `{"metadata":{"operation":"remove","key":"nothing"}}`, wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Empty(t, img.Metadata)
		}},
		{name: "OKNullValue", setup: seed, body: `{"metadata":{"operation":"set","key":"k","value":null}}`, wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Equal(t, map[string]string{"k": ""}, img.Metadata)
		}},
		{name: "OKArch", setup: seed, body: `{"arch":"aarch64"}`, wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Equal(t, imsapi.ArchAarch64, img.Arch)
		}},
		{name: "OKSameLink", setup: seed, body: "", wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Equal(t, seedManifest, img.Link.Path)
		}},
		{name: "OKLinkOnBareImage", setup: bare, body: `{"link":{"path":"` + seedManifest + `","etag":"x","type":"s3"}}`, wantStatus: 200, check: func(t *testing.T, img imsapi.Image) {
			assert.Equal(t, &imsapi.Link{Path: seedManifest, ETag: "x", Type: "s3"}, img.Link)
		}},
		{name: "ErrLinkConflict", setup: seed, body: `{"link":{"path":"s3://boot-images/other/manifest.json","etag":"x","type":"s3"}}`, wantStatus: 409},
		{name: "ErrLinkMissingManifest", setup: bare, body: `{"link":{"path":"s3://boot-images/nope/manifest.json","type":"s3"}}`, wantStatus: 422},
		{name: "ErrLinkType", setup: bare, body: `{"link":{"path":"` + seedManifest + `","type":"file"}}`, wantStatus: 422},
		{name: "ErrNullLink", setup: seed, body: `{"link":null}`, wantStatus: 422},
		{name: "ErrLinkUnknownField", setup: bare, body: `{"link":{"path":"` + seedManifest + `","type":"s3","x":1}}`, wantStatus: 422},
		{name: "ErrBadArch", setup: seed, body: `{"arch":"ARM"}`, wantStatus: 422},
		{name: "ErrBadOperation", setup: seed, body: `{"metadata":{"operation":"add","key":"k","value":"v"}}`, wantStatus: 422},
		{name: "ErrBlankKey", setup: seed, body: `{"metadata":{"operation":"set","key":"","value":"v"}}`, wantStatus: 422},
		{name: "ErrMetadataNotOperation", setup: seed, body: `{"metadata":"sbps-project"}`, wantStatus: 422},
		{name: "ErrMetadataNull", setup: seed, body: `{"metadata":null}`, wantStatus: 422},
		{name: "ErrMetadataUnknownField", setup: seed, body: `{"metadata":{"operation":"set","key":"k","colour":"v"}}`, wantStatus: 422},
		{name: "ErrLaterOperationInvalidNothingApplied", setup: seed, body: `{"arch":"aarch64","metadata":[{"operation":"set","key":"a","value":"1"},{"operation":"bogus","key":"b"}]}`, wantStatus: 422},
		{name: "ErrLaterFieldConflictNothingApplied", setup: seed, body: `{"arch":"aarch64","metadata":{"operation":"set","key":"a","value":"1"},"link":{"path":"s3://x/y","type":"s3"}}`, wantStatus: 409},
		{name: "ErrNotFound", setup: func(*testing.T, *Server) string { return "missing" }, body: `{"arch":"aarch64"}`, wantStatus: 404},
		{name: "ErrEmptyObject", setup: seed, body: `{}`, wantStatus: 400},
		{name: "ErrMalformed", setup: seed, body: `{"arch":`, wantStatus: 400},
		{name: "ErrUnknownField", setup: seed, body: `{"name":"renamed"}`, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			id := tt.setup(t, s)
			body := tt.body
			if body == "" { // same link as stored
				img, _ := s.Image(id)
				raw, _ := json.Marshal(map[string]any{"link": img.Link})
				body = string(raw)
			}
			before, _ := s.Image(id)
			rec := call(t, s.IMSHandler(), http.MethodPatch, "/v3/images/"+id, body)
			if tt.wantStatus != http.StatusOK {
				requireProblem(t, rec, tt.wantStatus)
				after, _ := s.Image(id)
				assert.Equal(t, before, after, "nothing changed")
				return
			}
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			img := decodeAs[imsapi.Image](t, rec)
			stored, _ := s.Image(id)
			assert.Equal(t, stored, img, "the answer is what was stored")
			assert.Equal(t, before.Name, img.Name)
			assert.Equal(t, before.Created, img.Created)
			tt.check(t, img)
		})
	}
}

func TestDeleteImageMovesObjects(t *testing.T) {
	s := mustServer(t)
	id := ImageID(ImageCompute)
	h := s.IMSHandler()
	beforeKeys := keysUnder(t, s, id+"/")
	require.Equal(t, []string{id + "/boot_parameters", id + "/initrd", id + "/kernel", id + "/manifest.json", id + "/rootfs"}, beforeKeys)
	etags := map[string]string{}
	for _, k := range beforeKeys {
		_, info, err := s.GetObject(Bucket, k)
		require.NoError(t, err)
		etags[k] = info.ETag
	}
	img, _ := s.Image(id)

	rec := call(t, h, http.MethodDelete, "/v3/images/"+id, "")
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())

	assert.Empty(t, keysUnder(t, s, id+"/"), "nothing left at the old keys")
	for _, k := range beforeKeys {
		_, info, err := s.GetObject(Bucket, "deleted/"+k)
		require.NoError(t, err, k)
		assert.Equal(t, etags[k], info.ETag, "content kept for %s", k)
	}
	requireProblem(t, call(t, h, http.MethodGet, "/v3/images/"+id, ""), http.StatusNotFound)
	assert.Len(t, s.Images(), 4)

	rec = call(t, h, http.MethodGet, "/v3/deleted/images/"+id, "")
	require.Equal(t, http.StatusOK, rec.Code)
	d := decodeAs[imsapi.DeletedImage](t, rec)
	assert.Equal(t, img.Name, d.Name)
	assert.Equal(t, img.Created, d.Created)
	assert.Equal(t, formatCreated(testNow), d.Deleted)
	require.NotNil(t, d.Link)
	assert.Equal(t, "s3://boot-images/deleted/"+id+"/deleted_manifest.json", d.Link.Path)

	raw, info, err := s.GetObject(Bucket, "deleted/"+id+"/deleted_manifest.json")
	require.NoError(t, err)
	assert.Equal(t, d.Link.ETag, info.ETag)
	m, err := imsapi.ParseManifest(raw)
	require.NoError(t, err)
	byType := map[string]string{}
	for _, a := range m.Artifacts {
		byType[a.Type] = a.Link.Path
	}
	assert.Equal(t, map[string]string{
		imsapi.ArtifactKernel:         "s3://boot-images/deleted/" + id + "/kernel",
		imsapi.ArtifactInitrd:         "s3://boot-images/deleted/" + id + "/initrd",
		imsapi.ArtifactRootfs:         "s3://boot-images/deleted/" + id + "/rootfs",
		imsapi.ArtifactBootParameters: "s3://boot-images/deleted/" + id + "/boot_parameters",
		imsapi.ArtifactManifest:       "s3://boot-images/deleted/" + id + "/manifest.json",
	}, byType)

	requireProblem(t, call(t, h, http.MethodDelete, "/v3/images/"+id, ""), http.StatusNotFound)
	_, err = s.AddImage(ImageCompute, "", "")
	assert.ErrorIs(t, err, ErrImageExists, "a deleted id stays taken")
}

func TestDeleteImageUnreadableManifest(t *testing.T) {
	s := mustServer(t)
	id := ImageID(ImageUAN)
	_, err := s.PutObject(Bucket, id+"/manifest.json", []byte("not json"), "")
	require.NoError(t, err)
	img, _ := s.Image(id)
	require.NoError(t, s.DeleteImage(id))
	assert.Len(t, keysUnder(t, s, id+"/"), 5, "objects left in place")
	assert.Empty(t, keysUnder(t, s, "deleted/"))

	rec := call(t, s.IMSHandler(), http.MethodPatch, "/v3/deleted/images/"+id, `{"operation":"undelete"}`)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	back, ok := s.Image(id)
	require.True(t, ok)
	assert.Equal(t, img, back, "restored as it was")
}

func TestDeleteImageWithoutLink(t *testing.T) {
	s := mustServer(t, []ImageSpec{}...)
	rec := call(t, s.IMSHandler(), http.MethodPost, "/v3/images", `{"name":"bare","link":null}`)
	require.Equal(t, http.StatusCreated, rec.Code)
	id := decodeAs[imsapi.Image](t, rec).ID
	require.Equal(t, http.StatusNoContent, call(t, s.IMSHandler(), http.MethodDelete, "/v3/images/"+id, "").Code)
	require.Equal(t, http.StatusNoContent, call(t, s.IMSHandler(), http.MethodPatch, "/v3/deleted/images/"+id, `{"operation":"undelete"}`).Code)
	img, ok := s.Image(id)
	require.True(t, ok)
	assert.Nil(t, img.Link)
}

func TestUndeleteImage(t *testing.T) {
	compute := ImageID(ImageCompute)
	tests := []struct {
		name       string
		id         string
		body       string
		corrupt    bool // replace the deleted manifest with garbage first
		wantStatus int
	}{
		{name: "OK", id: compute, body: `{"operation":"undelete"}`, wantStatus: 204},
		{name: "ErrNotDeleted", id: ImageID(ImageUAN), body: `{"operation":"undelete"}`, wantStatus: 404},
		{name: "ErrUnknownID", id: "nope", body: `{"operation":"undelete"}`, wantStatus: 404},
		{name: "ErrBadOperation", id: compute, body: `{"operation":"delete"}`, wantStatus: 422},
		{name: "ErrEmptyObject", id: compute, body: `{}`, wantStatus: 400},
		{name: "ErrMalformed", id: compute, body: `{"operation"`, wantStatus: 400},
		{name: "ErrUnknownField", id: compute, body: `{"operation":"undelete","force":true}`, wantStatus: 400},
		{name: "ErrDeletedManifestUnreadable", id: compute, body: `{"operation":"undelete"}`, corrupt: true, wantStatus: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			orig, _ := s.Image(compute)
			require.NoError(t, s.DeleteImage(compute))
			if tt.corrupt {
				_, err := s.PutObject(Bucket, "deleted/"+compute+"/deleted_manifest.json", []byte("[]"), "")
				require.NoError(t, err)
			}
			deletedKeys := keysUnder(t, s, "deleted/")
			rec := call(t, s.IMSHandler(), http.MethodPatch, "/apis/ims/v3/deleted/images/"+tt.id, tt.body)
			if tt.wantStatus != http.StatusNoContent {
				requireProblem(t, rec, tt.wantStatus)
				_, live := s.Image(compute)
				assert.False(t, live, "still deleted")
				assert.Equal(t, deletedKeys, keysUnder(t, s, "deleted/"), "no object moved")
				return
			}
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			img, ok := s.Image(compute)
			require.True(t, ok)
			assert.Equal(t, orig, img, "record and link as before the delete")
			assert.Empty(t, keysUnder(t, s, "deleted/"), "objects moved back, deleted manifest removed")
			assert.Len(t, keysUnder(t, s, compute+"/"), 5)
			requireProblem(t, call(t, s.IMSHandler(), http.MethodGet, "/v3/deleted/images/"+compute, ""), http.StatusNotFound)
		})
	}
}

func TestPurgeImage(t *testing.T) {
	compute := ImageID(ImageCompute)
	tests := []struct {
		name       string
		id         string
		wantStatus int
	}{
		{name: "OK", id: compute, wantStatus: 204},
		{name: "ErrLiveImage", id: ImageID(ImageUAN), wantStatus: 404},
		{name: "ErrUnknownID", id: "nope", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustServer(t)
			require.NoError(t, s.DeleteImage(compute))
			objects := objectCount(t, s)
			rec := call(t, s.IMSHandler(), http.MethodDelete, "/v3/deleted/images/"+tt.id, "")
			if tt.wantStatus != http.StatusNoContent {
				requireProblem(t, rec, tt.wantStatus)
				assert.Equal(t, objects, objectCount(t, s))
				return
			}
			require.Equal(t, http.StatusNoContent, rec.Code)
			assert.Empty(t, keysUnder(t, s, "deleted/"), "artifacts, manifest and deleted manifest removed")
			assert.Equal(t, objects-6, objectCount(t, s))
			requireProblem(t, call(t, s.IMSHandler(), http.MethodGet, "/v3/deleted/images/"+compute, ""), http.StatusNotFound)
			_, err := s.AddImage(ImageCompute, "", "")
			assert.NoError(t, err, "a purged id is free again")
		})
	}
}

func TestImageCollections(t *testing.T) {
	s := mustServer(t)
	h := s.IMSHandler()
	orig := s.Images()

	require.Equal(t, http.StatusNoContent, call(t, h, http.MethodDelete, "/v3/images", "").Code)
	assert.JSONEq(t, "[]", call(t, h, http.MethodGet, "/v3/images", "").Body.String())
	rec := call(t, h, http.MethodGet, "/v3/deleted/images", "")
	require.Equal(t, http.StatusOK, rec.Code)
	deleted := decodeAs[[]imsapi.DeletedImage](t, rec)
	assert.Len(t, deleted, len(orig))
	for _, img := range orig {
		assert.Empty(t, keysUnder(t, s, img.ID+"/"))
	}

	t.Run("UndeleteAllIsAllOrNothing", func(t *testing.T) {
		uan := ImageID(ImageUAN)
		good, _, err := s.GetObject(Bucket, "deleted/"+uan+"/deleted_manifest.json")
		require.NoError(t, err)
		_, err = s.PutObject(Bucket, "deleted/"+uan+"/deleted_manifest.json", []byte("garbage"), "")
		require.NoError(t, err)
		requireProblem(t, call(t, h, http.MethodPatch, "/v3/deleted/images", `{"operation":"undelete"}`), http.StatusUnprocessableEntity)
		assert.Empty(t, s.Images(), "none restored")
		_, err = s.PutObject(Bucket, "deleted/"+uan+"/deleted_manifest.json", good, "application/json")
		require.NoError(t, err)
	})
	t.Run("UndeleteAllErrors", func(t *testing.T) {
		requireProblem(t, call(t, h, http.MethodPatch, "/v3/deleted/images", `{"operation":"purge"}`), http.StatusUnprocessableEntity)
		requireProblem(t, call(t, h, http.MethodPatch, "/v3/deleted/images", `{}`), http.StatusBadRequest)
		requireProblem(t, call(t, h, http.MethodPatch, "/v3/deleted/images", `nope`), http.StatusBadRequest)
	})

	require.Equal(t, http.StatusNoContent, call(t, h, http.MethodPatch, "/v3/deleted/images", `{"operation":"undelete"}`).Code)
	assert.Equal(t, orig, s.Images(), "all restored as they were")
	assert.Empty(t, keysUnder(t, s, "deleted/"))

	require.Equal(t, http.StatusNoContent, call(t, h, http.MethodDelete, "/v3/images", "").Code)
	require.Equal(t, http.StatusNoContent, call(t, h, http.MethodDelete, "/v3/deleted/images", "").Code)
	assert.JSONEq(t, "[]", call(t, h, http.MethodGet, "/v3/deleted/images", "").Body.String())
	assert.Zero(t, objectCount(t, s), "every object purged")
}

// Handler serves both APIs on one mux.
func TestCombinedHandler(t *testing.T) {
	s := mustServer(t)
	h := s.Handler()
	id := ImageID(ImageCompute)
	assert.Equal(t, http.StatusOK, call(t, h, http.MethodGet, "/v3/images/"+id, "").Code)
	assert.Equal(t, http.StatusOK, call(t, h, http.MethodGet, "/apis/ims/v3/images", "").Code)
	rec := call(t, h, http.MethodGet, "/boot-images/"+id+"/manifest.json", "")
	require.Equal(t, http.StatusOK, rec.Code)
	_, err := imsapi.ParseManifest(rec.Body.Bytes())
	assert.NoError(t, err)
	// IMS and S3 alone do not serve each other's paths.
	assert.Equal(t, http.StatusNotFound, call(t, s.IMSHandler(), http.MethodGet, "/boot-images/"+id+"/manifest.json", "").Code)
	rec = call(t, s.S3Handler(), http.MethodGet, "/v3/images", "")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "NoSuchBucket", s3Code(t, rec))
}
