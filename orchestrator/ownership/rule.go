package ownership

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// Shard is the shard of node id among shards.
func Shard(id string, shards int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(shards))
}

// LeaseName is the store lease of shard.
func LeaseName(shard int) string { return "shard:" + strconv.Itoa(shard) }

// Quota is how many of shards replica self should hold among live (sorted ids): an even
// share, the first shards%len(live) replicas one more. A replica not (yet) among the live
// ones counts as the last.
func Quota(shards int, live []string, self string) int {
	n := len(live)
	i, found := slices.BinarySearch(live, self)
	if !found {
		n, i = n+1, n
	}
	q := shards / n
	if i < shards%n {
		q++
	}
	return q
}

// Plan says which shards self takes and which it gives up, given the live replicas
// (sorted ids) and each shard's holder ("" free). Self takes free shards up to its quota,
// starting at a place of its own so that replicas starting together rarely race for the
// same shard, and gives up its highest shards above its quota, so the others can take
// them. Shards held by others are never taken: a dead replica's expire first.
func Plan(shards int, live []string, self string, holders []string) (take, release []int) {
	quota := Quota(shards, live, self)
	var mine []int
	for s, h := range holders {
		if h == self {
			mine = append(mine, s)
		}
	}
	if len(mine) > quota {
		return nil, mine[quota:]
	}
	need := quota - len(mine)
	start := 0
	if i, found := slices.BinarySearch(live, self); found {
		start = i * shards / len(live)
	}
	for k := 0; k < shards && need > 0; k++ {
		s := (start + k) % shards
		if holders[s] == "" {
			take = append(take, s)
			need--
		}
	}
	return take, nil
}
