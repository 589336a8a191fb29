package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
)

// LoadURLs reads a URLs file (what `bos sim --urls-file` writes).
func LoadURLs(path string) (URLs, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return URLs{}, fmt.Errorf("urls file: %w", err)
	}
	var u URLs
	if err := json.Unmarshal(raw, &u); err != nil {
		return URLs{}, fmt.Errorf("urls file %s: %w", path, err)
	}
	return u, nil
}

// MergeURLs joins the URLs of several shards of one cluster: every service where any of
// them runs it, every BMC of all of them. Two that disagree on a service or a BMC are an
// error: they are not shards of one cluster.
func MergeURLs(parts ...URLs) (URLs, error) {
	var out URLs
	for _, p := range parts {
		for _, f := range []struct {
			name     string
			dst, src *string
		}{{BOS, &out.BOS, &p.BOS}, {HSM, &out.HSM, &p.HSM}, {BSS, &out.BSS, &p.BSS}, {CFS, &out.CFS, &p.CFS},
			{"s3", &out.S3, &p.S3}, {IMS, &out.IMS, &p.IMS}, {Slurm, &out.Slurm, &p.Slurm}, {PCS, &out.PCS, &p.PCS}} {
			switch {
			case *f.src == "" || *f.src == *f.dst:
			case *f.dst == "":
				*f.dst = *f.src
			default:
				return URLs{}, fmt.Errorf("two %s URLs, %s and %s: one cluster has one", f.name, *f.dst, *f.src)
			}
		}
		for id, u := range p.BMCs {
			if had, ok := out.BMCs[id]; ok && had != u {
				return URLs{}, fmt.Errorf("BMC %s is at %s and at %s: a BMC runs in one shard", id, had, u)
			}
			if out.BMCs == nil {
				out.BMCs = make(map[string]string, len(p.BMCs))
			}
			out.BMCs[id] = u
		}
	}
	if out.BMCs != nil {
		out.BMCs = maps.Clone(out.BMCs) // right-sized
	}
	return out, nil
}
