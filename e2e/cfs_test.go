package e2e

import "github.com/cray-bos/bos/api/cfsapi"

func cfsClient(c *cluster) *cfsapi.Client { return cfsapi.NewClient(c.st.URLs.CFS, c.st.HTTPClient()) }

func cfsConfig(branch string) cfsapi.ConfigurationRequest {
	return cfsapi.ConfigurationRequest{Layers: []cfsapi.Layer{{Name: "compute", CloneURL: "https://vcs.cmn.example/vcs/cray/csm-config-management.git",
		Playbook: "compute_nodes.yml", Branch: branch}}}
}
