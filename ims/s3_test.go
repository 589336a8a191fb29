package ims

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/api/imsapi"
)

func TestS3PutObject(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		body       string
		headers    []string
		wantStatus int
		wantCode   string // S3 error code, "" on success
	}{
		{name: "OK", target: "/boot-images/new/kernel", body: "hello", wantStatus: http.StatusOK},
		{name: "OKNestedKey", target: "/boot-images/a/b/c/d.bin", body: "x", wantStatus: http.StatusOK},
		{name: "OKEmptyBody", target: "/boot-images/empty", body: "", wantStatus: http.StatusOK},
		{name: "OKContentType", target: "/boot-images/typed.json", body: "{}", headers: []string{"Content-Type", "application/json"}, wantStatus: http.StatusOK},
		{name: "ErrNoSuchBucket", target: "/nobucket/key", body: "x", wantStatus: http.StatusNotFound, wantCode: "NoSuchBucket"},
		{name: "ErrNoKey", target: "/boot-images/", body: "x", wantStatus: http.StatusBadRequest, wantCode: "InvalidRequest"},
		{name: "ErrTooLarge", target: "/boot-images/big", body: strings.Repeat("x", 65), wantStatus: http.StatusBadRequest, wantCode: "EntityTooLarge"},
		{name: "ErrKeyTooLong", target: "/boot-images/" + strings.Repeat("k", 1025), body: "x", wantStatus: http.StatusBadRequest, wantCode: "KeyTooLongError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Images: []ImageSpec{}, MaxObjectBytes: 64})
			require.NoError(t, err)
			h := s.S3Handler()
			rec := call(t, h, http.MethodPut, tt.target, tt.body, tt.headers...)
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, s3Code(t, rec))
				assert.Equal(t, "application/xml", rec.Header().Get("Content-Type"))
				return
			}
			assert.Equal(t, `"`+md5hex(tt.body)+`"`, rec.Header().Get("ETag"))
			key := strings.TrimPrefix(tt.target, "/boot-images/")
			data, info, err := s.GetObject(Bucket, key)
			require.NoError(t, err)
			assert.Equal(t, tt.body, string(data))
			assert.Equal(t, md5hex(tt.body), info.ETag)
			if len(tt.headers) > 0 {
				assert.Equal(t, tt.headers[1], info.ContentType)
			} else {
				assert.Equal(t, imsapi.DefaultContentType, info.ContentType)
			}
		})
	}
}

// A body over the limit without a Content-Length (chunked) is caught while reading.
func TestS3PutObjectChunkedTooLarge(t *testing.T) {
	s, err := New(Config{Images: []ImageSpec{}, MaxObjectBytes: 8})
	require.NoError(t, err)
	req := newRequest(t, http.MethodPut, "/boot-images/big", strings.Repeat("y", 9))
	req.ContentLength = -1
	rec := serve(s.S3Handler(), req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "EntityTooLarge", s3Code(t, rec))
	_, _, err = s.GetObject(Bucket, "big")
	assert.ErrorIs(t, err, imsapi.ErrNoSuchKey, "nothing stored")
}

