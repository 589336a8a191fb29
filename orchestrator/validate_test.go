package orchestrator

import (
	"strings"
	"testing"
)

// validName accepts exactly what NamePattern matches: every string of up to four
// characters over an alphabet with each kind of character, and names around the length
// limit.
func TestValidNameIsNamePattern(t *testing.T) {
	alphabet := []string{"a", "Z", "7", "-", ".", "_", " ", "é", "\x00", "/"}
	check := func(s string) {
		if got, want := validName(s), NamePattern.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, NamePattern says %v", s, got, want)
		}
	}
	var grow func(s string, n int)
	grow = func(s string, n int) {
		check(s)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(s+c, n-1)
		}
	}
	grow("", 4)
	for _, n := range []int{125, 126, 127, 128, 200} {
		check(strings.Repeat("a", n))
		check("a" + strings.Repeat("-", n-2) + "b")
		check(strings.Repeat("a", n-1) + "-")
	}
}

func BenchmarkValidName(b *testing.B) {
	name := "boot-session-2026-12-06.a_b"
	b.Run("func", func(b *testing.B) {
		for b.Loop() {
			validName(name)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			NamePattern.MatchString(name)
		}
	})
}

// length counts characters, not bytes: its shortcut for strings with no more bytes than
// the limit gives the answers counting gives.
func TestLengthCountsCharacters(t *testing.T) {
	for _, tc := range []struct {
		s        string
		min, max int
		ok       bool
	}{
		{"", 0, 3, true},
		{"", 1, 3, false},
		{"abc", 1, 3, true},
		{"abcd", 1, 3, false},
		{"ééé", 1, 3, true}, // 6 bytes, 3 characters
		{"éééé", 0, 3, false},
		{"é", 2, 3, false}, // 2 bytes, 1 character
		{"éé", 2, 3, true},
		{"\xff\xff", 0, 2, true},
	} {
		var v checker
		v.length("f", tc.s, tc.min, tc.max)
		if got := len(v.errs) == 0; got != tc.ok {
			t.Errorf("length(%q, %d, %d): ok %v, want %v (%v)", tc.s, tc.min, tc.max, got, tc.ok, v.errs)
		}
	}
}
