// Package imsapi speaks the Cray Image Management Service (IMS, API v3, the /v3/images
// records) and the S3 object store (Ceph RGW) that holds the images' artifacts: the wire
// types (Image, DeletedImage, Manifest and its artifact types, S3 listings), the S3 path
// helpers BOS uses (ParseS3Path, S3Path), manifest parsing as BOS reads it, and a Go Client
// for a real or a simulated IMS and S3. It holds no server; the simulator is package ims,
// which serves these types.
package imsapi
