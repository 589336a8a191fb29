package simulator

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cray-bos/bos/internal/topology"
)

// The scale target: 10,000 compute nodes on 5,000 blade BMCs, one process.
func benchTopology(b *testing.B) *topology.Topology {
	b.Helper()
	topo, err := topology.Generate(topology.Options{Compute: 10000})
	if err != nil {
		b.Fatal(err)
	}
	if len(topo.BMCs) != 5000 {
		b.Fatalf("want 5000 BMCs, got %d", len(topo.BMCs))
	}
	return topo
}

// vmRSS reads the resident set size from /proc/self/status (0 where there is none).
func vmRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkStartup10k measures New+Start until all 5,000 BMCs listen, and the memory the
// running simulator holds.
func BenchmarkStartup10k(b *testing.B) {
	topo := benchTopology(b)
	var rss, heap float64
	for b.Loop() {
		s, err := New(Config{Topology: topo, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, heap = vmRSS(), float64(ms.HeapInuse)/(1<<20)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
	b.ReportMetric(rss, "MiB-RSS")
	b.ReportMetric(heap, "MiB-heap")
}

// benchClients is a running 10k-node simulator and the worker setup shared by the request
// benchmarks: each of the parallel workers owns bmcsPerWorker BMCs and one kept-alive
// transport, so every request reuses a connection.
const (
	benchWorkers  = 64
	bmcsPerWorker = 16 // 1,024 BMCs in use, 1,024 client + 1,024 server connections
)

func startBench(b *testing.B) (*Simulator, []string) {
	b.Helper()
	tm := DefaultTiming()
	tm.Scale = 0 // resets complete at once: every Reset is a real transition
	s, err := New(Config{Topology: benchTopology(b), Timing: &tm, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	urls := s.BMCURLs()
	list := make([]string, 0, benchWorkers*bmcsPerWorker)
	for _, bi := range s.BMCs()[:benchWorkers*bmcsPerWorker] {
		list = append(list, urls[bi.Xname])
	}
	return s, list
}

var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte("root:initial0"))

// runParallel runs one request per iteration over every worker's BMCs and reports req/s.
func runParallel(b *testing.B, urls []string, req func(hc *http.Client, base string, i int) error) {
	var worker atomic.Int64
	clients := make([]*http.Client, benchWorkers)
	for w := range clients {
		clients[w] = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 0, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	}
	// Warm up: open every connection once.
	for w, hc := range clients {
		for k := 0; k < bmcsPerWorker; k++ {
			if err := req(hc, urls[w*bmcsPerWorker+k], 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetParallelism(benchWorkers / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(worker.Add(1)-1) % benchWorkers
		hc, mine := clients[w], urls[w*bmcsPerWorker:(w+1)*bmcsPerWorker]
		for i := 1; pb.Next(); i++ {
			if err := req(hc, mine[i%len(mine)], i/len(mine)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(vmRSS(), "MiB-RSS")
	for _, hc := range clients {
		hc.CloseIdleConnections()
	}
}

func do(hc *http.Client, method, u, body string, want int) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, u, rd)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", basicAuth)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(r)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d", method, u, resp.StatusCode)
	}
	return nil
}

// BenchmarkRedfishGET: GET /redfish/v1/Systems/Node0 (the full ComputerSystem) with Basic
// auth over kept-alive connections to 1,024 BMCs of a 10k-node simulator.
func BenchmarkRedfishGET(b *testing.B) {
	_, urls := startBench(b)
	runParallel(b, urls, func(hc *http.Client, base string, _ int) error {
		return do(hc, http.MethodGet, base+"/redfish/v1/Systems/Node0", "", http.StatusOK)
	})
}

// BenchmarkRedfishReset: alternating On / ForceOff resets of Node0 (each a real transition,
// with Scale 0) over kept-alive connections to 1,024 BMCs of a 10k-node simulator.
func BenchmarkRedfishReset(b *testing.B) {
	s, urls := startBench(b)
	on, off := resetBody("On"), resetBody("ForceOff")
	runParallel(b, urls, func(hc *http.Client, base string, round int) error {
		body := on
		if round%2 == 1 {
			body = off
		}
		return do(hc, http.MethodPost, base+resetPath, body, http.StatusNoContent)
	})
	b.ReportMetric(float64(s.Stats().PowerChanges)/float64(b.N), "changes/reset")
}

// BenchmarkBootStorm10k powers on all 10,000 nodes at once (Scale 0) and waits until every
// one has fetched its boot script, reported to BOS and told CFS, with a subscriber
// receiving every power event: the agent and event pools at full scale.
func BenchmarkBootStorm10k(b *testing.B) {
	topo := benchTopology(b)
	okText := func(w http.ResponseWriter, text string) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, text)
	}
	bss := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := r.URL.Query().Get("name")
		okText(w, "#!ipxe\nkernel --name kernel http://s3/k initrd=initrd xname="+x+" bss_referral_token=t-"+x+" || goto boot_retry\ninitrd --name initrd http://s3/i\nboot\n")
	}))
	defer bss.Close()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		okText(w, "{}")
	}))
	defer sink.Close()
	for b.Loop() {
		b.StopTimer()
		tm := DefaultTiming()
		tm.Scale = 0
		s, err := New(Config{Topology: topo, Timing: &tm, Seed: 1,
			Services:      Services{BSS: bss.URL, BOS: sink.URL, CFS: sink.URL},
			Subscriptions: []Subscription{{Destination: sink.URL + "/events"}}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, n := range s.nodes {
			s.reset(n, ResetTypeOn, "")
		}
		deadline := time.Now().Add(2 * time.Minute)
		for s.Stats().CFSReports < int64(len(s.nodes)) || s.Stats().EventsDelivered < int64(2*len(s.nodes)) {
			if time.Now().After(deadline) {
				b.Fatalf("storm did not finish: %+v", s.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		st := s.Stats()
		if st.Reports != int64(len(s.nodes)) || st.EventsDropped != 0 {
			b.Fatalf("stats %+v", st)
		}
		b.ReportMetric(vmRSS(), "MiB-RSS")
		_ = s.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/storm")
}
