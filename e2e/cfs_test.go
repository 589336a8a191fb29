package e2e

import "github.com/cray-bos/bos/cfs"

func cfsClient(c *cluster) *cfs.Client { return cfs.NewClient(c.st.URLs.CFS, c.st.HTTPClient()) }

func cfsConfig(branch string) cfs.ConfigurationRequest {
	return cfs.ConfigurationRequest{Layers: []cfs.Layer{{Name: "compute", CloneURL: "https://vcs.cmn.example/vcs/cray/csm-config-management.git",
		Playbook: "compute_nodes.yml", Branch: branch}}}
}
