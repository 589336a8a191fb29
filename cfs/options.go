package cfs

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/cray-bos/bos/api/cfsapi"
	"github.com/cray-bos/bos/internal/problem"
)

// Options is CFS's service-wide options record (GET and PATCH /v3/options). The ones the
// simulator has a use for take effect at once: batch_size, batch_window (whole seconds),
// default_batcher_retry_policy, default_page_size, batcher_disable and session_ttl. The
// others (Ansible, hardware sync, ARA, logging) are stored and returned as CFS would, with
// CFS's defaults, and change nothing here.
type Options struct {
	HardwareSyncInterval      int    `json:"hardware_sync_interval"`
	BatcherCheckInterval      int    `json:"batcher_check_interval"`
	BatchSize                 int    `json:"batch_size"`
	BatchWindow               int    `json:"batch_window"`
	DefaultBatcherRetryPolicy int    `json:"default_batcher_retry_policy"`
	DefaultPlaybook           string `json:"default_playbook"`
	DefaultAnsibleConfig      string `json:"default_ansible_config"`
	SessionTTL                string `json:"session_ttl"`
	AdditionalInventoryURL    string `json:"additional_inventory_url"`
	AdditionalInventorySource string `json:"additional_inventory_source"`
	BatcherMaxBackoff         int    `json:"batcher_max_backoff"`
	BatcherDisable            bool   `json:"batcher_disable"`
	BatcherPendingTimeout     int    `json:"batcher_pending_timeout"`
	LoggingLevel              string `json:"logging_level"`
	DefaultPageSize           int    `json:"default_page_size"`
	DebugWaitTime             int    `json:"debug_wait_time"`
	IncludeAraLinks           bool   `json:"include_ara_links"`
}

// defaultOptions are CFS's defaults for the options the simulator only stores.
func defaultOptions() Options {
	return Options{
		HardwareSyncInterval: 5, BatcherCheckInterval: 10, DefaultPlaybook: cfsapi.DefaultPlaybook,
		DefaultAnsibleConfig: "cfs-default-ansible-cfg", SessionTTL: "7d", BatcherMaxBackoff: 3600,
		BatcherPendingTimeout: 300, LoggingLevel: "INFO", DebugWaitTime: 3600, IncludeAraLinks: true,
	}
}

// optionsPatch is a PATCH body: every field optional, unknown fields refused (the spec's
// additionalProperties: false).
type optionsPatch struct {
	HardwareSyncInterval      *int    `json:"hardware_sync_interval"`
	BatcherCheckInterval      *int    `json:"batcher_check_interval"`
	BatchSize                 *int    `json:"batch_size"`
	BatchWindow               *int    `json:"batch_window"`
	DefaultBatcherRetryPolicy *int    `json:"default_batcher_retry_policy"`
	DefaultPlaybook           *string `json:"default_playbook"`
	DefaultAnsibleConfig      *string `json:"default_ansible_config"`
	SessionTTL                *string `json:"session_ttl"`
	AdditionalInventoryURL    *string `json:"additional_inventory_url"`
	AdditionalInventorySource *string `json:"additional_inventory_source"`
	BatcherMaxBackoff         *int    `json:"batcher_max_backoff"`
	BatcherDisable            *bool   `json:"batcher_disable"`
	BatcherPendingTimeout     *int    `json:"batcher_pending_timeout"`
	LoggingLevel              *string `json:"logging_level"`
	DefaultPageSize           *int    `json:"default_page_size"`
	DebugWaitTime             *int    `json:"debug_wait_time"`
	IncludeAraLinks           *bool   `json:"include_ara_links"`
}

var noSpaceOrSemicolon = regexp.MustCompile(`^[^\s;]*$`)

