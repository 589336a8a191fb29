package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUnknownCommandsSuggest: a mistyped command at any level fails with the commands
// it may have meant, even when flags follow it (cobra suggested only at the root, and
// only prefixes below it).
func TestUnknownCommandsSuggest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"v2", "sesions", "list"}, `unknown command "sesions" for "bos v2"; did you mean sessions?`},
		{[]string{"v2", "sesions", "list", "--status", "complete"}, `unknown command "sesions" for "bos v2"; did you mean sessions?`},
		{[]string{"v2", "sessions", "lst"}, `unknown command "lst" for "bos v2 sessions"; did you mean list?`},
		{[]string{"v2", "sessions", "describ", "r1"}, `unknown command "describ" for "bos v2 sessions"; did you mean describe?`},
		{[]string{"v1", "session", "stauts", "list", "x"}, `unknown command "stauts" for "bos v1 session"; did you mean status?`},
		{[]string{"v1", "session", "status", "lis", "x"}, `unknown command "lis" for "bos v1 session status"; did you mean list?`},
		{[]string{"sesions", "list"}, `unknown command "sesions" for "bos"; did you mean sessions?`},
		{[]string{"upp", "--nodes", "3"}, `unknown command "upp" for "bos"; did you mean up?`},
		{[]string{"crus", "lsit"}, `unknown command "lsit" for "bos crus"; did you mean list?`},
		{[]string{"slurm", "scontrl"}, `unknown command "scontrl" for "bos slurm"; did you mean scontrol?`},
		{[]string{"hsm", "gruops", "list"}, `unknown command "gruops" for "bos hsm"; did you mean groups?`},
		{[]string{"hsm", "groups", "members", "ad", "g", "x"}, `unknown command "ad" for "bos hsm groups members"; did you mean add?`},
		{[]string{"v2", "frobnicate"}, `unknown command "frobnicate" for "bos v2"`},
	} {
		r := bosCmd(t, "", tc.args...)
		if assert.Error(t, r.fail, "%v", tc.args) {
			assert.Equal(t, tc.want, r.fail.Error(), "%v", tc.args)
		}
		assert.Empty(t, r.out, "%v", tc.args)
	}
	// An unknown flag after a real command is still reported as a flag.
	r := bosCmd(t, "", "v2", "sessions", "list", "--bogus")
	assert.EqualError(t, r.fail, "unknown flag: --bogus")
}
