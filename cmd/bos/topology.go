package main

import (
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/internal/topology"
)

// topologyFlags choose the simulated cluster: generated from counts or loaded from a file.
type topologyFlags struct {
	file        string
	compute     int
	application int
	management  int
	arm         int
}

func (f *topologyFlags) register(fs *pflag.FlagSet) {
	def := topology.DefaultOptions(0)
	fs.StringVar(&f.file, "topology", "", "load the cluster from this YAML or JSON file instead of generating it (see --dump-topology for the format)")
	fs.IntVarP(&f.compute, "nodes", "n", 16, "compute nodes to generate (liquid-cooled blades, x1000c0s0b0n0..., nid000001...)")
	fs.IntVar(&f.application, "uans", def.Application, "application (UAN) nodes to generate (air-cooled, x3000...)")
	fs.IntVar(&f.management, "ncns", def.Management, "management (NCN) nodes to generate (air-cooled, x3000...)")
	fs.IntVar(&f.arm, "arm", 0, "how many of the compute nodes (the last ones) are ARM instead of X86")
}

func (f *topologyFlags) build() (*topology.Topology, error) {
	if f.file != "" {
		return topology.Load(f.file)
	}
	return topology.Generate(topology.Options{Compute: f.compute, Application: f.application, Management: f.management, ARM: f.arm})
}
