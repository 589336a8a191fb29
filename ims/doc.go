// Package ims simulates the image side of a Cray EX system that BOS depends on: the Image
// Management Service's image records (IMS v3) and the S3 object store (Ceph RGW on a real
// system) holding each image's manifest.json and boot artifacts.
//
// BOS uses them to validate boot sets and build kernel parameters (BOS reference 1.6 and
// 4.6): it reads s3://boot-images/<ims-id>/manifest.json (at most 1 MiB), requires exactly
// one kernel artifact and HEADs it, reads the boot parameters object, GETs
// /v3/images/<id> to compare the image's arch with the boot set's, and for SBPS images
// sends PATCH /v3/images/<id> {"metadata":{"operation":"set","key":"sbps-project",
// "value":"true"}}, refusing images whose kernel key is under deleted/.
//
// # Images and artifacts
//
// Every image created by the seed (Config.Images, DefaultImages when nil), by AddImage, or
// by a POST without a link gets small fake objects under s3://boot-images/<id>/: kernel,
// initrd, rootfs and boot_parameters (the last holds a realistic parameter string such as
// "console=ttyS0,115200 ... ip=dhcp quiet spire_join_token=${SPIRE_JOIN_TOKEN}"), and a
// manifest.json {"version":"1.0","created":"YYYY-MM-DD HH:MM:SS","artifacts":[{"link":
// {"path","etag","type":"s3"},"type","md5"}, ...]} whose link is the record's link. Seeded
// and AddImage'd images have the id ImageID(name) (a name-based UUID), so tests can name
// them: ImageID(ImageCompute) is always the same. Images POSTed over HTTP get a random
// UUID, as in IMS.
//
// # API served
//
// IMSHandler, under /v3 and /apis/ims/v3 (errors are application/problem+json):
//
//	GET    /images                    200 [image]
//	POST   /images                    201 image; 400 bad JSON/unknown field/empty; 413; 422 invalid
//	DELETE /images                    204, soft-deletes all
//	GET    /images/{id}               200; 404
//	PATCH  /images/{id}               200; 400; 404; 409 link already set; 422
//	DELETE /images/{id}               204 soft delete; 404
//	GET    /deleted/images            200 [deleted image]
//	PATCH  /deleted/images            204 {"operation":"undelete"} for all; 400; 422
//	DELETE /deleted/images            204, purges all
//	GET    /deleted/images/{id}       200; 404
//	PATCH  /deleted/images/{id}       204 {"operation":"undelete"}; 400; 404; 422
//	DELETE /deleted/images/{id}       204 permanent delete of record and objects; 404
//
// An image is {"id","name","created","link":{"path","etag","type"}|null,"arch",
// "metadata":{}}; a deleted image adds "deleted". POST takes name (required), arch
// (x86_64 default, or aarch64), link, metadata (an object of strings). PATCH takes link
// (accepted only when the record has none or the same one; otherwise 409), arch, and
// metadata as one operation object {"operation":"set"|"remove","key","value"} (BOS's
// form) or a list of them (IMS's schema).
//
// POST convenience (our extension): when the body has no "link" key, the server generates
// the artifacts and manifest as for a seed image and links them; an optional
// "kernel_parameters" string fills the boot parameters object (default
// DefaultKernelParameters(arch)). "link": null creates a record without artifacts, as in
// IMS; a link object must name a readable manifest in this store (422 otherwise).
//
// Soft delete follows IMS: each object the manifest lists, then the manifest, moves from
// <key> to deleted/<key> in its bucket (content and ETag kept), and
// s3://boot-images/deleted/<id>/deleted_manifest.json lists the new places (the manifest
// itself as type application/vnd.cray.image.manifest); the record's link then points at
// that file. Undelete moves everything back and relinks the original manifest; purge
// removes the objects and the record. Images that share artifacts share their fate, as in
// IMS.
//
// S3Handler, path-style (no virtual-host buckets; errors are S3 XML <Error> bodies with
// Code NoSuchKey, NoSuchBucket, InvalidRange, EntityTooLarge, InvalidArgument,
// InvalidBucketName, KeyTooLongError):
//
//	GET    /                          ListBuckets
//	PUT    /{bucket}                  CreateBucket (200, also when it exists)
//	GET    /{bucket}[/]?prefix=&max-keys=&continuation-token=&start-after=   ListObjectsV2 XML
//	HEAD   /{bucket}                  HeadBucket
//	GET    /{bucket}/{key...}         GetObject; Range: one bytes= range → 206, past the end → 416
//	HEAD   /{bucket}/{key...}         HeadObject
//	PUT    /{bucket}/{key...}         PutObject, body ≤ Config.MaxObjectBytes (400 EntityTooLarge)
//	DELETE /{bucket}/{key...}         DeleteObject (204 even if absent)
//
// Objects carry ETag (quoted hex MD5 of the content, identical on GET, HEAD, PUT and in
// listings), Content-Length, Last-Modified and Content-Type (default
// binary/octet-stream). Handler serves both on one mux; IMS paths take precedence.
//
// imsapi.Client speaks both: the IMS calls (ListImages, GetImage, CreateImage, PatchImage,
// TagImage, DeleteImage, and the deleted-image calls) against the IMS base URL, and
// ReadManifest, HeadObject, GetObject, PutObject, ListObjects against an S3 base URL
// passed per call.
//
// # Deviations from the real services
//
//   - No authentication: AWS signatures (Authorization, X-Amz-* headers) and gateway
//     tokens are ignored. Content-MD5, x-amz-meta-* user metadata, conditional requests
//     (If-Match, If-None-Match), multipart upload, CopyObject, DeleteBucket, versioning,
//     delimiter listings and virtual-host addressing are not implemented.
//   - A multi-part or malformed Range header is ignored (the whole object is sent), as S3
//     does not serve multiple ranges.
//   - A HEAD of a missing bucket or key returns 404 with no body (as S3); the client
//     reports either as NoSuchKey since it cannot tell them apart.
//   - Continuation tokens are the base64 of the last key returned, not opaque server state.
//   - IMS answers schema violations (unknown fields included) with 422; here malformed
//     JSON, wrong types and unknown fields are 400 (the shared strict decoder) and
//     semantic checks (blank name, bad arch, bad link, bad metadata operation) are 422.
//   - IMS and BOS disagree on the shape of a metadata PATCH: IMS's schema has a list of
//     operations (and some IMS versions only act on an "annotations" key), BOS sends one
//     operation object. BOS's SBPS tag is meant to land, so both forms are applied here;
//     metadata is a plain key/value object, not IMS's annotations list.
//   - created and deleted are always UTC with microseconds and a +00:00 offset; IMS's own
//     stamps vary by version (some are naive local time).
//   - Deleted records keep arch and metadata (IMS drops them).
//   - Undelete of an image whose manifest was unreadable at delete time (so nothing was
//     moved) restores the record as it was instead of failing 422 forever; undeleting all
//     images checks every deleted manifest first and restores none when one is unreadable,
//     instead of stopping half way.
//   - Only images are served: no recipes, jobs, public keys, remote build nodes,
//     /healthz or /version. No tenant header handling.
//   - Handler (both on one mux) gives IMS the paths it serves, so objects whose path
//     collides with an IMS route (bucket v3 or apis, key images/...) are unreachable
//     through it; run S3Handler and IMSHandler on separate listeners to avoid that.
package ims
