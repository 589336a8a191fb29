package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cray-bos/bos/internal/testwait"
)

// StartCluster starts n redis-server processes in cluster mode on random loopback ports
// (20000-40000), joins them into one Redis Cluster with redis-cli (every slot assigned, no
// replicas), and returns its URL for store.Config{Cluster: true}
// (redis://first?addr=second&addr=...). The servers are killed when the test ends. It
// skips the test without redis-server or redis-cli.
func StartCluster(tb testing.TB, n int) string {
	tb.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("no redis-server binary")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Skip("no redis-cli binary")
	}
	dir := tb.TempDir()
	var addrs []string
	for len(addrs) < n {
		port := 20000 + rand.IntN(20000)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken
		}
		_ = l.Close()
		exited := startClusterNode(tb, server, dir, port)
		gone := func() bool {
			select {
			case <-exited:
				return true
			default:
				return false
			}
		}
		testwait.Until(tb, "redis-server "+addr, func() bool { return gone() || ping(addr) }, nil)
		if !gone() {
			addrs = append(addrs, addr)
		} // else the port was taken meanwhile: another one

	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.Command(cli, append(args, "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli --cluster create: %v: %s", err, out)
	}
	for _, addr := range addrs {
		host, port, _ := net.SplitHostPort(addr)
		testwait.Until(tb, "cluster state ok at "+addr, func() bool {
			out, err := exec.Command(cli, "-h", host, "-p", port, "cluster", "info").Output()
			return err == nil && strings.Contains(string(out), "cluster_state:ok")
		}, nil)
	}
	url := "redis://" + addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		url += sep + "addr=" + a
	}
	return url
}

// startClusterNode runs one cluster-mode redis-server without persistence; the channel
// is closed when it exits.
func startClusterNode(tb testing.TB, server, dir string, port int) <-chan struct{} {
	cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
		"--save", "", "--appendonly", "no", "--dir", dir)
	logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)))
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return done
}

func ping(addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err() == nil
}
