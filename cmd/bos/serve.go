package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/orchestrator/auth"
	"github.com/cray-bos/bos/orchestrator/ownership"
	"github.com/cray-bos/bos/orchestrator/power"
	"github.com/cray-bos/bos/orchestrator/server"
	"github.com/cray-bos/bos/orchestrator/store"
	"github.com/cray-bos/bos/orchestrator/tenant"
	"github.com/cray-bos/bos/orchestrator/webui"
)

// serveFlags are `bos serve`'s flags; config maps them onto BOS's Config.
type serveFlags struct {
	listen, urlsFile        string
	advertise               string
	urlsFrom                string
	fromBMCs                map[string]string // the BMCs of --urls-from
	redisURL, redisPrefix   string
	redisCluster            bool
	replica                 server.Replica
	historyLimit            int
	recordCacheMiB          int
	tenants, bmcCredentials string
	services                server.Services
	redfishScheme, power    string
	redfishTimeout          time.Duration
	verbose                 bool
	logFormat               logFormat
	auth                    auth.Config
	pprofListen             string
}

// newServeCommand is `bos serve`: the BOS API alone, optionally with its reconciler driving
// services that run elsewhere.
func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the BOS API (v2) on an embedded or real Redis; optionally its reconciler",
		Long: `serve runs the BOS API on --listen, keeping its state in an embedded Redis (lost on
exit) unless --redis-url names a real one.

Given the addresses of HSM, BSS, CFS, S3 and IMS (all five, e.g. from "bos sim"), it also
runs the v2 reconciler and the v1 lockstep agent, which boot nodes through their BMCs'
Redfish interfaces as HSM lists them, or, with --power pcs, through the PCS at --pcs-url
as BOS 2.50 does. Without them, BOS only stores templates, sessions
and components. v1 templates in the store are migrated to v2 form at start.

--urls-file F writes {"bos": URL} to F once the API listens. Stops cleanly on Ctrl-C or
SIGTERM.

Authentication is off unless --auth-jwks-file or --auth-jwks-url is given: then every
request but version, health and OpenAPI needs a bearer JWT signed by a key of that set,
tenants come from the token, and only the administrator role may change the options,
act without a tenant, or use v1 (docs/auth.md).`,
		Example: `  bos serve --listen 127.0.0.1:8080
  bos serve --listen :8080 --redis-url redis://127.0.0.1:6379/0 --tenants tenants.yaml
  bos serve --listen :8081 --redis-url redis://127.0.0.1:6379/0 --replica-id bos-1 --role operator \
      --hsm-url ... (each replica its own --replica-id; docs/scale-out.md)
  bos serve --auth-jwks-url https://keycloak.example/realms/shasta/protocol/openid-connect/certs \
      --auth-issuer https://keycloak.example/realms/shasta --auth-audience shasta
  bos sim --nodes 100 --urls-file sim.json &
  bos serve --urls-file bos.json --hsm-url $(jq -r .hsm sim.json) --bss-url $(jq -r .bss sim.json) \
      --cfs-url $(jq -r .cfs sim.json) --s3-url $(jq -r .s3 sim.json) --ims-url $(jq -r .ims sim.json)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.serve(cmd) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "host:port the API listens on (port 0 = a free one; see --urls-file)")
	fl.StringVar(&f.advertise, "advertise", "", "host name or address BOS is reached at (its URL's host: BMCs on other hosts post power events there; default that of --listen)")
	fl.StringVar(&f.redisURL, "redis-url", "", "redis://host:port/db for BOS's state (default: an embedded Redis in this process)")
	fl.StringVar(&f.redisPrefix, "redis-key-prefix", "", "prefix of every key BOS writes to Redis")
	fl.BoolVar(&f.redisCluster, "redis-cluster", false, "--redis-url names a Redis Cluster node (more with ?addr=host:port&addr=...); every key goes under the hash tag {prefix}")
	fl.StringVar(&f.replica.ID, "replica-id", "", "run as one of several BOS replicas on one Redis under this name (unique per replica; e.g. the pod name): operator replicas divide the nodes through leases")
	fl.StringVar(&f.replica.Role, "role", server.RoleAll, "what this replica runs: all, api (the API only) or operator (the reconciler, v1 agent and CRUS; the API too)")
	fl.IntVar(&f.replica.Shards, "shards", ownership.DefaultShards, "with --replica-id: how many shards the nodes are hashed into (the same on every replica)")
	fl.DurationVar(&f.replica.LeaseTTL, "lease-ttl", ownership.DefaultTTL, "with --replica-id: a shard lease's time to live; a dead replica's nodes move to the others within about 4/3 of it")
	fl.IntVar(&f.historyLimit, "history-limit", store.DefaultHistoryLimit, "history entries kept per component (GET /v2/components/{id}/history); 0 keeps none")
	fl.IntVar(&f.recordCacheMiB, "record-cache-mib", store.DefaultRecordCacheBytes>>20, "MiB of component records remembered, so a node report's write is one Redis round trip; 0 remembers none (each report reads first)")
	fl.StringVar(&f.tenants, "tenants", "", "YAML or JSON file of tenants and their nodes (the TAPMS stand-in)")
	fl.StringVar(&f.urlsFile, "urls-file", "", `write {"bos": URL} to this file once the API listens`)
	fl.StringVar(&f.urlsFrom, "urls-from", "", "take the service URLs not given by their flags from this URLs file (bos sim --urls-file, or bos urls merge)")
	fl.StringVar(&f.services.HSM, "hsm-url", "", "HSM for the reconciler (scheme://host:port)")
	fl.StringVar(&f.services.BSS, "bss-url", "", "BSS for the reconciler")
	fl.StringVar(&f.services.CFS, "cfs-url", "", "CFS for the reconciler")
	fl.StringVar(&f.services.S3, "s3-url", "", "S3 object store holding the boot images")
	fl.StringVar(&f.services.IMS, "ims-url", "", "IMS for the reconciler")
	fl.StringVar(&f.services.Scontrol, "slurm-scontrol", "", "drive a real slurmctld's rollouts through this scontrol (squeue beside it) instead of --slurm-url")
	fl.StringVar(&f.redfishScheme, "redfish-scheme", "http", "how the reconciler reaches BMCs: http or https")
	fl.StringVar(&f.power, "power", server.PowerRedfish, "how the reconciler powers nodes: redfish (straight to the BMCs) or pcs (through --pcs-url, as BOS 2.50 does)")
	fl.StringVar(&f.services.Slurm, "slurm-url", "", "Slurm's REST API (slurmrestd, scheme://host:port): the web view's rolling states and Slurm lines; with --hsm-url, CRUS and rollouts")
	fl.StringVar(&f.services.PCS, "pcs-url", "", "PCS for the reconciler with --power pcs (scheme://host:port; the API is under /power-control/v1)")
	fl.DurationVar(&f.redfishTimeout, "redfish-timeout", 10*time.Second, "how long BOS waits for one BMC request")
	fl.StringVar(&f.bmcCredentials, "bmc-credentials", "", "YAML or JSON file of BMC credentials (default, bmcs: {xname: {username, password}}), the Vault stand-in; default root/initial0")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log what BOS does")
	f.logFormat.register(fl)
	fl.StringVar(&f.auth.JWKSFile, "auth-jwks-file", "", "require bearer JWTs signed by a key of this JSON Web Key Set file (default: no authentication)")
	fl.StringVar(&f.auth.JWKSURL, "auth-jwks-url", "", "as --auth-jwks-file, fetching the key set from this URL (e.g. Keycloak's .../protocol/openid-connect/certs)")
	fl.StringVar(&f.auth.Issuer, "auth-issuer", "", "require this iss claim (default: any)")
	fl.StringVar(&f.auth.Audience, "auth-audience", "", "require this aud claim (CSM: shasta; default: any)")
	fl.StringVar(&f.auth.TenantClaim, "auth-tenant-claim", auth.DefaultTenantClaim, "claim (dotted path) whose string or strings name the caller's tenants")
	fl.StringVar(&f.auth.TenantSuffix, "auth-tenant-suffix", auth.DefaultTenantSuffix, `only tenant-claim values with this suffix grant a tenant, less the suffix (Keycloak groups "<tenant>-tenant-admin"); "`+auth.NoSuffix+`" takes values as they are`)
	fl.StringVar(&f.auth.AdminRole, "auth-admin-role", auth.DefaultAdminRole, "role (in realm_access.roles or resource_access.<client>.roles) of the administrator")
	fl.StringVar(&f.auth.RoleClient, "auth-role-client", auth.DefaultRoleClient, "Keycloak client whose roles count (resource_access.<client>)")
	fl.DurationVar(&f.auth.Leeway, "auth-leeway", 0, "clock skew allowed on a token's exp, nbf and iat")
	registerPprof(fl, &f.pprofListen)
	return cmd
}

// config maps the flags onto BOS's Config, all but URL (known once BOS listens). life
// bounds what runs as long as BOS does (the refresh of a JWKS URL's key set).
func (f *serveFlags) config(cmd *cobra.Command, life context.Context) (cfg server.Config, err error) {
	if f.urlsFrom != "" {
		from, err := stack.LoadURLs(f.urlsFrom)
		if err != nil {
			return cfg, err
		}
		svc := &f.services
		for _, p := range [][2]*string{{&svc.HSM, &from.HSM}, {&svc.BSS, &from.BSS}, {&svc.CFS, &from.CFS}, {&svc.S3, &from.S3},
			{&svc.IMS, &from.IMS}, {&svc.Slurm, &from.Slurm}} {
			fillEmpty(p[0], *p[1])
		}
		if f.power == server.PowerPCS {
			fillEmpty(&svc.PCS, from.PCS)
		}
		f.fromBMCs = from.BMCs
	}
	cfg = server.Config{
		Store:         store.Config{URL: f.redisURL, KeyPrefix: f.redisPrefix, Cluster: f.redisCluster, HistoryLimit: f.historyLimit},
		Replica:       f.replica,
		Services:      f.services,
		RedfishScheme: f.redfishScheme, RedfishTimeout: f.redfishTimeout,
	}
	switch {
	case f.historyLimit < 0:
		return cfg, fmt.Errorf("--history-limit must be 0 or more, not %d", f.historyLimit)
	case f.historyLimit == 0:
		cfg.Store.HistoryLimit = -1 // the store's "none"
	}
	switch {
	case f.recordCacheMiB < 0:
		return cfg, fmt.Errorf("--record-cache-mib must be 0 or more, not %d", f.recordCacheMiB)
	case f.recordCacheMiB == 0:
		cfg.Store.RecordCacheBytes = -1 // the store's "none"
	default:
		cfg.Store.RecordCacheBytes = f.recordCacheMiB << 20
	}
	if cfg.Reconcile, err = reconcilerWanted(f.services); err != nil {
		return cfg, err
	}
	if cfg.Power, err = powerFlag(f.power); err != nil {
		return cfg, err
	}
	switch {
	case f.redisCluster && f.redisURL == "":
		return cfg, fmt.Errorf("--redis-cluster needs --redis-url")
	case f.replica.ID != "" && f.redisURL == "":
		return cfg, fmt.Errorf("--replica-id needs --redis-url: replicas share one Redis")
	}
	switch {
	case cfg.Power == server.PowerPCS && cfg.Reconcile && f.services.PCS == "":
		return cfg, fmt.Errorf("--power pcs needs --pcs-url")
	case cfg.Power != server.PowerPCS && f.services.PCS != "":
		return cfg, fmt.Errorf("--pcs-url needs --power pcs")
	}
	if f.verbose {
		cfg.LogLevel = new(slog.LevelVar) // INFO until the logging_level option says otherwise
		cfg.Logger = newLogger(cmd.ErrOrStderr(), f.logFormat, cfg.LogLevel)
	}
	if f.tenants != "" {
		if cfg.Tenants, err = tenant.Load(f.tenants); err != nil {
			return cfg, fmt.Errorf("tenants: %w", err)
		}
	}
	if f.bmcCredentials != "" && cfg.Reconcile && cfg.Power == server.PowerRedfish {
		if cfg.BMCCredentials, err = power.LoadCredentials(f.bmcCredentials); err != nil {
			return cfg, err
		}
	}
	if f.auth.JWKSFile != "" || f.auth.JWKSURL != "" {
		a := f.auth
		a.Logger = cfg.Logger
		v, err := auth.New(life, a)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = v
	} else if name := changedAuthFlag(cmd); name != "" {
		return cfg, fmt.Errorf("--%s needs --auth-jwks-file or --auth-jwks-url", name)
	}
	return cfg, nil
}

// serve runs BOS until the command's context ends (Ctrl-C, SIGTERM), then stops it: the
// HTTP server first, gracefully (requests in flight finish, for serveShutdownGrace at
// most), then BOS's agents.
func (f *serveFlags) serve(cmd *cobra.Command) error {
	ctx, errw := cmd.Context(), cmd.ErrOrStderr()
	servePprof(f.pprofListen)
	gc := setServeGC()
	// life outlives ctx by the HTTP server's shutdown.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	cfg, err := f.config(cmd, life)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen for bos: %w", err)
	}
	defer ln.Close()
	cfg.URL = "http://" + ln.Addr().String()
	if f.advertise != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.URL = "http://" + net.JoinHostPort(f.advertise, port)
	}
	if cfg.Reconcile && cfg.Power == server.PowerRedfish {
		// BOS subscribes to the BMCs' events at its URL.
		if err := stack.CheckReachable(stack.URLs{BOS: cfg.URL, BMCs: f.fromBMCs}); err != nil {
			return err
		}
	}
	b, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ran := make(chan error, 1)
	go func() { ran <- b.Run(life) }()
	stop := func() error {
		shutCtx, cancel := context.WithTimeout(context.Background(), serveShutdownGrace)
		defer cancel()
		if srv.Shutdown(shutCtx) != nil {
			_ = srv.Close()
		}
		endLife()
		return <-ran
	}

	if err := writeURLs(f.urlsFile, stack.URLs{BOS: cfg.URL}); err != nil {
		_ = stop()
		return err
	}
	st := "embedded Redis (state is lost on exit)"
	if f.redisURL != "" {
		st = f.redisURL
	}
	rec := "off (no --hsm-url ... given)"
	if cfg.Reconcile {
		rec = "and v1 agent on"
	}
	authState := "off"
	if cfg.Auth != nil {
		authState = "bearer tokens required"
	}
	fmt.Fprintf(errw, "BOS at %s, store %s, reconciler %s, authentication %s; Ctrl-C to stop\n", cfg.URL, st, rec, authState)
	fmt.Fprintf(errw, "web view: %s\n", cfg.URL+webui.Path)
	fmt.Fprintf(errw, "%s\n", gc)
	started := time.Now()
	warm := make(chan int, 1)
	go func() {
		if n, err := b.Subscribed(ctx); err == nil && n >= 0 {
			warm <- n
		}
	}()
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case n := <-warm:
			// Before this, BOS reads power with GETs.
			fmt.Fprintf(errw, "warm in %s: BOS takes power events from %d BMCs\n", time.Since(started).Round(time.Millisecond), n)
		case err := <-served:
			_ = stop()
			return fmt.Errorf("serving bos: %w", err)
		}
	}
	fmt.Fprintln(errw, "stopping")
	return stop()
}

// serveShutdownGrace is how long `bos serve` lets requests in flight finish when stopped.
const serveShutdownGrace = 10 * time.Second

// powerFlag checks a --power value.
func powerFlag(v string) (string, error) {
	if v != server.PowerRedfish && v != server.PowerPCS {
		return "", fmt.Errorf("--power must be %s or %s, not %q", server.PowerRedfish, server.PowerPCS, v)
	}
	return v, nil
}

// changedAuthFlag names an --auth-* flag the user gave, "" if none.
func changedAuthFlag(cmd *cobra.Command) string {
	var name string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "auth-") {
			name = f.Name
		}
	})
	return name
}

// reconcilerWanted says whether the service URLs ask for the reconciler: none given means
// no, all five yes, some of them is a mistake worth naming.
func reconcilerWanted(u server.Services) (bool, error) {
	var missing []string
	given := 0
	for _, s := range []struct{ flag, url string }{
		{"--hsm-url", u.HSM}, {"--bss-url", u.BSS}, {"--cfs-url", u.CFS}, {"--s3-url", u.S3}, {"--ims-url", u.IMS},
	} {
		if s.url == "" {
			missing = append(missing, s.flag)
		} else {
			given++
		}
	}
	switch {
	case given == 0:
		return false, nil
	case len(missing) > 0:
		return false, fmt.Errorf("the reconciler needs all of --hsm-url, --bss-url, --cfs-url, --s3-url and --ims-url; missing %s", strings.Join(missing, ", "))
	}
	return true, nil
}
