package ims

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cray-bos/bos/api/imsapi"
)

// maxKeyBytes is S3's limit on key length.
const maxKeyBytes = 1024

// object is immutable once stored: a PUT replaces the pointer, so readers may use the data
// after releasing the lock.
type object struct {
	data []byte
	info imsapi.ObjectInfo
}

// objectStore is an in-memory set of buckets. It never calls out, so it can be used
// under the IMS lock (lock order: Server.mu, then objectStore.mu).
type objectStore struct {
	now     func() time.Time
	mu      sync.RWMutex
	buckets map[string]map[string]*object
}

func newObjectStore(now func() time.Time) *objectStore {
	return &objectStore{now: now, buckets: map[string]map[string]*object{}}
}

func (st *objectStore) createBucket(name string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.buckets[name] == nil {
		st.buckets[name] = map[string]*object{}
	}
}

func (st *objectStore) bucketNames() []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	names := make([]string, 0, len(st.buckets))
	for n := range st.buckets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (st *objectStore) hasBucket(name string) bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.buckets[name] != nil
}

// put stores a copy of data.
func (st *objectStore) put(bucket, key string, data []byte, contentType string) (imsapi.ObjectInfo, error) {
	if contentType == "" {
		contentType = imsapi.DefaultContentType
	}
	sum := md5.Sum(data)
	obj := &object{data: append([]byte(nil), data...), info: imsapi.ObjectInfo{
		Bucket: bucket, Key: key, Size: int64(len(data)), ETag: hex.EncodeToString(sum[:]),
		ContentType: contentType, LastModified: st.now().UTC().Truncate(time.Second),
	}}
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.buckets[bucket]
	if b == nil {
		return imsapi.ObjectInfo{}, fmt.Errorf("put %s: %w", imsapi.S3Path(bucket, key), imsapi.ErrNoSuchBucket)
	}
	b[key] = obj
	return obj.info, nil
}

func (st *objectStore) get(bucket, key string) (*object, error) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	b := st.buckets[bucket]
	if b == nil {
		return nil, fmt.Errorf("get %s: %w", imsapi.S3Path(bucket, key), imsapi.ErrNoSuchBucket)
	}
	obj := b[key]
	if obj == nil {
		return nil, fmt.Errorf("get %s: %w", imsapi.S3Path(bucket, key), imsapi.ErrNoSuchKey)
	}
	return obj, nil
}

// remove deletes an object. Like S3, deleting a missing key is not an error; a missing
// bucket is.
func (st *objectStore) remove(bucket, key string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.buckets[bucket]
	if b == nil {
		return fmt.Errorf("delete %s: %w", imsapi.S3Path(bucket, key), imsapi.ErrNoSuchBucket)
	}
	delete(b, key)
	return nil
}

// move renames an object inside its bucket (S3's copy then delete), keeping content,
// ETag and content type; the destination is overwritten.
func (st *objectStore) move(bucket, from, to string) (imsapi.ObjectInfo, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.buckets[bucket]
	if b == nil {
		return imsapi.ObjectInfo{}, fmt.Errorf("move %s: %w", imsapi.S3Path(bucket, from), imsapi.ErrNoSuchBucket)
	}
	obj := b[from]
	if obj == nil {
		return imsapi.ObjectInfo{}, fmt.Errorf("move %s: %w", imsapi.S3Path(bucket, from), imsapi.ErrNoSuchKey)
	}
	moved := &object{data: obj.data, info: obj.info}
	moved.info.Key = to
	moved.info.LastModified = st.now().UTC().Truncate(time.Second)
	delete(b, from)
	b[to] = moved
	return moved.info, nil
}

// list returns up to limit objects whose key starts with prefix and sorts after after, in
// key order, and whether more remain.
func (st *objectStore) list(bucket, prefix, after string, limit int) ([]imsapi.ObjectInfo, bool, error) {
	st.mu.RLock()
	b := st.buckets[bucket]
	if b == nil {
		st.mu.RUnlock()
		return nil, false, fmt.Errorf("list %s: %w", bucket, imsapi.ErrNoSuchBucket)
	}
	var infos []imsapi.ObjectInfo
	for k, o := range b {
		if strings.HasPrefix(k, prefix) && k > after {
			infos = append(infos, o.info)
		}
	}
	st.mu.RUnlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	if len(infos) > limit {
		return infos[:limit], true, nil
	}
	return infos, false, nil
}

