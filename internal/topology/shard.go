package topology

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Shard is the part of a cluster one simulator process runs: whole BMCs with their nodes.
type Shard struct {
	Index, Count int // 0-based index, of Count
	// Topology holds the shard's BMCs and nodes, in the whole's order, and the groups and
	// partitions cut down to them (those left empty dropped).
	Topology *Topology
	// FirstBMC is the position of the shard's first BMC among the whole's BMCs.
	FirstBMC int
	// WholeBMCs is the number of BMCs of the whole cluster, so a process that runs the
	// shard alone need not keep the whole topology.
	WholeBMCs int
}

// ParseShard reads "K/N" (the K-th of N shards, counted from 1) into a 0-based index
// and a count.
func ParseShard(s string) (index, count int, err error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return 0, 0, fmt.Errorf("shard %q: want K/N with 1 ≤ K ≤ N, e.g. 2/3", s)
	}
	return ki - 1, ni, nil
}

// Shard cuts t into count parts of whole BMCs, as even as BMC counts allow, and returns
// part index (0-based). The cut is by position in t.BMCs (node order: cabinet, chassis,
// slot), so a shard holds neighbouring BMCs and every process given the same topology
// and count agrees on who runs what.
func (t *Topology) Shard(index, count int) (Shard, error) {
	if count < 1 || index < 0 || index >= count {
		return Shard{}, fmt.Errorf("topology: shard %d of %d does not exist", index+1, count)
	}
	if count > len(t.BMCs) {
		return Shard{}, fmt.Errorf("topology: %d shards for %d BMCs: a shard holds at least one BMC", count, len(t.BMCs))
	}
	lo, hi := index*len(t.BMCs)/count, (index+1)*len(t.BMCs)/count
	part := &Topology{BMCs: slices.Clone(t.BMCs[lo:hi])}
	in := map[string]bool{}
	for i := range part.BMCs {
		part.BMCs[i].Nodes = slices.Clone(part.BMCs[i].Nodes)
		for _, n := range part.BMCs[i].Nodes {
			in[n] = true
		}
	}
	for _, n := range t.Nodes {
		if in[n.Xname] {
			part.Nodes = append(part.Nodes, n)
		}
	}
	keep := func(members []string) []string {
		return slices.DeleteFunc(slices.Clone(members), func(m string) bool { return !in[m] })
	}
	for _, g := range t.Groups {
		if g.Members = keep(g.Members); len(g.Members) > 0 {
			g.Tags = slices.Clone(g.Tags)
			part.Groups = append(part.Groups, g)
		}
	}
	for _, p := range t.Partitions {
		if p.Members = keep(p.Members); len(p.Members) > 0 {
			part.Partitions = append(part.Partitions, p)
		}
	}
	return Shard{Index: index, Count: count, Topology: part, FirstBMC: lo, WholeBMCs: len(t.BMCs)}, nil
}
