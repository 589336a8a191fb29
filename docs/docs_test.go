// Package docs_test runs the shell examples of the README and of docs/*.md, so they cannot
// rot: every ```sh block, in order, in one bash per file, in a temporary directory, with a
// freshly built bos first on PATH.
//
// Rules, all here or in the documents:
//   - `go run ./cmd/bos` is the built bos;
//   - a block right after <!-- docs-test: skip (reason) --> is not run;
//   - commands running the test suite (go test, make, bash .ci/run) are not run: this
//     test is part of it; nor, with -short, bos up with 1,000 nodes or more;
//   - a command needing jq, curl or redfishtool is skipped when the tool is absent;
//   - a backgrounded command writing --urls-file F (bos up ... &) is waited for until F
//     exists, and killed at the end of its block;
//   - a command whose comment says "exits N" must exit N (the fault demo fails nodes on
//     purpose and says so with exit 3); every other command must exit 0;
//   - knownFailing lists commands that fail for reasons being fixed elsewhere; they are
//     not run.
package docs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cray-bos/bos/internal/bosbin"
)

// knownFailing maps a command (as written, without its comment) to why it fails or hangs
// today; it is not run. Delete an entry's line once its cause is fixed.
var knownFailing = map[string]string{}

// files are the documents whose ```sh blocks run, in this order.
var files = []string{"README.md", "docs/cli.md", "docs/crus.md", "docs/rolling-upgrades.md", "docs/webui.md"}

// command is one logical line of a block (continuation lines joined).
type command struct {
	file string
	line int
	text string // as written, comment included
	run  string // what runs; "" when skipped
	skip string // why not run
	wait string // a URLs file to wait for (a backgrounded bos up)
}

var (
	expectExit  = regexp.MustCompile(`#.*\bexits (\d+)\b`)
	skipMarker  = regexp.MustCompile(`^<!--\s*docs-test:\s*skip\s*\((.+)\)\s*-->$`)
	testSuite   = regexp.MustCompile(`^(go test|make( |$)|bash \.ci/run)`)
	manyNodes   = regexp.MustCompile(`\bbos up\b.*--nodes[ =](\d+)`)
	urlsFile    = regexp.MustCompile(`--urls-file[ =](\S+)`)
	toolsNeeded = []string{"jq", "curl", "redfishtool"}
)

