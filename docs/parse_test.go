package docs_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParse: blocks, markers, continuation lines and the rewrites the doc test relies on.
func TestParse(t *testing.T) {
	doc := "text\n```sh\n" +
		"go run ./cmd/bos up --nodes 100 --urls-file u.json &   # background\n" +
		"# a comment line\n\n" +
		"bos crus create --a x \\\n    --b y\n" +
		"go test ./...\n" +
		"bos up --nodes 10000 --boot\n" +
		"```\n\n<!-- docs-test: skip (needs a real cluster) -->\n\n```sh\nbos v2 sessions list\n```\n" +
		"```\nnot sh\n```\n"
	path := filepath.Join(t.TempDir(), "x.md")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	blocks := parse(t, path, "x.md", true)
	if len(blocks) != 2 || len(blocks[0]) != 4 || len(blocks[1]) != 1 {
		t.Fatalf("blocks: %+v", blocks)
	}
	want := []command{
		{line: 3, run: "bos up --nodes 100 --urls-file u.json &   # background", wait: "u.json"},
		{line: 6, run: "bos crus create --a x --b y"},
		{line: 8, skip: "runs the test suite, which this test is part of"},
		{line: 9, skip: "heavy (10000 nodes): runs without -short"},
	}
	for i, w := range want {
		got := blocks[0][i]
		if got.line != w.line || got.run != w.run || got.skip != w.skip || got.wait != w.wait {
			t.Errorf("command %d: got %+v, want %+v", i, got, w)
		}
	}
	if c := blocks[1][0]; c.run != "" || c.skip != "marked: needs a real cluster" {
		t.Errorf("marked block: %+v", c)
	}
	if got := parse(t, path, "x.md", false)[0][3]; got.run != "bos up --nodes 10000 --boot" {
		t.Errorf("without -short the heavy command runs: %+v", got)
	}
	if got := stripComment(`bos slurm sinfo -o "%t #x"   # comment`); got != `bos slurm sinfo -o "%t #x"` {
		t.Errorf("stripComment: %q", got)
	}
}
