// Package etag gives stored records strong entity tags and evaluates If-Match
// (RFC 9110 §8.8.3 and §13.1.1).
//
// A record's tag is derived from its stored bytes, so it changes exactly when the record
// does and needs no version field: equal tags mean byte-identical records, hence
// byte-identical responses, which makes the tags strong. A record that changes and then
// changes back gets its old tag again; a write conditioned on that tag then applies to
// the very state the client read, so nothing is lost.
package etag

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Of returns the strong entity tag of a record's stored bytes: 128 bits of their SHA-256
// in unpadded base64url, quoted ("\"q1w2...\"").
func Of(raw []byte) string {
	sum := sha256.Sum256(raw)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// Condition is a parsed If-Match header. The zero value (no header) always holds.
type Condition struct {
	present bool
	any     bool     // If-Match: *
	tags    []string // strong tags as sent, quotes included; weak ones are dropped
}

// ErrMalformed is returned by ParseIfMatch for a header that is not "*" or a list of
// quoted entity tags.
var ErrMalformed = errors.New(`If-Match must be "*" or a comma-separated list of quoted entity tags, such as "abc" or W/"abc"`)

// ParseIfMatch parses the If-Match header lines of a request (none: the zero Condition).
// Weak tags (W/"...") are valid syntax but never match: If-Match compares strongly.
func ParseIfMatch(lines []string) (Condition, error) {
	var c Condition
	sawWeak := false // a weak tag was sent (and dropped)
	for _, line := range lines {
		c.present = true
		for _, item := range strings.Split(line, ",") {
			item = strings.Trim(item, " \t")
			switch {
			case item == "":
				continue // empty list elements are allowed (RFC 9110 §5.6.1)
			case item == "*":
				c.any = true
				continue
			}
			weak := strings.HasPrefix(item, "W/")
			if !validOpaque(strings.TrimPrefix(item, "W/")) {
				return Condition{}, ErrMalformed
			}
			if weak {
				sawWeak = true
			} else {
				c.tags = append(c.tags, item)
			}
		}
	}
	switch {
	case c.present && !c.any && len(c.tags) == 0 && !sawWeak:
		return Condition{}, ErrMalformed // an empty header is a client bug, not a condition
	case c.any && (len(c.tags) > 0 || sawWeak):
		return Condition{}, ErrMalformed // "*" stands alone
	}
	return c, nil
}

// validOpaque reports whether s is a quoted opaque-tag: DQUOTE *etagc DQUOTE, where etagc
// is any visible character but DQUOTE, or obs-text.
func validOpaque(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if b := s[i]; b == '"' || b < 0x21 || b == 0x7f {
			return false
		}
	}
	return true
}

// Present reports whether the request carried If-Match at all.
func (c Condition) Present() bool { return c.present }

// Star reports whether the header was "*": any current record will do.
func (c Condition) Star() bool { return c.any }

// Holds evaluates the condition against the current stored bytes of the record, nil when
// it does not exist: no header always holds; "*" holds when the record exists; a tag list
// holds when the record exists and one tag equals its tag.
func (c Condition) Holds(current []byte) bool {
	switch {
	case !c.present:
		return true
	case current == nil:
		return false
	case c.any:
		return true
	}
	tag := Of(current)
	for _, t := range c.tags {
		if t == tag {
			return true
		}
	}
	return false
}