// ---- HTTP ----

// s3Routes is the object store's route table (path-style addressing).
func (s *Server) s3Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.listBuckets)
	mux.HandleFunc("PUT /{bucket}", s.createBucket)
	mux.HandleFunc("GET /{bucket}", s.listObjects) // also HEAD: HeadBucket
	mux.HandleFunc("GET /{bucket}/{key...}", s.getObject)
	mux.HandleFunc("PUT /{bucket}/{key...}", s.putObject)
	mux.HandleFunc("DELETE /{bucket}/{key...}", s.deleteObject)
}

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

type s3Error struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Resource   string   `xml:"Resource"`
	RequestID  string   `xml:"RequestId"`
}

// s3Fail writes an S3 XML error. HEAD responses carry no body (net/http drops it).
func (s *Server) s3Fail(w http.ResponseWriter, r *http.Request, status int, code, msg, bucket, key string) {
	id := s.requestID()
	w.Header().Set("x-amz-request-id", id)
	writeXML(w, status, s3Error{Code: code, Message: msg, BucketName: bucket, Key: key, Resource: r.URL.Path, RequestID: id})
}

// s3FailStore maps a store error to NoSuchBucket/NoSuchKey (or 500).
func (s *Server) s3FailStore(w http.ResponseWriter, r *http.Request, err error, bucket, key string) {
	switch {
	case errors.Is(err, imsapi.ErrNoSuchBucket):
		s.s3Fail(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", bucket, "")
	case errors.Is(err, imsapi.ErrNoSuchKey):
		s.s3Fail(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", bucket, key)
	default:
		s.s3Fail(w, r, http.StatusInternalServerError, "InternalError", err.Error(), bucket, key)
	}
}

func (s *Server) requestID() string {
	return fmt.Sprintf("%016X", s.reqSeq.Add(1))
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

type listAllMyBucketsResult struct {
	XMLName xml.Name      `xml:"ListAllMyBucketsResult"`
	XMLNS   string        `xml:"xmlns,attr"`
	Buckets []bucketEntry `xml:"Buckets>Bucket"`
}

type bucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

// listBuckets is ListBuckets; every bucket reports the server's start as its creation.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request) {
	res := listAllMyBucketsResult{XMLNS: s3XMLNS}
	for _, n := range s.store.bucketNames() {
		res.Buckets = append(res.Buckets, bucketEntry{Name: n, CreationDate: s.started.Format(imsapi.S3TimeFormat)})
	}
	writeXML(w, http.StatusOK, res)
}

// bucketName follows S3's naming rules (3–63 of lower case, digits, '.', '-').
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// createBucket is CreateBucket; creating an existing bucket succeeds (S3's answer to its
// owner in us-east-1).
func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	b := r.PathValue("bucket")
	if !bucketName.MatchString(b) {
		s.s3Fail(w, r, http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", b, "")
		return
	}
	s.store.createBucket(b)
	w.Header().Set("Location", "/"+b)
	w.WriteHeader(http.StatusOK)
}

// listObjects is ListObjectsV2 (the list-type parameter is accepted and ignored: the
// answer always has the V2 shape). Supported: prefix, max-keys (0–1000, default 1000),
// continuation-token, start-after. Not supported: delimiter, encoding-type, fetch-owner.
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	s.listBucket(w, r, r.PathValue("bucket"))
}

func (s *Server) listBucket(w http.ResponseWriter, r *http.Request, bucket string) {
	q := r.URL.Query()
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.s3Fail(w, r, http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range", bucket, "")
			return
		}
		maxKeys = min(n, 1000)
	}
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			s.s3Fail(w, r, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect", bucket, "")
			return
		}
		after = max(after, string(raw))
	}
	infos, truncated, err := s.store.list(bucket, q.Get("prefix"), after, maxKeys)
	if err != nil {
		s.s3FailStore(w, r, err, bucket, "")
		return
	}
	res := imsapi.ListBucketResult{
		XMLNS: s3XMLNS, Name: bucket, Prefix: q.Get("prefix"), StartAfter: q.Get("start-after"),
		ContinuationToken: token, KeyCount: len(infos), MaxKeys: maxKeys, IsTruncated: truncated,
	}
	for _, in := range infos {
		res.Contents = append(res.Contents, imsapi.ListContents{
			Key: in.Key, LastModified: in.LastModified.Format(imsapi.S3TimeFormat), ETag: quoteETag(in.ETag),
			Size: in.Size, StorageClass: "STANDARD",
		})
	}
	if truncated && len(infos) > 0 {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(infos[len(infos)-1].Key))
	}
	writeXML(w, http.StatusOK, res)
}

