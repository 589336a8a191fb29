package ims

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
)

func TestImageID(t *testing.T) {
	id := ImageID(ImageCompute)
	assert.Equal(t, id, ImageID(ImageCompute), "stable")
	assert.NotEqual(t, id, ImageID(ImageComputeNext))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	// Two servers agree.
	a, b := mustServer(t), mustServer(t)
	assert.Equal(t, a.Images(), b.Images())
}

func TestNew(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name      string
		cfg       Config
		wantNames []string
		wantErr   error
	}{
		{name: "OKDefaultSeed", cfg: Config{}, wantNames: []string{ImageCompute, ImageComputeARM, ImageUAN, ImageComputeNext, ImageComputeNextARM}},
		{name: "OKNoImages", cfg: Config{Images: []ImageSpec{}}, wantNames: []string{}},
		{name: "OKCustom", cfg: Config{Images: []ImageSpec{{Name: "a", Created: created}, {Name: "b", Arch: imsapi.ArchAarch64, KernelParameters: "quiet", Created: created.Add(time.Hour)}}}, wantNames: []string{"a", "b"}},
		{name: "ErrDuplicateName", cfg: Config{Images: []ImageSpec{{Name: "a"}, {Name: "a"}}}, wantErr: ErrImageExists},
		{name: "ErrBlankName", cfg: Config{Images: []ImageSpec{{Name: ""}}}, wantErr: ErrInvalidImage},
		{name: "ErrBadArch", cfg: Config{Images: []ImageSpec{{Name: "a", Arch: "X86"}}}, wantErr: ErrInvalidImage},
		{name: "ErrNegativeMaxObject", cfg: Config{MaxObjectBytes: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantNames == nil {
				require.Error(t, err)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			names := []string{}
			for _, img := range s.Images() {
				names = append(names, img.Name)
			}
			assert.Equal(t, tt.wantNames, names)
		})
	}
	t.Run("CustomFields", func(t *testing.T) {
		s, err := New(Config{Images: []ImageSpec{{Name: "b", Arch: imsapi.ArchAarch64, KernelParameters: "quiet", Created: created}}})
		require.NoError(t, err)
		img, ok := s.Image(ImageID("b"))
		require.True(t, ok)
		assert.Equal(t, imsapi.ArchAarch64, img.Arch)
		assert.Equal(t, "2024-05-06T07:08:09.000000+00:00", img.Created)
		params, _, err := s.GetObject(Bucket, img.ID+"/boot_parameters")
		require.NoError(t, err)
		assert.Equal(t, "quiet", string(params))
	})
}

func TestAddImage(t *testing.T) {
	s := mustServer(t, []ImageSpec{}...)
	img, err := s.AddImage("cos-9.9.9-x86_64", "", "console=ttyS0,115200 ip=dhcp")
	require.NoError(t, err)
	assert.Equal(t, ImageID("cos-9.9.9-x86_64"), img.ID)
	assert.Equal(t, imsapi.ArchX86_64, img.Arch)
	assert.Equal(t, formatCreated(testNow), img.Created)
	require.NotNil(t, img.Link)
	rec := call(t, s.IMSHandler(), http.MethodGet, "/v3/images/"+img.ID, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, img, decodeAs[imsapi.Image](t, rec), "visible over HTTP")
	params, _, err := s.GetObject(Bucket, img.ID+"/boot_parameters")
	require.NoError(t, err)
	assert.Equal(t, "console=ttyS0,115200 ip=dhcp", string(params))

	_, err = s.AddImage("cos-9.9.9-x86_64", imsapi.ArchAarch64, "")
	assert.ErrorIs(t, err, ErrImageExists)
	_, err = s.AddImage("", "", "")
	assert.ErrorIs(t, err, ErrInvalidImage)
	_, err = s.AddImage("x", "ARM", "")
	assert.ErrorIs(t, err, ErrInvalidImage)
	assert.Len(t, s.Images(), 1)

	// Images returns copies: changing one does not change the store.
	got := s.Images()
	got[0].Metadata["x"] = "y"
	got[0].Link.Path = "changed"
	again, _ := s.Image(img.ID)
	assert.Empty(t, again.Metadata)
	assert.Equal(t, img.Link.Path, again.Link.Path)

	assert.ErrorIs(t, s.DeleteImage("missing"), imsapi.ErrImageNotFound)
}

// Concurrent readers and writers on both APIs, for the race detector; the end state is
// checked so the test cannot pass vacuously.
func TestConcurrentAccess(t *testing.T) {
	s := mustServer(t)
	h := s.Handler()
	id := ImageID(ImageCompute)
	const workers, rounds = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				key := fmt.Sprintf("w%d-%d", w, i)
				switch i % 5 {
				case 0:
					rec := call(t, h, http.MethodPatch, "/v3/images/"+id, `{"metadata":{"operation":"set","key":"`+key+`","value":"v"}}`)
					assert.Equal(t, http.StatusOK, rec.Code)
				case 1:
					assert.Equal(t, http.StatusOK, call(t, h, http.MethodGet, "/v3/images", "").Code)
				case 2:
					assert.Equal(t, http.StatusOK, call(t, h, http.MethodHead, "/boot-images/"+id+"/kernel", "").Code)
				case 3:
					assert.Equal(t, http.StatusOK, call(t, h, http.MethodPut, "/boot-images/scratch/"+key, key).Code)
				case 4:
					_, err := s.AddImage(key, "", "")
					assert.NoError(t, err)
					assert.NoError(t, s.DeleteImage(ImageID(key)))
				}
			}
		}()
	}
	wg.Wait()
	img, _ := s.Image(id)
	assert.Len(t, img.Metadata, workers*rounds/5, "every tag landed")
	assert.Len(t, keysUnder(t, s, "scratch/"), workers*rounds/5)
	assert.Len(t, s.Images(), 5)
}

func TestUnroutedIMSRequestsGetProblems(t *testing.T) {
	s := mustServer(t)
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{http.MethodGet, "/v3/nothing", 404},
		{http.MethodGet, "/apis/ims/v3/images/x/y", 404},
		{http.MethodPut, "/v3/images", 405},
	} {
		rec := call(t, s.IMSHandler(), tc.method, tc.target, "")
		assert.Equal(t, tc.status, rec.Code, tc.target)
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), tc.target)
	}
}