// validate checks p against the spec's bounds, naming the first field out of them.
func (p *optionsPatch) validate() *problem.Details {
	bad := func(format string, args ...any) *problem.Details {
		return cfsProblem(http.StatusBadRequest, "Invalid option", fmt.Sprintf(format, args...))
	}
	for _, f := range []struct {
		name string
		v    *int
		min  int
	}{
		{"hardware_sync_interval", p.HardwareSyncInterval, 1}, {"batcher_check_interval", p.BatcherCheckInterval, 1},
		{"batch_size", p.BatchSize, 1}, {"batch_window", p.BatchWindow, 0},
		{"default_batcher_retry_policy", p.DefaultBatcherRetryPolicy, 0}, {"batcher_max_backoff", p.BatcherMaxBackoff, 0},
		{"batcher_pending_timeout", p.BatcherPendingTimeout, 1}, {"default_page_size", p.DefaultPageSize, 1},
		{"debug_wait_time", p.DebugWaitTime, 0},
	} {
		if f.v != nil && *f.v < f.min {
			return bad("%s is %d; the minimum is %d", f.name, *f.v, f.min)
		}
	}
	if p.BatchSize != nil && *p.BatchSize > maxBatchSize {
		return bad("batch_size is %d; the simulator's maximum is %d", *p.BatchSize, maxBatchSize)
	}
	if p.BatchWindow != nil && *p.BatchWindow > maxAgeSeconds {
		return bad("batch_window is %d; the maximum is %d", *p.BatchWindow, maxAgeSeconds)
	}
	if p.DefaultPlaybook != nil {
		return bad("default_playbook is read-only in CFS v3")
	}
	if p.DefaultAnsibleConfig != nil && len(*p.DefaultAnsibleConfig) > 60 {
		return bad("default_ansible_config is longer than 60 characters")
	}
	if p.SessionTTL != nil {
		if _, err := parseAge(*p.SessionTTL); err != nil {
			return bad("session_ttl: %v", err)
		}
	}
	if p.AdditionalInventoryURL != nil && (len(*p.AdditionalInventoryURL) > 240 || !noSpaceOrSemicolon.MatchString(*p.AdditionalInventoryURL)) {
		return bad("additional_inventory_url must be at most 240 characters without spaces or semicolons")
	}
	if p.AdditionalInventorySource != nil && len(*p.AdditionalInventorySource) > 60 {
		return bad("additional_inventory_source is longer than 60 characters")
	}
	if p.LoggingLevel != nil {
		switch *p.LoggingLevel {
		case "DEBUG", "INFO", "WARNING", "ERROR":
		default:
			return bad("logging_level %q is not one of DEBUG, INFO, WARNING, ERROR", *p.LoggingLevel)
		}
	}
	return nil
}

// maxBatchSize bounds batch_size (CFS has no maximum; the simulator keeps a batch's member
// list in memory).
const maxBatchSize = 100_000

// options renders the current options. Caller holds s.mu.
func (s *Server) options() Options {
	o := s.stored
	o.BatchSize = s.timing.BatchSize
	o.BatchWindow = int(s.timing.BatchWindow / time.Second)
	o.DefaultBatcherRetryPolicy = s.defaultRetry
	o.DefaultPageSize = s.pageSize
	o.BatcherDisable = s.batcherDisabled
	return o
}

func (s *Server) getOptions(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	o := s.options()
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) patchOptions(w http.ResponseWriter, r *http.Request) *problem.Details {
	var p optionsPatch
	if d := problem.DecodeJSON(w, r, &p, s.maxBody); d != nil {
		return d
	}
	if d := p.validate(); d != nil {
		return d
	}
	s.mu.Lock()
	set(&s.stored.HardwareSyncInterval, p.HardwareSyncInterval)
	set(&s.stored.BatcherCheckInterval, p.BatcherCheckInterval)
	set(&s.stored.DefaultAnsibleConfig, p.DefaultAnsibleConfig)
	set(&s.stored.SessionTTL, p.SessionTTL)
	set(&s.stored.AdditionalInventoryURL, p.AdditionalInventoryURL)
	set(&s.stored.AdditionalInventorySource, p.AdditionalInventorySource)
	set(&s.stored.BatcherMaxBackoff, p.BatcherMaxBackoff)
	set(&s.stored.BatcherPendingTimeout, p.BatcherPendingTimeout)
	set(&s.stored.LoggingLevel, p.LoggingLevel)
	set(&s.stored.DebugWaitTime, p.DebugWaitTime)
	set(&s.stored.IncludeAraLinks, p.IncludeAraLinks)
	set(&s.timing.BatchSize, p.BatchSize)
	if p.BatchWindow != nil {
		s.timing.BatchWindow = time.Duration(*p.BatchWindow) * time.Second
	}
	set(&s.defaultRetry, p.DefaultBatcherRetryPolicy)
	set(&s.pageSize, p.DefaultPageSize)
	if p.BatcherDisable != nil && *p.BatcherDisable != s.batcherDisabled {
		s.batcherDisabled = *p.BatcherDisable
		if !s.batcherDisabled { // what waited while the batcher was off joins a batch now
			for _, id := range s.ids {
				s.evaluate(s.comps[id])
			}
		}
	}
	o := s.options()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, o)
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// maxAgeSeconds bounds ages and windows to 100 years, far inside time.Duration.
const maxAgeSeconds = 100 * 365 * 24 * 3600

// parseAge reads a CFS age ("", or a count and one of m, h, d, w in either case, as in
// session_ttl and min_age): "" is zero. Ages over 100 years are refused, not wrapped.
func parseAge(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if len(v) > 10 {
		return 0, fmt.Errorf("%q is longer than 10 characters", v)
	}
	unit := map[byte]int64{'m': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}[v[len(v)-1]|0x20]
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if unit == 0 || err != nil || n < 0 || v[0] == '+' {
		return 0, fmt.Errorf("%q is not a count followed by m, h, d or w (e.g. 24h or 3d)", v)
	}
	if n > maxAgeSeconds/unit {
		return 0, fmt.Errorf("%q is more than 100 years", v)
	}
	return time.Duration(n*unit) * time.Second, nil
}
