package hsm

import "github.com/cray-bos/bos/internal/xname"

// parseXname is xname.Parse with a fast path: node and NodeBMC names already in
// normal form (lowercase, no leading zeros), which is what nearly every request
// carries, are recognised without regular expressions. Anything else takes the
// general path, so the result is always xname.Parse's.
func parseXname(raw string) (string, xname.Type, error) {
	if t := fastType(raw); t != xname.Invalid {
		return raw, t, nil
	}
	return xname.Parse(raw)
}

// fastType classifies a normalized x<cab>c<0-7>s<n>b<n>[n<n>] name, or returns Invalid
// (meaning "ask xname.Parse", not "invalid").
func fastType(id string) xname.Type {
	var letters [5]byte
	n := 0
	for i := 0; i < len(id); {
		c := id[i]
		if c < 'a' || c > 'z' || n == len(letters) {
			return xname.Invalid
		}
		letters[n] = c
		n++
		i++
		start := i
		for i < len(id) && id[i] >= '0' && id[i] <= '9' {
			i++
		}
		digits := i - start
		if digits == 0 || digits > 1 && id[start] == '0' || n == 1 && digits > 4 ||
			n == 2 && (digits > 1 || id[start] > '7') { // chassis c0..c7

			return xname.Invalid
		}
	}
	switch string(letters[:n]) {
	case "xcsbn":
		return xname.Node
	case "xcsb":
		return xname.NodeBMC
	}
	return xname.Invalid
}
