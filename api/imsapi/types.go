package imsapi

import (
	"encoding/xml"
	"errors"
	"time"
)

// ErrImageNotFound: no (live, or deleted where it says so) image has the id.
var ErrImageNotFound = errors.New("image not found")

// Image is an IMS image record. Link is null for an image without artifacts. Created is
// ISO 8601 with microseconds and an offset. Metadata holds key/value tags such as BOS's
// "sbps-project".
type Image struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Created  string            `json:"created"`
	Link     *Link             `json:"link"`
	Arch     string            `json:"arch"`
	Metadata map[string]string `json:"metadata"`
}

// DeletedImage is a soft-deleted record: its Link points at
// s3://boot-images/deleted/<id>/deleted_manifest.json, which lists where every artifact
// (and the original manifest) was moved.
type DeletedImage struct {
	Image
	Deleted string `json:"deleted"`
}

// Errors of the object store, as returned by Server's object methods. Over HTTP they are
// S3's NoSuchBucket and NoSuchKey.
var (
	ErrNoSuchBucket = errors.New("NoSuchBucket")
	ErrNoSuchKey    = errors.New("NoSuchKey")
)

// DefaultContentType is what S3 reports for an object uploaded without a Content-Type.
const DefaultContentType = "binary/octet-stream"

// ObjectInfo describes a stored object. ETag is the hex MD5 of the content, unquoted (the
// HTTP ETag header carries it quoted).
type ObjectInfo struct {
	Bucket       string
	Key          string
	Size         int64
	ETag         string
	ContentType  string
	LastModified time.Time
}

// Architectures of IMS images.
const (
	ArchX86_64  = "x86_64"
	ArchAarch64 = "aarch64"
)

// S3TimeFormat is the timestamp format of S3 XML listings.
const S3TimeFormat = "2006-01-02T15:04:05.000Z"

// ListBucketResult is the reply of S3 ListObjectsV2 (GET /{bucket}?list-type=2).
type ListBucketResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	XMLNS                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	MaxKeys               int            `xml:"MaxKeys"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []ListContents `xml:"Contents"`
}

// ListContents is one object of a ListBucketResult.
type ListContents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}
