package e2e

import (
	"github.com/stretchr/testify/require"

	"github.com/cray-bos/bos/cfs"
	"github.com/cray-bos/bos/internal/stack"
)

func cfsClient(c *cluster) *cfs.Client { return cfs.NewClient(c.st.URLs.CFS, c.st.HTTPClient()) }

func cfsConfig(branch string) cfs.ConfigurationRequest {
	return cfs.ConfigurationRequest{Layers: []cfs.Layer{{Name: "compute", CloneURL: "https://vcs.cmn.example/vcs/cray/csm-config-management.git",
		Playbook: "compute_nodes.yml", Branch: branch}}}
}

// templateWithConfiguration stores CFS configuration config (one layer on branch) and
// session template name: the seeded template, configured with config.
func (c *cluster) templateWithConfiguration(name, config, branch string) {
	c.t.Helper()
	ctx := c.ctx()
	_, err := cfsClient(c).PutConfiguration(ctx, config, cfsConfig(branch))
	require.NoError(c.t, err)
	tmpl, err := c.st.BOSClient.GetTemplate(ctx, stack.DefaultTemplateName)
	require.NoError(c.t, err)
	tmpl.CFS.Configuration = config
	_, err = c.st.BOSClient.PutTemplate(ctx, name, tmpl)
	require.NoError(c.t, err)
}
