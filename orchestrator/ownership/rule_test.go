package ownership

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQuota(t *testing.T) {
	for _, tc := range []struct {
		shards int
		live   []string
		self   string
		want   int
	}{
		{12, []string{"a"}, "a", 12},
		{12, []string{"a", "b", "c"}, "b", 4},
		{10, []string{"a", "b", "c"}, "a", 4},
		{10, []string{"a", "b", "c"}, "c", 3},
		{12, []string{"a", "b"}, "c", 4},     // not yet live: counts as a third
		{2, []string{"a", "b", "c"}, "c", 0}, // more replicas than shards
	} {
		assert.Equal(t, tc.want, Quota(tc.shards, tc.live, tc.self), "%d shards, live %v, self %s", tc.shards, tc.live, tc.self)
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name          string
		live          []string
		self          string
		holders       []string
		take, release []int
	}{
		{"alone takes all", []string{"a"}, "a", []string{"", "", "", ""}, []int{0, 1, 2, 3}, nil},
		{"first of two starts at 0", []string{"a", "b"}, "a", []string{"", "", "", ""}, []int{0, 1}, nil},
		{"second of two starts half way", []string{"a", "b"}, "b", []string{"", "", "", ""}, []int{2, 3}, nil},
		{"a newcomer makes the holder give up its highest", []string{"a", "b"}, "a", []string{"a", "a", "a", "a"}, nil, []int{2, 3}},
		{"the newcomer waits for released shards", []string{"a", "b"}, "b", []string{"a", "a", "a", "a"}, nil, nil},
		{"a dead holder's shards wait for their lease to expire", []string{"b"}, "b", []string{"a", "a", "b", "b"}, nil, nil},
		{"expired shards are taken", []string{"b"}, "b", []string{"", "", "b", "b"}, []int{0, 1}, nil},
		{"at quota: nothing", []string{"a", "b", "c"}, "c", []string{"a", "a", "b", "b", "c", "c"}, nil, nil},
		{"wraps round from its start", []string{"a", "b"}, "b", []string{"", "a", "x", "x"}, []int{0}, nil},
		{"more replicas than shards: the last holds none", []string{"a", "b", "c"}, "c", []string{"c", ""}, nil, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			take, release := Plan(len(tc.holders), tc.live, tc.self, tc.holders)
			assert.Equal(t, tc.take, take, "take")
			assert.Equal(t, tc.release, release, "release")
		})
	}
}

// Replicas joining one that holds every shard end, after a few passes of Plan each, with
// every shard held once and each replica at its quota.
func TestPlanConverges(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		for _, shards := range []int{1, 4, 16, 64} {
			live := make([]string, n)
			for i := range live {
				live[i] = fmt.Sprintf("r%d", i)
			}
			holders := make([]string, shards)
			for i := range holders {
				holders[i] = live[0]
			}
			for round := 0; round < 4; round++ {
				for _, self := range live {
					take, release := Plan(shards, live, self, holders)
					for _, s := range release {
						holders[s] = ""
					}
					for _, s := range take {
						holders[s] = self
					}
				}
			}
			count := map[string]int{}
			for s, h := range holders {
				assert.NotEmpty(t, h, "%d replicas, %d shards: shard %d unheld", n, shards, s)
				count[h]++
			}
			for _, r := range live {
				assert.Equal(t, Quota(shards, live, r), count[r], "%d replicas, %d shards: %s", n, shards, r)
			}
		}
	}
}
