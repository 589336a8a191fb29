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
