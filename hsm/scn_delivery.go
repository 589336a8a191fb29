package hsm

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SCN delivery. hms-smd queues one job per change set on its worker pool; the job
// POSTs the payload to every subscribed URL, up to 3 attempts 5 s apart, and counts
// only 200 as delivered. Here each URL has its own queue and one goroutine at a time
// drains it in order, so a subscriber sees a component's changes in the order they
// happened, and a slow or dead subscriber delays only itself. A queue holds at most
// Config.SCNQueueLimit payloads: past that the oldest is dropped, counted, and logged
// once per episode. Nothing here runs under Server.mu or blocks the request.

const (
	scnAttempts         = 3
	scnRetryDelay       = 5 * time.Second
	scnTimeout          = 30 * time.Second
	defaultSCNQueueSize = 1000
)

// SCNStats counts SCN deliveries since the server started.
type SCNStats struct {
	Delivered int64 // POSTs answered 200
	Failed    int64 // payloads given up after every attempt
	Dropped   int64 // payloads dropped from a full queue
}

type scnDelivery struct {
	client *http.Client
	limit  int
	log    *slog.Logger

	mu     sync.Mutex
	queues map[string]*scnQueue

	delivered, failed, dropped atomic.Int64
}

// scnQueue is one subscriber URL's pending payloads.
type scnQueue struct {
	pending  [][]byte
	running  bool
	dropping int64 // payloads dropped in the current overflow episode
	failing  bool  // the last delivery failed (logged once until one succeeds)
}

func newSCNDelivery(client *http.Client, limit int, log *slog.Logger) *scnDelivery {
	if client == nil {
		client = &http.Client{Timeout: scnTimeout}
	}
	if limit <= 0 {
		limit = defaultSCNQueueSize
	}
	return &scnDelivery{client: client, limit: limit, log: log, queues: map[string]*scnQueue{}}
}

// SCNStats reports the delivery counters.
func (s *Server) SCNStats() SCNStats {
	d := s.scnOut
	return SCNStats{Delivered: d.delivered.Load(), Failed: d.failed.Load(), Dropped: d.dropped.Load()}
}

// scnListening reports whether any subscription exists: the change paths collect
// changed IDs only then.
func (s *Server) scnListening() bool { return s.scn.index.Load() != nil }

// notify sends p to the URLs subscribed to its trigger. Call without s.mu held.
func (s *Server) notify(p SCNPayload) {
	idx := s.scn.index.Load()
	if idx == nil || len(p.Components) == 0 {
		return
	}
	urls := idx.urlsFor(&p)
	if len(urls) == 0 {
		return
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return
	}
	for _, u := range urls {
		s.scnOut.enqueue(u, raw)
	}
}

// scnSets groups changed components by the notification they get, in the order the
// notifications first appear. A nil *scnSets (nobody subscribed) records nothing.
type scnSets struct {
	sets  []SCNPayload
	index map[scnKey]int
}

// scnKey is an SCNPayload without its Components, comparable.
type scnKey struct {
	state, flag, role, subRole, swStatus string
	enabled                              int8 // 0 absent, 1 false, 2 true
}

// newSCNSets returns a grouper, or nil while there is no subscription.
func (s *Server) newSCNSets() *scnSets {
	if !s.scnListening() {
		return nil
	}
	return &scnSets{index: map[scnKey]int{}}
}

func (g *scnSets) add(id string, p SCNPayload) {
	if g == nil {
		return
	}
	k := scnKey{state: p.State, flag: p.Flag, role: p.Role, subRole: p.SubRole, swStatus: p.SoftwareStatus}
	if p.Enabled != nil {
		k.enabled = 1
		if *p.Enabled {
			k.enabled = 2
		}
	}
	i, ok := g.index[k]
	if !ok {
		i = len(g.sets)
		g.index[k] = i
		g.sets = append(g.sets, p)
	}
	g.sets[i].Components = append(g.sets[i].Components, id)
}

// notifySets sends each group of g. Call without s.mu held.
func (s *Server) notifySets(g *scnSets) {
	if g == nil {
		return
	}
	for _, p := range g.sets {
		s.notify(p)
	}
}

func (d *scnDelivery) enqueue(url string, raw []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[url]
	if q == nil {
		q = &scnQueue{}
		d.queues[url] = q
	}
	if len(q.pending) >= d.limit {
		q.pending[0] = nil
		q.pending = q.pending[1:]
		d.dropped.Add(1)
		if q.dropping == 0 {
			d.log.Warn("hsm: SCN subscriber is not keeping up; dropping its oldest notifications", "url", url, "queue", d.limit)
		}
		q.dropping++
	}
	q.pending = append(q.pending, raw)
	if !q.running {
		q.running = true
		go d.drain(url, q)
	}
}

// drain delivers q's payloads in order until it is empty.
func (d *scnDelivery) drain(url string, q *scnQueue) {
	for {
		d.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			if q.dropping > 0 {
				d.log.Warn("hsm: SCN subscriber caught up", "url", url, "dropped", q.dropping)
				q.dropping = 0
			}
			if !q.failing {
				delete(d.queues, url)
			}
			d.mu.Unlock()
			return
		}
		raw := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		d.mu.Unlock()
		d.deliver(url, q, raw)
	}
}

// deliver POSTs raw to url, up to scnAttempts times scnRetryDelay apart.
func (d *scnDelivery) deliver(url string, q *scnQueue, raw []byte) {
	var last string
	for attempt := range scnAttempts {
		if attempt > 0 {
			time.Sleep(scnRetryDelay)
		}
		resp, err := d.client.Post(url, "application/json", bytes.NewReader(raw))
		if err != nil {
			last = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			d.delivered.Add(1)
			d.setFailing(url, q, false, "")
			return
		}
		last = resp.Status
	}
	d.failed.Add(1)
	d.setFailing(url, q, true, last)
}

// setFailing logs the first failure of a run of them and the recovery after it.
func (d *scnDelivery) setFailing(url string, q *scnQueue, failing bool, why string) {
	d.mu.Lock()
	was := q.failing
	q.failing = failing
	d.mu.Unlock()
	switch {
	case failing && !was:
		d.log.Warn("hsm: SCN delivery failed; later failures to this subscriber are not logged until one succeeds",
			"url", url, "attempts", scnAttempts, "err", why)
	case !failing && was:
		d.log.Info("hsm: SCN delivery to subscriber works again", "url", url)
	}
}
