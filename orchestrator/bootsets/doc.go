// Package bootsets is what a boot set resolves to: the image its manifest names (Image,
// read through the Images port; S3Images reads it from IMS and S3 with api/imsapi), the
// kernel parameters and boot artifacts BOS builds from it (params.go: KernelParameters,
// BootArtifactsFor, with v2's or v1's rules), and BootSetChecker, the boot-set and image
// checks session creation and /v2/sessiontemplatesvalid run (bootsets.go). v2 session
// setup, the v1 agent and the API share them.
package bootsets
