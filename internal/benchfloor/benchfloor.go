// Package benchfloor measures this machine's loopback HTTP floor: what one request costs
// a trivial net/http server and client talking over one kept-alive loopback connection,
// in wall time and in CPU time (server and client together). Benchmarks divide their
// figures by it, so a figure reads the same on a fast idle machine and on a busy one:
// a boot of N nodes is reported as a ratio to RequestsPerNode × N × the floor's cost.
package benchfloor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// RequestsPerNode is how many HTTP requests a boot needs per node at the least: the power
// reset, the boot script fetch, the node's report to BOS and its CFS configuration.
const RequestsPerNode = 4

// Floor is one measurement: Requests requests took Wall, and CPU of this process.
type Floor struct {
	Requests  int
	Wall, CPU time.Duration
}

// Add pools two measurements.
func (f Floor) Add(g Floor) Floor {
	return Floor{Requests: f.Requests + g.Requests, Wall: f.Wall + g.Wall, CPU: f.CPU + g.CPU}
}

// Faster is whichever of f and g took less wall time a request (the other when one has
// no requests). Noise only ever slows a measurement (another process's burst, a
// collection in this one), so of measurements of one machine the fastest is its floor:
// pooling a measurement slowed so would make every figure divided by it look better.
func (f Floor) Faster(g Floor) Floor {
	if f.Requests == 0 || g.Requests > 0 && g.Wall*time.Duration(f.Requests) < f.Wall*time.Duration(g.Requests) {
		return g
	}
	return f
}

// PerRequest is the wall time of one request.
func (f Floor) PerRequest() time.Duration { return f.Wall / time.Duration(max(1, f.Requests)) }

// CPUPerRequest is the CPU time of one request, server and client together.
func (f Floor) CPUPerRequest() time.Duration { return f.CPU / time.Duration(max(1, f.Requests)) }

// Boot is the floor of a boot of nodes nodes: RequestsPerNode requests each, one after
// another.
func (f Floor) Boot(nodes int) time.Duration {
	return time.Duration(RequestsPerNode*nodes) * f.PerRequest()
}

// BootCPU is the CPU floor of a boot of nodes nodes: RequestsPerNode requests each.
func (f Floor) BootCPU(nodes int) time.Duration {
	return time.Duration(RequestsPerNode*nodes) * f.CPUPerRequest()
}

// Ratio is wall, the time a boot of nodes nodes took, over that boot's floor.
func (f Floor) Ratio(wall time.Duration, nodes int) float64 {
	return float64(wall) / float64(max(1, f.Boot(nodes)))
}

func (f Floor) String() string {
	return fmt.Sprintf("%.1f µs/request, %.1f CPU-µs/request (%d requests over one kept-alive loopback connection)",
		micros(f.PerRequest()), micros(f.CPUPerRequest()), f.Requests)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Windows is how many parts Measure cuts its measurement into.
const Windows = 5

// Measure sends requests one after another, for at least minDuration and at least
// minRequests in all, after a short warm-up, in Windows windows of equal shares, and
// returns the fastest window (Faster): a window a burst of other work slowed is left out.
func Measure(ctx context.Context, minDuration time.Duration, minRequests int) (Floor, error) {
	p, err := Start()
	if err != nil {
		return Floor{}, err
	}
	defer p.Close()
	for range 200 { // warm-up: the connection, the goroutines, the buffers
		if err := p.Do(ctx); err != nil {
			return Floor{}, err
		}
	}
	var fastest Floor
	for range Windows {
		f, err := p.measure(ctx, minDuration/Windows, (minRequests+Windows-1)/Windows)
		if err != nil {
			return Floor{}, err
		}
		fastest = fastest.Faster(f)
	}
	return fastest, nil
}

// measure sends requests one after another for at least minDuration and minRequests.
func (p *Pair) measure(ctx context.Context, minDuration time.Duration, minRequests int) (Floor, error) {
	cpu0, err := processCPU()
	if err != nil {
		return Floor{}, err
	}
	start := time.Now()
	n := 0
	for n < minRequests || time.Since(start) < minDuration {
		if err := p.Do(ctx); err != nil {
			return Floor{}, err
		}
		n++
	}
	wall := time.Since(start)
	cpu1, err := processCPU()
	if err != nil {
		return Floor{}, err
	}
	return Floor{Requests: n, Wall: wall, CPU: cpu1 - cpu0}, nil
}

// Measured is Measure's default measurement (1 s and 2,000 requests at the least), made
// once per process and then shared.
var Measured = sync.OnceValues(func() (Floor, error) {
	return Measure(context.Background(), time.Second, 2000)
})

// Pair is the trivial server and its client.
type Pair struct {
	srv    *http.Server
	ln     net.Listener
	url    string
	client *http.Client
	served atomic.Int64
	conns  atomic.Int64 // connections accepted
}

// Start starts a server on a free loopback port answering every request with a few
// bytes, and a client that keeps one connection to it alive.
func Start() (*Pair, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("benchfloor: %w", err)
	}
	// MaxConnsPerHost: the transport hands a connection back to its idle pool from its
	// read loop, after the caller has read the body, so a request sent right after the
	// last one (on a busy machine, before that loop has run) would dial a second
	// connection; capped, it waits for the first.
	p := &Pair{ln: ln, url: "http://" + ln.Addr().String() + "/",
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}}
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.served.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	}), ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			p.conns.Add(1)
		}
	}}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Do sends one GET and reads the whole answer, so the connection is reused.
func (p *Pair) Do(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("benchfloor: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("benchfloor: status %s", resp.Status)
	}
	return err
}

// Served is how many requests the server has answered.
func (p *Pair) Served() int64 { return p.served.Load() }

// Close stops the server and drops the client's connection.
func (p *Pair) Close() {
	p.client.CloseIdleConnections()
	_ = p.srv.Close()
}

// processCPU is this process's CPU time, user and system, to the microsecond.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("benchfloor: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
