package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cray-bos/bos/internal/stack"
	"github.com/cray-bos/bos/internal/topology"
	"github.com/cray-bos/bos/orchestrator/auth"
)

// newServeCommand is `bos serve`: the BOS API alone, optionally with its reconciler driving
// services that run elsewhere.
func newServeCommand() *cobra.Command {
	var (
		listen, redisURL, redisPrefix string
		tenants, urlsFile             string
		bmcCredentials                string
		ext                           stack.URLs
		redfishScheme                 string
		redfishTimeout                time.Duration
		power                         string
		verbose                       bool
		authCfg                       auth.Config
	)
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
  bos serve --auth-jwks-url https://keycloak.example/realms/shasta/protocol/openid-connect/certs \
      --auth-issuer https://keycloak.example/realms/shasta --auth-audience shasta
  bos sim --nodes 100 --urls-file sim.json &
  bos serve --urls-file bos.json --hsm-url $(jq -r .hsm sim.json) --bss-url $(jq -r .bss sim.json) \
      --cfs-url $(jq -r .cfs sim.json) --s3-url $(jq -r .s3 sim.json) --ims-url $(jq -r .ims sim.json)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			errw := cmd.ErrOrStderr()
			opts := stack.Options{
				// The API needs no cluster description; the reconciler reads nodes from HSM.
				Topology: &topology.Topology{},
				Services: []string{stack.BOS},
				External: ext,
				BOSAddr:  listen,
				RedisURL: redisURL, RedisKeyPrefix: redisPrefix,
				TenantsFile:   tenants,
				RedfishScheme: redfishScheme, RedfishTimeout: redfishTimeout,
				BMCCredentialsFile: bmcCredentials,
			}
			reconcile, err := reconcilerWanted(ext)
			if err != nil {
				return err
			}
			opts.Reconcile = reconcile
			if opts.Power, err = powerFlag(power); err != nil {
				return err
			}
			switch {
			case opts.Power == stack.PowerPCS && reconcile && ext.PCS == "":
				return fmt.Errorf("--power pcs needs --pcs-url")
			case opts.Power != stack.PowerPCS && ext.PCS != "":
				return fmt.Errorf("--pcs-url needs --power pcs")
			}
			if verbose {
				opts.LogLevel = new(slog.LevelVar) // INFO until the logging_level option says otherwise
				opts.Logger = slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: opts.LogLevel}))
			}
			ctx := cmd.Context()
			authState := "off"
			if authCfg.JWKSFile != "" || authCfg.JWKSURL != "" {
				authCfg.Logger = opts.Logger
				v, err := auth.New(ctx, authCfg)
				if err != nil {
					return err
				}
				opts.Auth = v
				authState = "bearer tokens required"
			} else if name := changedAuthFlag(cmd); name != "" {
				return fmt.Errorf("--%s needs --auth-jwks-file or --auth-jwks-url", name)
			}
			st, err := stack.Start(ctx, opts)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := writeURLs(urlsFile, stack.URLs{BOS: st.URLs.BOS}); err != nil {
				return err
			}
			store := "embedded Redis (state is lost on exit)"
			if redisURL != "" {
				store = redisURL
			}
			rec := "off (no --hsm-url ... given)"
			if reconcile {
				rec = "and v1 agent on"
			}
			fmt.Fprintf(errw, "BOS at %s, store %s, reconciler %s, authentication %s; Ctrl-C to stop\n", st.URLs.BOS, store, rec, authState)
			<-ctx.Done()
			fmt.Fprintln(errw, "stopping")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8080", "host:port the API listens on (port 0 = a free one; see --urls-file)")
	fl.StringVar(&redisURL, "redis-url", "", "redis://host:port/db for BOS's state (default: an embedded Redis in this process)")
	fl.StringVar(&redisPrefix, "redis-key-prefix", "", "prefix of every key BOS writes to Redis")
	fl.StringVar(&tenants, "tenants", "", "YAML or JSON file of tenants and their nodes (the TAPMS stand-in)")
	fl.StringVar(&urlsFile, "urls-file", "", `write {"bos": URL} to this file once the API listens`)
	fl.StringVar(&ext.HSM, "hsm-url", "", "HSM for the reconciler (scheme://host:port)")
	fl.StringVar(&ext.BSS, "bss-url", "", "BSS for the reconciler")
	fl.StringVar(&ext.CFS, "cfs-url", "", "CFS for the reconciler")
	fl.StringVar(&ext.S3, "s3-url", "", "S3 object store holding the boot images")
	fl.StringVar(&ext.IMS, "ims-url", "", "IMS for the reconciler")
	fl.StringVar(&redfishScheme, "redfish-scheme", "http", "how the reconciler reaches BMCs: http or https")
	fl.StringVar(&power, "power", stack.PowerRedfish, "how the reconciler powers nodes: redfish (straight to the BMCs) or pcs (through --pcs-url, as BOS 2.50 does)")
	fl.StringVar(&ext.PCS, "pcs-url", "", "PCS for the reconciler with --power pcs (scheme://host:port; the API is under /power-control/v1)")
	fl.DurationVar(&redfishTimeout, "redfish-timeout", 10*time.Second, "how long BOS waits for one BMC request")
	fl.StringVar(&bmcCredentials, "bmc-credentials", "", "YAML or JSON file of BMC credentials (default, bmcs: {xname: {username, password}}), the Vault stand-in; default root/initial0")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log what BOS does")
	fl.StringVar(&authCfg.JWKSFile, "auth-jwks-file", "", "require bearer JWTs signed by a key of this JSON Web Key Set file (default: no authentication)")
	fl.StringVar(&authCfg.JWKSURL, "auth-jwks-url", "", "as --auth-jwks-file, fetching the key set from this URL (e.g. Keycloak's .../protocol/openid-connect/certs)")
	fl.StringVar(&authCfg.Issuer, "auth-issuer", "", "require this iss claim (default: any)")
	fl.StringVar(&authCfg.Audience, "auth-audience", "", "require this aud claim (CSM: shasta; default: any)")
	fl.StringVar(&authCfg.TenantClaim, "auth-tenant-claim", auth.DefaultTenantClaim, "claim (dotted path) whose string or strings name the caller's tenants")
	fl.StringVar(&authCfg.TenantSuffix, "auth-tenant-suffix", auth.DefaultTenantSuffix, `only tenant-claim values with this suffix grant a tenant, less the suffix (Keycloak groups "<tenant>-tenant-admin"); "`+auth.NoSuffix+`" takes values as they are`)
	fl.StringVar(&authCfg.AdminRole, "auth-admin-role", auth.DefaultAdminRole, "role (in realm_access.roles or resource_access.<client>.roles) of the administrator")
	fl.StringVar(&authCfg.RoleClient, "auth-role-client", auth.DefaultRoleClient, "Keycloak client whose roles count (resource_access.<client>)")
	fl.DurationVar(&authCfg.Leeway, "auth-leeway", 0, "clock skew allowed on a token's exp, nbf and iat")
	return cmd
}

// powerFlag checks a --power value.
func powerFlag(v string) (string, error) {
	if v != stack.PowerRedfish && v != stack.PowerPCS {
		return "", fmt.Errorf("--power must be %s or %s, not %q", stack.PowerRedfish, stack.PowerPCS, v)
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
func reconcilerWanted(u stack.URLs) (bool, error) {
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
