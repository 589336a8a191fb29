package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/cray-bos/bos/internal/stack"
)

func newURLsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "urls",
		Short: "Work with URLs files (what bos sim, bos up and bos serve write with --urls-file)",
		Args:  cobra.NoArgs,
	}
	merge := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Join the URLs files of several bos sim shards of one cluster into one, on standard output",
		Long: `merge joins URLs files of the shards of one cluster ("bos sim --shard K/N"): every
service any of them runs and every BMC of all of them. Files that disagree on a service
or a BMC are not shards of one cluster: that is an error. The result is what
"bos serve --urls-from" and "bos sim --urls-from" read.`,
		Example: `  bos urls merge shard1.json shard2.json shard3.json > cluster.json`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			parts := make([]stack.URLs, len(args))
			for i, path := range args {
				u, err := stack.LoadURLs(path)
				if err != nil {
					return err
				}
				parts[i] = u
			}
			all, err := stack.MergeURLs(parts...)
			if err != nil {
				return err
			}
			if err := stack.CheckReachable(all); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(all)
		},
	}
	cmd.AddCommand(merge)
	return cmd
}
