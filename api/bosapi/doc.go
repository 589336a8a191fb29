// Package bosapi is the Go client of BOS itself (Boot Orchestration Service, the v2 API of
// BOS 2.50 and the v1 API of BOS 2.16), with the few wire types the API has beyond the
// domain types of package orchestrator (versions, health, applystaged, the bulk-PATCH
// filter, the tenant header). `bos v2`/`bos v1`, CRUS and `bos slurm-reboot` use it. It
// holds no server: the API is served by orchestrator/api.
package bosapi
