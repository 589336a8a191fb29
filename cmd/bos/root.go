package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "bos",
		Short: "Boot Orchestration Service (BOS) and a simulated data centre to run it against",
		Long: `bos is a Go re-implementation of the HPE Cray Boot Orchestration Service with the
simulators it needs: Redfish BMCs with virtual nodes, HSM, BSS, CFS and an image store.

  bos up --nodes 1000 --boot   the whole stack in one process, booting a simulated cluster
  bos sim --nodes 1000         every simulator, no BOS
  bos serve                    the BOS API on an embedded (or real) Redis
  bos v2 sessions list         the client: bos v2 ... and bos v1 ... as cray bos v2/v1 ...
                               (bos sessions list also works, as v2, and says so)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newUpCommand(), newSimCommand(), newServeCommand(), newURLsCommand())
	root.AddCommand(newCRUSCommand(), newRolloutCommand(), newHSMCommand())
	root.AddCommand(newSlurmCommand(), newSlurmRebootCommand())
	addClientCommands(root)
	setVersion(root)
	strictGroups(root)
	return root
}
