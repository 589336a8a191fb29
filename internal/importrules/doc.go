// Package importrules holds only a test: it checks, with `go list -deps`, the import rules
// docs/architecture.md states: BOS's product code (orchestrator/...) and `bos slurm-reboot`
// depend on no simulator server package, the service API packages (api/...) serve nothing,
// and slurmreboot links neither gin nor go-redis.
package importrules