// parse returns the commands of the ```sh blocks of the file at path (named name), by
// block.
func parse(t *testing.T, path, name string, short bool) [][]command {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var blocks [][]command
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		skip := ""
		for j := i - 1; j >= 0; j-- {
			if prev := strings.TrimSpace(lines[j]); prev != "" {
				if m := skipMarker.FindStringSubmatch(prev); m != nil {
					skip = "marked: " + m[1]
				}
				break
			}
		}
		var block []command
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			c := command{file: name, line: i + 1, text: lines[i]}
			for strings.HasSuffix(c.text, `\`) && i+1 < len(lines) {
				i++
				c.text = strings.TrimRight(strings.TrimSuffix(c.text, `\`), " ") + " " + strings.TrimSpace(lines[i])
			}
			c.text = strings.TrimSpace(c.text)
			if c.text == "" || strings.HasPrefix(c.text, "#") {
				continue
			}
			c.run, c.skip = prepare(c.text, short)
			if why, ok := knownFailing[stripComment(c.text)]; ok {
				c.run, c.skip = "", "known failing: "+why
			}
			if skip != "" {
				c.run, c.skip = "", skip
			}
			if m := urlsFile.FindStringSubmatch(c.run); m != nil && strings.HasSuffix(strings.TrimSpace(stripComment(c.run)), "&") {
				c.wait = m[1]
			}
			block = append(block, c)
		}
		blocks = append(blocks, block)
	}
	return blocks
}

// prepare rewrites a command for the test, or says why it is not run.
func prepare(text string, short bool) (run, skip string) {
	run = strings.ReplaceAll(text, "go run ./cmd/bos", "bos")
	if testSuite.MatchString(run) {
		return "", "runs the test suite, which this test is part of"
	}
	if m := manyNodes.FindStringSubmatch(run); m != nil && short {
		if n, _ := strconv.Atoi(m[1]); n >= 1000 {
			return "", "heavy (" + m[1] + " nodes): runs without -short"
		}
	}
	for _, tool := range toolsNeeded {
		if regexp.MustCompile(`(^|[|$(]\s*)` + tool + `\b`).MatchString(run) {
			if _, err := exec.LookPath(tool); err != nil {
				return "", tool + " is not installed"
			}
		}
	}
	return run, ""
}

// stripComment drops a trailing # comment (outside quotes, after a blank).
func stripComment(s string) string {
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

// script is the bash program running blocks: each command's output goes to out/N and
// "begin N TIME" / "end N STATUS TIME" lines to the status file, so a hung command can be
// named and each command's duration reported.
func script(blocks [][]command) string {
	var b strings.Builder
	b.WriteString(`set -o pipefail
__wait_file() { # wait until the background job $2 has written $1
  while [ ! -s "$1" ]; do
    kill -0 "$2" 2>/dev/null || { echo "the background command exited before writing $1"; return 1; }
    sleep 0.05
  done
}
__end_block() { # stop the block's background jobs and wait for them
  local p; p=$(jobs -p); [ -z "$p" ] || { kill $p 2>/dev/null; wait; }
}
`)
	n := 0
	for _, block := range blocks {
		for _, c := range block {
			if c.run == "" {
				n++
				continue
			}
			fmt.Fprintf(&b, "echo \"begin %d $EPOCHREALTIME\" >> \"$DOCS_STATUS\"\n{ ", n)
			if c.wait != "" {
				fmt.Fprintf(&b, "rm -f %s; %s\n__wait_file %s $!\n", c.wait, c.run, c.wait)
			} else {
				b.WriteString(c.run + "\n")
			}
			fmt.Fprintf(&b, "} > \"$DOCS_OUT/%d\" 2>&1 < /dev/null\necho \"end %d $? $EPOCHREALTIME\" >> \"$DOCS_STATUS\"\n", n, n)
			n++
		}
		b.WriteString("__end_block\n")
	}
	return b.String()
}

// buildBos puts the binary in dir as bos: built there, or linked to BOS_TEST_BIN's.
func buildBos(t *testing.T, dir string) {
	t.Helper()
	bin, want := bosbin.Path(t.Context(), t, dir), filepath.Join(dir, "bos")
	if bin != want {
		if err := os.Symlink(bin, want); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDocs(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	buildBos(t, bin)
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			runFile(t, root, bin, name)
		})
	}
}

// runFile runs the blocks of one document and reports each command as a subtest.
func runFile(t *testing.T, root, bin, name string) {
	blocks := parse(t, filepath.Join(root, name), name, testing.Short())
	work := t.TempDir()
	outDir := filepath.Join(work, ".docs-out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	status := filepath.Join(work, ".docs-status")

	// A file may use all that is left of the test's time (how long an example takes
	// depends on the machine's load, not on its place in the list), less a margin to
	// report; past that the command running is named, with its output, and the files
	// after it say they never ran.
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-15*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", script(blocks))
	cmd.Dir = work
	cmd.Env = append(cleanEnv(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"DOCS_STATUS="+status, "DOCS_OUT="+outDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything the blocks left behind
	}

	ended, pending, took := readStatus(t, status)
	n := 0
	for _, block := range blocks {
		for _, c := range block {
			id, cmdText := n, c.text
			n++
			t.Run(fmt.Sprintf("line%d", c.line), func(t *testing.T) {
				out, _ := os.ReadFile(filepath.Join(outDir, strconv.Itoa(id)))
				where := fmt.Sprintf("%s:%d: %s", c.file, c.line, cmdText)
				if c.run == "" {
					t.Skipf("%s\nnot run: %s", where, c.skip)
				}
				rc, ok := ended[id]
				switch {
				case !ok && id == pending && ctx.Err() != nil:
					t.Fatalf("%s\nstill running when the time ran out; output so far:\n%s", where, clip(out))
				case !ok:
					t.Fatalf("%s\nnever ran (bash: %v)", where, runErr)
				}
				want := 0
				if m := expectExit.FindStringSubmatch(cmdText); m != nil {
					want, _ = strconv.Atoi(m[1])
				}
				if rc != want {
					t.Errorf("%s\nexit status %d, want %d\n%s", where, rc, want, clip(out))
					return
				}
				t.Logf("%s\n(%.1f s)\n%s", where, took[id].Seconds(), clip(out))
			})
		}
	}
}

// cleanEnv is the environment without the addresses a developer's shell may set.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "BOS_") && k != "PATH" {
			env = append(env, kv)
		}
	}
	return env
}

// readStatus reads the exit status and duration of each command that ended and the last
// one begun.
func readStatus(t *testing.T, path string) (ended map[int]int, pending int, took map[int]time.Duration) {
	ended, pending, took = map[int]int{}, -1, map[int]time.Duration{}
	began := map[int]float64{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return ended, pending, took
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var n, rc int
		var at float64
		if k, _ := fmt.Sscanf(sc.Text(), "end %d %d %g", &n, &rc, &at); k >= 2 {
			ended[n] = rc
			if k == 3 && began[n] > 0 {
				took[n] = time.Duration((at - began[n]) * float64(time.Second))
			}
		} else if k, _ := fmt.Sscanf(sc.Text(), "begin %d %g", &n, &at); k >= 1 {
			pending, began[n] = n, at
		}
	}
	return ended, pending, took
}

// clip keeps the last 4 KiB of a command's output.
func clip(b []byte) string {
	const keep = 4 << 10
	if len(b) > keep {
		return "...\n" + string(b[len(b)-keep:])
	}
	return string(b)
}

// TestReadStatus: exit statuses, the command still running and durations from the status
// lines (a bash without EPOCHREALTIME writes no times: statuses only).
func TestReadStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	lines := "begin 0 100.0\nend 0 0 101.5\nbegin 2 \nend 2 3 \nbegin 3 110.25\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	ended, pending, took := readStatus(t, path)
	if want := map[int]int{0: 0, 2: 3}; fmt.Sprint(ended) != fmt.Sprint(want) {
		t.Errorf("ended %v, want %v", ended, want)
	}
	if pending != 3 {
		t.Errorf("pending %d, want 3", pending)
	}
	if want := map[int]time.Duration{0: 1500 * time.Millisecond}; fmt.Sprint(took) != fmt.Sprint(want) {
		t.Errorf("took %v, want %v", took, want)
	}
}