func TestS3GetAndHeadObject(t *testing.T) {
	s := mustServer(t, []ImageSpec{}...)
	_, err := s.PutObject(Bucket, "dir/obj", []byte("0123456789"), "text/plain")
	require.NoError(t, err)
	h := s.S3Handler()
	tests := []struct {
		name       string
		method     string
		target     string
		rangeHdr   string
		wantStatus int
		wantBody   string
		wantCode   string
		wantRange  string // Content-Range
	}{
		{name: "GetOK", method: http.MethodGet, target: "/boot-images/dir/obj", wantStatus: 200, wantBody: "0123456789"},
		{name: "HeadOK", method: http.MethodHead, target: "/boot-images/dir/obj", wantStatus: 200},
		{name: "GetEscapedKey", method: http.MethodGet, target: "/boot-images/dir%2Fobj", wantStatus: 200, wantBody: "0123456789"},
		{name: "RangeFirstLast", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=2-4", wantStatus: 206, wantBody: "234", wantRange: "bytes 2-4/10"},
		{name: "RangeOpenEnd", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=7-", wantStatus: 206, wantBody: "789", wantRange: "bytes 7-9/10"},
		{name: "RangeSuffix", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=-3", wantStatus: 206, wantBody: "789", wantRange: "bytes 7-9/10"},
		{name: "RangeSuffixLongerThanObject", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=-50", wantStatus: 206, wantBody: "0123456789", wantRange: "bytes 0-9/10"},
		{name: "RangeEndPastObject", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=8-100", wantStatus: 206, wantBody: "89", wantRange: "bytes 8-9/10"},
		{name: "RangeMultiIgnored", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=0-1,3-4", wantStatus: 200, wantBody: "0123456789"},
		{name: "RangeMalformedIgnored", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=5-2", wantStatus: 200, wantBody: "0123456789"},
		{name: "RangeOtherUnitIgnored", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "items=1-2", wantStatus: 200, wantBody: "0123456789"},
		{name: "ErrRangeStartPastEnd", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=10-", wantStatus: 416, wantCode: "InvalidRange", wantRange: "bytes */10"},
		{name: "ErrRangeEmptySuffix", method: http.MethodGet, target: "/boot-images/dir/obj", rangeHdr: "bytes=-0", wantStatus: 416, wantCode: "InvalidRange", wantRange: "bytes */10"},
		{name: "ErrNoSuchKey", method: http.MethodGet, target: "/boot-images/dir/missing", wantStatus: 404, wantCode: "NoSuchKey"},
		{name: "ErrNoSuchBucket", method: http.MethodGet, target: "/nobucket/dir/obj", wantStatus: 404, wantCode: "NoSuchBucket"},
		{name: "HeadErrNoSuchKey", method: http.MethodHead, target: "/boot-images/dir/missing", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.rangeHdr != "" {
				hdr = []string{"Range", tt.rangeHdr}
			}
			rec := call(t, h, tt.method, tt.target, "", hdr...)
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			assert.Equal(t, tt.wantRange, rec.Header().Get("Content-Range"))
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, s3Code(t, rec))
				return
			}
			if tt.method == http.MethodHead && rec.Code == http.StatusOK {
				assert.Equal(t, "10", rec.Header().Get("Content-Length"))
			}
			if tt.wantStatus >= 300 {
				return
			}
			assert.Equal(t, tt.wantBody, rec.Body.String())
			assert.Equal(t, `"`+md5hex("0123456789")+`"`, rec.Header().Get("ETag"), "ETag is of the whole object")
			assert.Equal(t, "text/plain", rec.Header().Get("Content-Type"))
			assert.Equal(t, testNow.Format(http.TimeFormat), rec.Header().Get("Last-Modified"))
			if tt.method == http.MethodGet {
				assert.Equal(t, fmt.Sprint(len(tt.wantBody)), rec.Header().Get("Content-Length"))
			}
		})
	}
}

// HEAD and GET agree on every seeded object, and the ETag is the MD5 of the bytes GET
// returns, which is also what the manifest records.
func TestS3HeadGetETagConsistency(t *testing.T) {
	s := mustServer(t)
	h := s.S3Handler()
	for _, img := range s.Images() {
		_, key, err := imsapi.ParseS3Path(img.Link.Path)
		require.NoError(t, err)
		get := call(t, h, http.MethodGet, "/"+Bucket+"/"+key, "")
		require.Equal(t, http.StatusOK, get.Code)
		m, err := imsapi.ParseManifest(get.Body.Bytes())
		require.NoError(t, err)
		assert.Equal(t, img.Link.ETag, md5hex(get.Body.String()), "image link etag is the manifest's MD5")
		for _, a := range m.Artifacts {
			_, k, err := imsapi.ParseS3Path(a.Link.Path)
			require.NoError(t, err)
			get := call(t, h, http.MethodGet, "/"+Bucket+"/"+k, "")
			head := call(t, h, http.MethodHead, "/"+Bucket+"/"+k, "")
			require.Equal(t, http.StatusOK, get.Code)
			require.Equal(t, http.StatusOK, head.Code)
			assert.Empty(t, head.Body.String(), "HEAD has no body")
			for _, hd := range []string{"ETag", "Content-Length", "Last-Modified", "Content-Type"} {
				assert.Equal(t, get.Header().Get(hd), head.Header().Get(hd), "%s of %s", hd, k)
			}
			assert.Equal(t, `"`+md5hex(get.Body.String())+`"`, get.Header().Get("ETag"))
			assert.Equal(t, a.Link.ETag, md5hex(get.Body.String()), "manifest etag of %s", a.Type)
			assert.Equal(t, a.MD5, md5hex(get.Body.String()), "manifest md5 of %s", a.Type)
		}
	}
}

func TestS3ListObjects(t *testing.T) {
	s := mustServer(t, []ImageSpec{}...)
	for _, k := range []string{"a/1", "a/2", "a/3", "b/1", "c"} {
		_, err := s.PutObject(Bucket, k, []byte(k), "")
		require.NoError(t, err)
	}
	h := s.S3Handler()
	tests := []struct {
		name       string
		target     string
		wantStatus int
		wantKeys   []string
		wantTrunc  bool
		wantCode   string
	}{
		{name: "All", target: "/boot-images?list-type=2", wantStatus: 200, wantKeys: []string{"a/1", "a/2", "a/3", "b/1", "c"}},
		{name: "TrailingSlash", target: "/boot-images/", wantStatus: 200, wantKeys: []string{"a/1", "a/2", "a/3", "b/1", "c"}},
		{name: "Prefix", target: "/boot-images?prefix=a/", wantStatus: 200, wantKeys: []string{"a/1", "a/2", "a/3"}},
		{name: "PrefixNone", target: "/boot-images?prefix=zzz", wantStatus: 200, wantKeys: nil},
		{name: "MaxKeys", target: "/boot-images?max-keys=2", wantStatus: 200, wantKeys: []string{"a/1", "a/2"}, wantTrunc: true},
		{name: "MaxKeysZero", target: "/boot-images?max-keys=0", wantStatus: 200, wantKeys: nil, wantTrunc: true},
		{name: "StartAfter", target: "/boot-images?start-after=a/3", wantStatus: 200, wantKeys: []string{"b/1", "c"}},
		{name: "ErrMaxKeys", target: "/boot-images?max-keys=x", wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "ErrToken", target: "/boot-images?continuation-token=!!", wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "ErrNoSuchBucket", target: "/nobucket", wantStatus: 404, wantCode: "NoSuchBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, h, http.MethodGet, tt.target, "")
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, s3Code(t, rec))
				return
			}
			var res imsapi.ListBucketResult
			require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &res))
			var keys []string
			for _, c := range res.Contents {
				keys = append(keys, c.Key)
				assert.Equal(t, `"`+md5hex(c.Key)+`"`, c.ETag)
				assert.Equal(t, int64(len(c.Key)), c.Size)
			}
			assert.Equal(t, tt.wantKeys, keys)
			assert.Equal(t, tt.wantTrunc, res.IsTruncated)
			assert.Equal(t, len(keys), res.KeyCount)
			assert.Equal(t, Bucket, res.Name)
		})
	}

	t.Run("ContinuationWalksEveryKeyOnce", func(t *testing.T) {
		var keys []string
		token := ""
		for range 10 {
			target := "/boot-images?max-keys=2"
			if token != "" {
				target += "&continuation-token=" + token
			}
			rec := call(t, h, http.MethodGet, target, "")
			require.Equal(t, http.StatusOK, rec.Code)
			var res imsapi.ListBucketResult
			require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &res))
			for _, c := range res.Contents {
				keys = append(keys, c.Key)
			}
			if !res.IsTruncated {
				break
			}
			token = res.NextContinuationToken
			require.NotEmpty(t, token)
		}
		assert.Equal(t, []string{"a/1", "a/2", "a/3", "b/1", "c"}, keys)
	})
}

