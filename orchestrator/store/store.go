package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/internal/memnet"
	"github.com/cray-bos/bos/internal/uuid"
	"github.com/cray-bos/bos/orchestrator"
)

// Config configures Open.
type Config struct {
	// URL is a redis:// URL ("redis://host:6379/0"). Empty starts an embedded miniredis
	// in this process, for tests and single-binary runs; Close stops it.
	URL string
	// KeyPrefix is put in front of every key ("bos:"), so several stores (or test runs)
	// can share one Redis database. Empty means no prefix.
	KeyPrefix string
	// Cluster makes URL a Redis Cluster's ("redis://host:port?addr=host2:port2&..."; any
	// node will do, the others are discovered) and puts every key under one hash tag,
	// {KeyPrefix} ({bos} for an empty prefix): BOS's transactions WATCH records and index
	// sets together, which a Cluster allows only within one hash slot (docs/scale-out.md).
	// Reads go to the masters: a URL asking for replica reads is refused.
	Cluster bool
	// DB selects the Redis logical database when non-zero (overriding the URL's).
	DB int
	// PoolSize is the maximum number of Redis connections; 0 means go-redis's default
	// (10 per CPU). Each in-flight compare-and-set write holds one connection, but for
	// the writes of a few records, which share one per batch (groupcommit.go).
	PoolSize int
	// EmbeddedOverPipes connects to the embedded Redis through in-process pipes instead of
	// loopback TCP, so no port stays bound (tests that run the stack on an in-memory
	// network and a fake clock need every connection to be in-process).
	EmbeddedOverPipes bool
	// OnComponentsChanged, when set, is called after every committed component write
	// (create, update, delete) with the ids written, in the writer's goroutine. It must
	// not block: the reconciler uses it to enqueue keys.
	OnComponentsChanged func(ids []string)
	// OnComponentsWritten, when set, is called like OnComponentsChanged after every
	// committed component write, those made Quietly included: the web view follows every
	// change with it. It must not block.
	OnComponentsWritten func(ids []string)
	// ShareWakes publishes the ids of every waking component write on a Redis channel,
	// so that BOS replicas on this Redis wake the nodes they own (SubscribeWakes): a
	// node's report to one replica's API reaches the replica working on it at once.
	ShareWakes bool
	// HistoryLimit bounds the history entries kept per component (each write's changes
	// and the notes of effects, in the write's transaction; history.go): 0 means
	// DefaultHistoryLimit, negative keeps none.
	HistoryLimit int
	// Now stamps history entries; nil means time.Now.
	Now func() time.Time
	// RecordCacheBytes bounds the memory of the component records this process remembers
	// from its own writes, which lets a later write of the same record (a node report
	// after the reconciler's decision) go in one round trip: 0 means
	// DefaultRecordCacheBytes, negative remembers none.
	RecordCacheBytes int
}

// Store keeps BOS's state in Redis. All methods are safe for concurrent use. Reads return
// fresh copies; component writes are compare-and-set per component (see doc.go).
type Store struct {
	rdb       redis.UniversalClient
	mini      *miniredis.Miniredis
	prefix    string
	onChanged func(ids []string)
	onWritten func(ids []string)
	// origin names this store's wake messages (ShareWakes), "" when it shares none.
	origin string
	// abortID names this store's write attempts' abort keys (script.go).
	abortID string
	// noScript: the Redis refused the write check's script at Open.
	noScript bool
	// historyMax is the history entries kept per component (0: none); clock stamps them.
	historyMax int
	clock      func() time.Time
	tokens     tokenCache   // BSS token records known to this process
	records    *recordCache // component records this process last wrote (nil: none)
	commits    committer    // batches concurrent component writes (groupcommit.go)
	leases     leaseMemory  // lease holders this process's fenced writes last saw
	sessions   sessionCache
	// hooks are those AddHook gave, for the connections group commit takes from a
	// Cluster's master directly (its node clients do not run the Cluster client's hooks).
	hooks []redis.Hook
}