func quoteETag(etag string) string { return `"` + etag + `"` }

// getObject serves GetObject and HeadObject. A single "bytes=" range gives 206; a range
// that starts past the end gives 416 InvalidRange; a malformed or multi-part range is
// ignored (the whole object is sent), as S3 does.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	bucket, key := r.PathValue("bucket"), r.PathValue("key")
	if key == "" { // GET /bucket/ is a listing
		s.listBucket(w, r, bucket)
		return
	}
	obj, err := s.store.get(bucket, key)
	if err != nil {
		s.s3FailStore(w, r, err, bucket, key)
		return
	}
	h := w.Header()
	h.Set("ETag", quoteETag(obj.info.ETag))
	h.Set("Last-Modified", obj.info.LastModified.Format(http.TimeFormat))
	h.Set("Content-Type", obj.info.ContentType)
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-amz-request-id", s.requestID())
	size := int64(len(obj.data))
	start, end, status := int64(0), size, http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" {
		a, b, ok, unsatisfiable := parseRange(rg, size)
		switch {
		case unsatisfiable:
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			h.Del("ETag")
			h.Del("Last-Modified")
			h.Del("Accept-Ranges")
			s.s3Fail(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable", bucket, key)
			return
		case ok:
			start, end, status = a, b+1, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
		}
	}
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(obj.data[start:end])
	}
}

// parseRange reads one "bytes=first-last", "bytes=first-" or "bytes=-suffix" range
// against an object of size bytes and returns the inclusive byte positions. ok=false
// means "ignore the header"; unsatisfiable means 416.
func parseRange(h string, size int64) (first, last int64, ok, unsatisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" { // suffix range: the last n bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, false, true
		}
		return max(size-n, 0), size - 1, true, false
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false, false
	}
	last = size - 1
	if b != "" {
		last, err = strconv.ParseInt(b, 10, 64)
		if err != nil || last < first {
			return 0, 0, false, false
		}
	}
	if first >= size {
		return 0, 0, false, true
	}
	return first, min(last, size-1), true, false
}

// putObject is PutObject. The body is bounded by Config.MaxObjectBytes (400
// EntityTooLarge above it); Content-Type is kept (default binary/octet-stream).
func (s *Server) putObject(w http.ResponseWriter, r *http.Request) {
	bucket, key := r.PathValue("bucket"), r.PathValue("key")
	tooLarge := func() {
		s.s3Fail(w, r, http.StatusBadRequest, "EntityTooLarge", fmt.Sprintf("Your proposed upload exceeds the maximum allowed size of %d bytes", s.maxObject), bucket, key)
	}
	switch {
	case key == "":
		s.s3Fail(w, r, http.StatusBadRequest, "InvalidRequest", "An object key is required.", bucket, "")
		return
	case len(key) > maxKeyBytes:
		s.s3Fail(w, r, http.StatusBadRequest, "KeyTooLongError", "Your key is too long", bucket, "")
		return
	case !s.store.hasBucket(bucket):
		s.s3Fail(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", bucket, "")
		return
	case r.ContentLength > s.maxObject:
		tooLarge()
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxObject))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			tooLarge()
			return
		}
		s.s3Fail(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", bucket, key)
		return
	}
	info, err := s.store.put(bucket, key, data, r.Header.Get("Content-Type"))
	if err != nil {
		s.s3FailStore(w, r, err, bucket, key)
		return
	}
	s.log.Debug("s3 put", "path", imsapi.S3Path(bucket, key), "size", info.Size)
	w.Header().Set("ETag", quoteETag(info.ETag))
	w.Header().Set("x-amz-request-id", s.requestID())
	w.WriteHeader(http.StatusOK)
}

// deleteObject is DeleteObject: 204 whether or not the key existed.
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	bucket, key := r.PathValue("bucket"), r.PathValue("key")
	if err := s.store.remove(bucket, key); err != nil {
		s.s3FailStore(w, r, err, bucket, key)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