func TestS3Buckets(t *testing.T) {
	s := mustServer(t, []ImageSpec{}...)
	h := s.S3Handler()
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantCode   string
	}{
		{name: "CreateOK", method: http.MethodPut, target: "/my-bucket", wantStatus: 200},
		{name: "CreateExistingOK", method: http.MethodPut, target: "/boot-images", wantStatus: 200},
		{name: "ErrCreateBadName", method: http.MethodPut, target: "/No_Such", wantStatus: 400, wantCode: "InvalidBucketName"},
		{name: "ErrCreateShortName", method: http.MethodPut, target: "/ab", wantStatus: 400, wantCode: "InvalidBucketName"},
		{name: "HeadOK", method: http.MethodHead, target: "/boot-images", wantStatus: 200},
		{name: "HeadMissing", method: http.MethodHead, target: "/nobucket", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, h, tt.method, tt.target, "")
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, s3Code(t, rec))
			}
		})
	}
	rec := call(t, h, http.MethodGet, "/", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var res listAllMyBucketsResult
	require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &res))
	var names []string
	for _, b := range res.Buckets {
		names = append(names, b.Name)
	}
	assert.Equal(t, []string{Bucket, "my-bucket"}, names)
	// The new bucket takes objects.
	rec = call(t, h, http.MethodPut, "/my-bucket/k", "v")
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestS3DeleteObject(t *testing.T) {
	s := mustServer(t, []ImageSpec{}...)
	_, err := s.PutObject(Bucket, "gone", []byte("x"), "")
	require.NoError(t, err)
	h := s.S3Handler()
	tests := []struct {
		name       string
		target     string
		wantStatus int
		wantCode   string
	}{
		{name: "OK", target: "/boot-images/gone", wantStatus: 204},
		{name: "OKAlreadyAbsent", target: "/boot-images/gone", wantStatus: 204},
		{name: "ErrNoSuchBucket", target: "/nobucket/gone", wantStatus: 404, wantCode: "NoSuchBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, h, http.MethodDelete, tt.target, "")
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, s3Code(t, rec))
			}
		})
	}
	_, _, err = s.GetObject(Bucket, "gone")
	assert.ErrorIs(t, err, imsapi.ErrNoSuchKey)
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h                 string
		size              int64
		first, last       int64
		ok, unsatisfiable bool
	}{
		{"bytes=0-0", 10, 0, 0, true, false},
		{"bytes=0-", 10, 0, 9, true, false},
		{"bytes=9-9", 10, 9, 9, true, false},
		{"bytes=-1", 10, 9, 9, true, false},
		{"bytes= 1-2", 10, 1, 2, true, false},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=-5", 0, 0, 0, false, true},
		{"bytes=a-b", 10, 0, 0, false, false},
		{"bytes=1", 10, 0, 0, false, false},
		{"bytes=-x", 10, 0, 0, false, false},
		{"bytes=-1-2", 10, 0, 0, false, false},
		{"", 10, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.h, func(t *testing.T) {
			first, last, ok, unsat := parseRange(tt.h, tt.size)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.unsatisfiable, unsat)
			if ok {
				assert.Equal(t, tt.first, first)
				assert.Equal(t, tt.last, last)
			}
		})
	}
}
