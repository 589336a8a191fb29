package orchestrator

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseAge: an age parses to a non-negative duration that is its number times its
// unit, so printing it back in its unit round-trips; anything else is EINVALID. The
// min_age/max_age query parser agrees with ParseAge on every value it accepts.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"0", "0m", "30m", "12H", "7d", "2w", "1w", "15250w", "107000w", "99999999999999999999m",
		"-1h", "1.5h", "1 h", "01h", "h", "", "1y", "3538066w", "9223372036854775807m", "1h\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseAge(%q) error %v is %s, want EINVALID", s, err, ErrorCode(err))
			}
		} else {
			if d < 0 {
				t.Fatalf("ParseAge(%q) = %v, negative", s, d)
			}
			if s != "0" {
				unit := ageUnits[strings.ToLower(s[len(s)-1:])]
				back := strconv.FormatInt(int64(d/unit), 10) + s[len(s)-1:]
				if d%unit != 0 || back != s {
					t.Fatalf("ParseAge(%q) = %v, printed back as %q", s, d, back)
				}
			}
		}
		f, ferr := ParseSessionFilter(s, s, "")
		if s == "" {
			if ferr != nil || f.HasMin || f.HasMax {
				t.Fatalf("empty ages: %+v, %v", f, ferr)
			}
			return
		}
		if ferr == nil && (err != nil || f.MinAge != d || f.MaxAge != d || !f.HasMin || !f.HasMax) {
			t.Fatalf("ParseSessionFilter(%q) = %+v but ParseAge = %v, %v", s, f, d, err)
		}
		if ferr != nil && ErrorCode(ferr) != EINVALID {
			t.Fatalf("ParseSessionFilter(%q) error %v is %s, want EINVALID", s, ferr, ErrorCode(ferr))
		}
	})
}
