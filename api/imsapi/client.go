package imsapi

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/problem"
)

// Client speaks the IMS v3 image API (baseURL + /v3) and, for BOS's manifest reads, plain
// S3 GET/HEAD/PUT/list against an S3 base URL given per call (IMS and S3 are separate
// endpoints on a real system). It sends no AWS signature.
type Client struct{ svc problem.Service }

// NewClient returns a client for the IMS at baseURL (scheme://host:port). A nil hc means
// http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{svc: problem.NewService(baseURL, "", hc)}
}

// ImageCreate is the body of CreateImage. With Link nil the server generates artifacts
// and a manifest (our convenience; KernelParameters fills the boot parameters object).
// To create a record without artifacts, as IMS allows, use NoLink.
type ImageCreate struct {
	Name             string
	Arch             string // "" = x86_64
	Link             *Link
	NoLink           bool // send "link": null
	Metadata         map[string]string
	KernelParameters string // only with Link == nil and !NoLink
}

// MetadataOp is one metadata change: Operation "set" or "remove".
type MetadataOp struct {
	Operation string `json:"operation"`
	Key       string `json:"key"`
	Value     string `json:"value,omitempty"`
}

// ImagePatch is the body of PatchImage; nil fields are left out. Metadata is sent as a
// list of operations.
type ImagePatch struct {
	Link     *Link        `json:"link,omitempty"`
	Arch     *string      `json:"arch,omitempty"`
	Metadata []MetadataOp `json:"metadata,omitempty"`
}

// ListImages returns every live image.
func (c *Client) ListImages(ctx context.Context) ([]Image, error) {
	var out []Image
	if err := c.do(ctx, http.MethodGet, "/v3/images", nil, &out); err != nil {
		return nil, fmt.Errorf("ims: list images: %w", err)
	}
	return out, nil
}

// GetImage returns one image. A 404 wraps ErrImageNotFound (and a *problem.Details).
func (c *Client) GetImage(ctx context.Context, id string) (Image, error) {
	var out Image
	if err := c.do(ctx, http.MethodGet, "/v3/images/"+url.PathEscape(id), nil, &out); err != nil {
		return Image{}, fmt.Errorf("ims: get image %s: %w", id, notFound(err))
	}
	return out, nil
}

// CreateImage POSTs a new image record.
func (c *Client) CreateImage(ctx context.Context, in ImageCreate) (Image, error) {
	body := map[string]any{"name": in.Name}
	if in.Arch != "" {
		body["arch"] = in.Arch
	}
	switch {
	case in.NoLink:
		body["link"] = nil
	case in.Link != nil:
		body["link"] = in.Link
	}
	if in.Metadata != nil {
		body["metadata"] = in.Metadata
	}
	if in.KernelParameters != "" {
		body["kernel_parameters"] = in.KernelParameters
	}
	var out Image
	if err := c.do(ctx, http.MethodPost, "/v3/images", body, &out); err != nil {
		return Image{}, fmt.Errorf("ims: create image %q: %w", in.Name, err)
	}
	return out, nil
}

// PatchImage updates an image and returns the result.
func (c *Client) PatchImage(ctx context.Context, id string, p ImagePatch) (Image, error) {
	var out Image
	if err := c.do(ctx, http.MethodPatch, "/v3/images/"+url.PathEscape(id), p, &out); err != nil {
		return Image{}, fmt.Errorf("ims: patch image %s: %w", id, notFound(err))
	}
	return out, nil
}

// TagImage sends one metadata operation in the single-object form BOS uses for SBPS
// ({"metadata":{"operation":"set","key":"sbps-project","value":"true"}}).
func (c *Client) TagImage(ctx context.Context, id, operation, key, value string) error {
	body := map[string]any{"metadata": map[string]any{"operation": operation, "key": key, "value": value}}
	if err := c.do(ctx, http.MethodPatch, "/v3/images/"+url.PathEscape(id), body, nil); err != nil {
		return fmt.Errorf("ims: tag image %s: %w", id, notFound(err))
	}
	return nil
}

// DeleteImage soft-deletes an image.
func (c *Client) DeleteImage(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodDelete, "/v3/images/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("ims: delete image %s: %w", id, notFound(err))
	}
	return nil
}

