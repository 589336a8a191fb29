package etag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOf(t *testing.T) {
	a, b := Of([]byte(`{"id":"x1"}`)), Of([]byte(`{"id":"x2"}`))
	assert.Regexp(t, `^"[A-Za-z0-9_-]{22}"$`, a)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, Of([]byte(`{"id":"x1"}`)), "a tag depends only on the bytes")
}

func TestIfMatch(t *testing.T) {
	rec := []byte(`{"id":"x1"}`)
	cur := Of(rec)
	other := Of([]byte(`{"id":"x1","enabled":true}`))
	tests := []struct {
		name      string
		lines     []string // nil: no header
		malformed bool
		onRecord  bool // Holds(rec)
		onMissing bool // Holds(nil)
	}{
		{"NoHeader", nil, false, true, true},
		{"Star", []string{"*"}, false, true, false},
		{"CurrentTag", []string{cur}, false, true, false},
		{"OtherTag", []string{other}, false, false, false},
		{"OneOfList", []string{other + ", " + cur}, false, true, false},
		{"ListOverLines", []string{other, cur}, false, true, false},
		{"EmptyElements", []string{" ," + cur + ",, "}, false, true, false},
		{"WeakNeverMatches", []string{"W/" + cur}, false, false, false},
		{"WeakAndStrong", []string{"W/" + other + ", " + cur}, false, true, false},
		{"Unquoted", []string{cur[1 : len(cur)-1]}, true, false, false},
		{"Empty", []string{""}, true, false, false},
		{"StarInList", []string{"*, " + cur}, true, false, false},
		{"StarAndWeak", []string{"*", `W/"a"`}, true, false, false},
		{"QuoteInside", []string{`"a"b"`}, true, false, false},
		{"SpaceInside", []string{`"a b"`}, true, false, false},
		{"LowercaseWeak", []string{`w/"a"`}, true, false, false},
		{"ObsText", []string{"\"caf\xc3\xa9\""}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseIfMatch(tt.lines)
			if tt.malformed {
				require.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.lines != nil, c.Present())
			assert.Equal(t, tt.name == "Star", c.Star())
			assert.Equal(t, tt.onRecord, c.Holds(rec), "Holds(record)")
			assert.Equal(t, tt.onMissing, c.Holds(nil), "Holds(missing)")
		})
	}
}
