// Package slurmapi speaks slurmrestd's REST API (v0.0.40, Slurm 22.05 semantics): the
// node, job and partition types BOS's CRUS and `bos slurm-reboot` use (NodeState is the
// node state CRUS decides on), slurmrestd's wire shapes (the API* structs, NoVal), the
// controller's error codes, and a Go Client. The Client also has the calls of the
// simulator's own extension under SimPrefix (/slurmsim/v1: node registration, state
// history, counters, the synthetic workload), which a real slurmrestd does not serve. It
// holds no server; the simulator is package slurmsim, which serves these types.
package slurmapi