// ListDeletedImages returns every soft-deleted image.
func (c *Client) ListDeletedImages(ctx context.Context) ([]DeletedImage, error) {
	var out []DeletedImage
	if err := c.do(ctx, http.MethodGet, "/v3/deleted/images", nil, &out); err != nil {
		return nil, fmt.Errorf("ims: list deleted images: %w", err)
	}
	return out, nil
}

// GetDeletedImage returns one soft-deleted image.
func (c *Client) GetDeletedImage(ctx context.Context, id string) (DeletedImage, error) {
	var out DeletedImage
	if err := c.do(ctx, http.MethodGet, "/v3/deleted/images/"+url.PathEscape(id), nil, &out); err != nil {
		return DeletedImage{}, fmt.Errorf("ims: get deleted image %s: %w", id, notFound(err))
	}
	return out, nil
}

// UndeleteImage restores a soft-deleted image and its artifacts.
func (c *Client) UndeleteImage(ctx context.Context, id string) error {
	body := map[string]string{"operation": "undelete"}
	if err := c.do(ctx, http.MethodPatch, "/v3/deleted/images/"+url.PathEscape(id), body, nil); err != nil {
		return fmt.Errorf("ims: undelete image %s: %w", id, notFound(err))
	}
	return nil
}

// PurgeImage permanently deletes a soft-deleted image and its artifacts.
func (c *Client) PurgeImage(ctx context.Context, id string) error {
	if err := c.do(ctx, http.MethodDelete, "/v3/deleted/images/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("ims: purge image %s: %w", id, notFound(err))
	}
	return nil
}

// notFound adds ErrImageNotFound to a 404, keeping the *problem.Details.
func notFound(err error) error {
	if problem.StatusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrImageNotFound, err)
	}
	return err
}

// do sends an IMS request with an optional JSON body and decodes a 2xx answer into out
// (when non-nil). A non-2xx answer is returned as a *problem.Details.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.svc.Do(ctx, method, path, nil, in, out)
	return err
}

// ---- S3 ----

// S3Error is an S3 error answer. It matches ErrNoSuchKey / ErrNoSuchBucket with
// errors.Is by its Code.
type S3Error struct {
	Status  int
	Code    string
	Message string
}

func (e *S3Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("s3 %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("s3 %d %s: %s", e.Status, e.Code, e.Message)
}

// Is lets errors.Is(err, ErrNoSuchKey) work on an S3Error.
func (e *S3Error) Is(target error) bool {
	return (target == ErrNoSuchKey && e.Code == "NoSuchKey") || (target == ErrNoSuchBucket && e.Code == "NoSuchBucket")
}

// s3Request sends one S3 request for s3Path against s3BaseURL.
func (c *Client) s3Request(ctx context.Context, method, s3BaseURL, s3Path string, body []byte, contentType string) (*http.Response, error) {
	bucket, key, err := ParseS3Path(s3Path)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(s3BaseURL, "/")+"/"+objectURLPath(bucket, key), rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.svc.HC.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, s3ErrorFrom(resp)
	}
	return resp, nil
}

// objectURLPath escapes each key segment, keeping the slashes.
func objectURLPath(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return url.PathEscape(bucket) + "/" + strings.Join(segs, "/")
}

func s3ErrorFrom(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	e := &S3Error{Status: resp.StatusCode}
	if xml.Unmarshal(raw, &x) == nil && x.Code != "" {
		e.Code, e.Message = x.Code, x.Message
		return e
	}
	// HEAD answers carry no body: name the common case from the status.
	e.Code = http.StatusText(resp.StatusCode)
	if resp.StatusCode == http.StatusNotFound && resp.Request != nil && resp.Request.Method == http.MethodHead {
		e.Code = "NoSuchKey"
	}
	return e
}

func infoFrom(resp *http.Response, s3Path string) ObjectInfo {
	bucket, key, _ := ParseS3Path(s3Path)
	info := ObjectInfo{
		Bucket: bucket, Key: key, Size: resp.ContentLength,
		ETag: strings.Trim(resp.Header.Get("ETag"), `"`), ContentType: resp.Header.Get("Content-Type"),
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.LastModified = t
	}
	return info
}