// Open connects to Redis (or starts the embedded one) and checks the connection.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{prefix: cfg.KeyPrefix, onChanged: cfg.OnComponentsChanged, onWritten: cfg.OnComponentsWritten,
		historyMax: historyLimit(cfg), clock: cfg.Now, abortID: uuid.New()}
	switch {
	case cfg.RecordCacheBytes == 0:
		s.records = newRecordCache(DefaultRecordCacheBytes)
	case cfg.RecordCacheBytes > 0:
		s.records = newRecordCache(cfg.RecordCacheBytes)
	}
	if cfg.ShareWakes {
		s.origin = uuid.New()
	}
	if cfg.Cluster {
		return openCluster(ctx, s, cfg)
	}
	var opts *redis.Options
	if cfg.URL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return nil, fmt.Errorf("open store: start embedded redis: %w", err)
		}
		s.mini = m
		opts = &redis.Options{Addr: m.Addr()}
		if cfg.EmbeddedOverPipes {
			srv := m.Server()
			srv.Close() // the TCP listener only: connections come through ServeConn
			opts.Dialer = func(context.Context, string, string) (net.Conn, error) {
				client, server := memnet.Pipe()
				srv.ServeConn(server)
				return client, nil
			}
		}
	} else {
		var err error
		if opts, err = redis.ParseURL(cfg.URL); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if cfg.DB != 0 {
		opts.DB = cfg.DB
	}
	if cfg.PoolSize > 0 {
		opts.PoolSize = cfg.PoolSize
	}
	s.rdb = redis.NewClient(opts)
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	// A Redis that refuses scripts (an ACL, a proxy) would refuse the write check but
	// not the MULTI/EXEC after it: writes then WATCH and read instead (script.go).
	s.noScript = s.rdb.Eval(ctx, checkScript, nil).Err() != nil
	if err := s.ensureCounts(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// openCluster opens s on the Redis Cluster cfg.URL names.
func openCluster(ctx context.Context, s *Store, cfg Config) (*Store, error) {
	opts, err := redis.ParseClusterURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if opts.ReadOnly || opts.RouteByLatency || opts.RouteRandomly {
		// A list could read the sessions version from one replica and the records from
		// another, behind it, and be kept until the next session write (listedSessions);
		// every read must see the writes before it.
		return nil, errors.New("open store: replica reads (read_only, route_by_latency, route_randomly) are not supported: BOS reads from the masters")
	}
	if cfg.PoolSize > 0 {
		opts.PoolSize = cfg.PoolSize
	}
	s.prefix = HashTag(cfg.KeyPrefix)
	s.rdb = redis.NewClusterClient(opts)
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.rdb.Eval(ctx, checkScript, []string{s.k("write-check")}, "0", "").Err(); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open store: component writes need Lua scripts (EVAL): %w", err)
	}
	return s, nil
}

// HashTag is the key prefix of a store on a Redis Cluster: prefix as one hash tag.
func HashTag(prefix string) string {
	if prefix == "" {
		prefix = "bos"
	}
	return "{" + prefix + "}"
}

// Close closes the connections and stops an embedded Redis.
func (s *Store) Close() error {
	err := s.rdb.Close()
	if s.mini != nil {
		s.mini.Close()
	}
	return err
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail("ping", s.rdb.Ping(ctx).Err())
}

// DeleteAll removes every key under the store's prefix (tests use it to clean up). With
// an empty prefix it refuses unless the Redis is the embedded one.
func (s *Store) DeleteAll(ctx context.Context) error {
	if s.prefix == "" && s.mini == nil {
		return errors.New("delete all: refusing to empty a shared Redis without a key prefix")
	}
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return s.deleteAll(ctx, node)
		})
	}
	return s.deleteAll(ctx, s.rdb)
}

// deleteAll deletes the store's keys on one Redis server.
func (s *Store) deleteAll(ctx context.Context, rdb redis.Cmdable) error {
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, escapeGlob(s.prefix)+"*", 1000).Result()
		if err != nil {
			return s.fail("delete all", err)
		}
		if len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				return s.fail("delete all", err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// k joins the prefix and parts into a key.
func (s *Store) k(parts ...string) string { return s.prefix + strings.Join(parts, "") }

// unavailableTitle is BOS's problem title for database connection errors.
const unavailableTitle = "Unable to connect to the Redis database"

// fail wraps a Redis error with the step name and a domain code: errors replied by Redis
// itself are EINTERNAL, anything else (connection refused, timeouts, a closed pool) is
// EUNAVAILABLE. Context errors and domain errors pass through.
func (s *Store) fail(step string, err error) error {
	if err == nil {
		return nil
	}
	var de *orchestrator.Error
	if errors.As(err, &de) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", step, err)
	}
	var re redis.Error
	if errors.As(err, &re) && !errors.Is(err, redis.ErrClosed) {
		return &orchestrator.Error{Code: orchestrator.EINTERNAL, Message: step + ": unexpected reply from Redis", Err: err}
	}
	return &orchestrator.Error{Code: orchestrator.EUNAVAILABLE, Title: unavailableTitle, Message: step + ": the database is not reachable", Err: err}
}

// backoff sleeps a little before retrying a conflicted transaction: attempt × 200µs with
// jitter, at most 20ms, so contending writers spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * 200 * time.Microsecond
	d = min(d, 20*time.Millisecond)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