// HeadObject is an S3 HEAD of s3Path ("s3://bucket/key"). A missing object gives an
// error matching ErrNoSuchKey.
func (c *Client) HeadObject(ctx context.Context, s3BaseURL, s3Path string) (ObjectInfo, error) {
	resp, err := c.s3Request(ctx, http.MethodHead, s3BaseURL, s3Path, nil, "")
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("s3 head %s: %w", s3Path, err)
	}
	resp.Body.Close()
	return infoFrom(resp, s3Path), nil
}

// GetObject is an S3 GET of s3Path, reading at most maxBytes (an object larger than that
// is an error).
func (c *Client) GetObject(ctx context.Context, s3BaseURL, s3Path string, maxBytes int64) ([]byte, ObjectInfo, error) {
	resp, err := c.s3Request(ctx, http.MethodGet, s3BaseURL, s3Path, nil, "")
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("s3 get %s: %w", s3Path, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxBytes {
		return nil, ObjectInfo{}, fmt.Errorf("s3 get %s: object is %d bytes, over the %d-byte limit", s3Path, resp.ContentLength, maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("s3 get %s: %w", s3Path, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, ObjectInfo{}, fmt.Errorf("s3 get %s: object is over the %d-byte limit", s3Path, maxBytes)
	}
	info := infoFrom(resp, s3Path)
	info.Size = int64(len(data))
	return data, info, nil
}

// PutObject uploads data to s3Path and returns its ETag (unquoted).
func (c *Client) PutObject(ctx context.Context, s3BaseURL, s3Path string, data []byte, contentType string) (string, error) {
	if data == nil {
		data = []byte{}
	}
	resp, err := c.s3Request(ctx, http.MethodPut, s3BaseURL, s3Path, data, contentType)
	if err != nil {
		return "", fmt.Errorf("s3 put %s: %w", s3Path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return strings.Trim(resp.Header.Get("ETag"), `"`), nil
}

// ListObjects lists every key under prefix in bucket, following continuation tokens.
func (c *Client) ListObjects(ctx context.Context, s3BaseURL, bucket, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s3BaseURL, "/")+"/"+url.PathEscape(bucket)+"?"+q.Encode(), nil)
		if err != nil {
			return nil, fmt.Errorf("s3 list %s: %w", bucket, err)
		}
		page, next, err := c.listPage(req)
		if err != nil {
			return nil, fmt.Errorf("s3 list %s: %w", bucket, err)
		}
		for i := range page {
			page[i].Bucket = bucket
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}

func (c *Client) listPage(req *http.Request) ([]ObjectInfo, string, error) {
	resp, err := c.svc.HC.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", s3ErrorFrom(resp)
	}
	var res ListBucketResult
	if err := xml.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, "", fmt.Errorf("decode listing: %w", err)
	}
	page := make([]ObjectInfo, 0, len(res.Contents))
	for _, ct := range res.Contents {
		info := ObjectInfo{Key: ct.Key, Size: ct.Size, ETag: strings.Trim(ct.ETag, `"`)}
		if t, err := time.Parse(S3TimeFormat, ct.LastModified); err == nil {
			info.LastModified = t
		}
		page = append(page, info)
	}
	if !res.IsTruncated {
		return page, "", nil
	}
	if res.NextContinuationToken == "" {
		return nil, "", errors.New("truncated listing without a continuation token")
	}
	return page, res.NextContinuationToken, nil
}

// ReadManifest GETs and parses the image manifest at s3Path, as BOS does: at most
// MaxManifestBytes (ErrManifestTooBig above), a JSON object (ErrBadManifest otherwise),
// no two artifacts of one type (ErrDuplicateArtifact). A missing object matches
// ErrNoSuchKey or ErrNoSuchBucket. Use Manifest.BootArtifacts to require a kernel.
func (c *Client) ReadManifest(ctx context.Context, s3BaseURL, s3Path string) (Manifest, error) {
	resp, err := c.s3Request(ctx, http.MethodGet, s3BaseURL, s3Path, nil, "")
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest %s: %w", s3Path, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > MaxManifestBytes {
		return Manifest{}, fmt.Errorf("read manifest %s: %w (%s bytes)", s3Path, ErrManifestTooBig, strconv.FormatInt(resp.ContentLength, 10))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestBytes+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest %s: %w", s3Path, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest %s: %w", s3Path, err)
	}
	return m, nil
}
