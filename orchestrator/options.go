package orchestrator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cray-bos/bos/internal/problem"
)

// Options are BOS's 20 global options (reference 3) and one of ours,
// reject_overlapping_sessions. They live in the store and are read afresh by every API
// request and every reconciler pass, so a PATCH takes effect at once.
type Options struct {
	BSSReadTimeout             int    `json:"bss_read_timeout"`              // seconds, 10–86400, default 20
	CFSReadTimeout             int    `json:"cfs_read_timeout"`              // seconds, 10–86400, default 20
	HSMReadTimeout             int    `json:"hsm_read_timeout"`              // seconds, 10–86400, default 20
	IMSReadTimeout             int    `json:"ims_read_timeout"`              // seconds, 10–86400, default 20
	PCSReadTimeout             int    `json:"pcs_read_timeout"`              // seconds, 10–86400, default 20
	CleanupCompletedSessionTTL string `json:"cleanup_completed_session_ttl"` // age string, default "7d"; 0 disables
	ClearStage                 bool   `json:"clear_stage"`                   // applystaged clears staged_state; default false
	ComponentActualStateTTL    string `json:"component_actual_state_ttl"`    // ≥ 1h ("4h" default); also bos_update_frequency
	DefaultRetryPolicy         int    `json:"default_retry_policy"`          // attempts per power action, 0–1048576, default 3
	DiscoveryFrequency         int    `json:"discovery_frequency"`           // seconds, 0–33554432, default 300
	IMSErrorsFatal             bool   `json:"ims_errors_fatal"`              // IMS failures fail boot-set checks; default false
	IMSImagesMustExist         bool   `json:"ims_images_must_exist"`         // a missing IMS image is an error; default false
	LoggingLevel               string `json:"logging_level"`                 // DEBUG/INFO/WARNING/ERROR/CRITICAL, default INFO
	MaxBootWaitTime            int    `json:"max_boot_wait_time"`            // seconds, 0–1048576, default 1200
	MaxComponentBatchSize      int    `json:"max_component_batch_size"`      // 0–131071 (0 = unlimited), default 2800
	MaxPowerOffWaitTime        int    `json:"max_power_off_wait_time"`       // seconds, 0–1048576, default 300
	MaxPowerOnWaitTime         int    `json:"max_power_on_wait_time"`        // seconds, 0–1048576, default 120
	PollingFrequency           int    `json:"polling_frequency"`             // seconds, 0–1048576, default 15
	RejectNIDs                 bool   `json:"reject_nids"`                   // reject NID-like limits and node lists; default false
	RejectOverlappingSessions  string `json:"reject_overlapping_sessions"`   // ours: none, v1 (default) or all; see RejectsOverlap
	SessionLimitRequired       bool   `json:"session_limit_required"`        // a session needs a limit; default false
}

// DefaultOptions returns the defaults of reference 3.
func DefaultOptions() Options {
	return Options{
		BSSReadTimeout: 20, CFSReadTimeout: 20, HSMReadTimeout: 20, IMSReadTimeout: 20, PCSReadTimeout: 20,
		CleanupCompletedSessionTTL: "7d",
		ComponentActualStateTTL:    "4h",
		DefaultRetryPolicy:         3,
		DiscoveryFrequency:         300,
		LoggingLevel:               "INFO",
		MaxBootWaitTime:            1200,
		MaxComponentBatchSize:      2800,
		MaxPowerOffWaitTime:        300,
		MaxPowerOnWaitTime:         120,
		PollingFrequency:           15,
		RejectOverlappingSessions:  RejectOverlapV1,
	}
}

// Values of reject_overlapping_sessions: which APIs refuse a new session whose nodes are
// held by an unfinished session (409) instead of letting it take them over.
const (
	RejectOverlapNone = "none" // v1 and v2 take over, as in BOS
	RejectOverlapV1   = "v1"   // v1 refuses (our protection of old), v2 takes over as in BOS
	RejectOverlapAll  = "all"  // v1 and v2 refuse
)

var rejectOverlapValues = []string{RejectOverlapNone, RejectOverlapV1, RejectOverlapAll}

// RejectsOverlap reports whether a new session of api ("v1" or "v2") that overlaps an
// unfinished session is refused rather than taking the shared nodes over.
func (o Options) RejectsOverlap(api string) bool {
	switch o.RejectOverlappingSessions {
	case RejectOverlapAll:
		return true
	case RejectOverlapV1:
		return api == "v1"
	}
	return false
}

// optionRange is the allowed range of each integer option.
var optionRange = map[string][2]int{
	"bss_read_timeout": {10, 86400}, "cfs_read_timeout": {10, 86400}, "hsm_read_timeout": {10, 86400},
	"ims_read_timeout": {10, 86400}, "pcs_read_timeout": {10, 86400},
	"default_retry_policy": {0, 1048576}, "discovery_frequency": {0, 33554432},
	"max_boot_wait_time": {0, 1048576}, "max_component_batch_size": {0, 131071},
	"max_power_off_wait_time": {0, 1048576}, "max_power_on_wait_time": {0, 1048576},
	"polling_frequency": {0, 1048576},
}

var logLevels = []string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}

// LogLevel is the slog level logging_level names (any case; CRITICAL is above ERROR, as in
// Python's logging). An unknown name is INFO, the default.
func (o Options) LogLevel() slog.Level {
	switch strings.ToUpper(o.LoggingLevel) {
	case "DEBUG":
		return slog.LevelDebug
	case "WARNING":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	case "CRITICAL":
		return slog.LevelError + 4
	}
	return slog.LevelInfo
}

// OptionNames lists the 21 option keys in alphabetical order.
func OptionNames() []string {
	t := reflect.TypeOf(Options{})
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = jsonName(t.Field(i))
	}
	sort.Strings(names)
	return names
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// Validate checks every option; the error names each bad key.
func (o Options) Validate() error {
	var v checker
	for name, err := range o.fieldErrors() {
		v.addf(name, "%s", err)
	}
	sort.Strings(v.errs)
	return v.err("invalid options")
}

// fieldErrors maps each invalid option to its problem.
func (o Options) fieldErrors() map[string]string {
	errs := map[string]string{}
	rv := reflect.ValueOf(o)
	for i := 0; i < rv.NumField(); i++ {
		name := jsonName(rv.Type().Field(i))
		if r, ok := optionRange[name]; ok {
			if n := int(rv.Field(i).Int()); n < r[0] || n > r[1] {
				errs[name] = fmt.Sprintf("must be between %d and %d (got %d)", r[0], r[1], n)
			}
		}
	}
	if s := o.CleanupCompletedSessionTTL; !agePattern.MatchString(s) || len(s) > 8 {
		errs["cleanup_completed_session_ttl"] = fmt.Sprintf("%q is not an age such as 0, 30m, 12h, 7d or 2w (at most 8 characters)", s)
	} else if _, err := ParseAge(s); err != nil {
		errs["cleanup_completed_session_ttl"] = ErrorMessage(err)
	}
	if !ttlPattern.MatchString(o.ComponentActualStateTTL) {
		errs["component_actual_state_ttl"] = fmt.Sprintf("%q is not a duration of at least one hour such as 4h, 2d or 1w", o.ComponentActualStateTTL)
	} else if _, err := ParseAge(o.ComponentActualStateTTL); err != nil {
		errs["component_actual_state_ttl"] = ErrorMessage(err)
	}
	if !slices.Contains(logLevels, strings.ToUpper(o.LoggingLevel)) {
		errs["logging_level"] = fmt.Sprintf("%q is not one of %s (any case)", o.LoggingLevel, quoteList(logLevels))
	}
	if !slices.Contains(rejectOverlapValues, o.RejectOverlappingSessions) {
		errs["reject_overlapping_sessions"] = fmt.Sprintf("%q is not one of %s", o.RejectOverlappingSessions, quoteList(rejectOverlapValues))
	}
	return errs
}

// Sanitize replaces every invalid option with its default, as BOS does with values stored
// by older versions (for example a component_actual_state_ttl below one hour).
func (o Options) Sanitize() Options {
	bad := o.fieldErrors()
	if len(bad) == 0 {
		return o
	}
	def := reflect.ValueOf(DefaultOptions())
	rv := reflect.ValueOf(&o).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if _, ok := bad[jsonName(rv.Type().Field(i))]; ok {
			rv.Field(i).Set(def.Field(i))
		}
	}
	return o
}

// DecodeStoredOptions reads options as stored: missing keys take their defaults, unknown
// keys are dropped and invalid values fall back to the default (reference 1.9).
func DecodeStoredOptions(raw []byte) (Options, error) {
	o := DefaultOptions()
	if len(raw) == 0 {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return DefaultOptions(), fmt.Errorf("decode stored options: %w", err)
	}
	return o.Sanitize(), nil
}

// Patch merges a PATCH body into o: at least one key, each known option's value of the
// right type, and the result valid. Unknown keys are ignored here, as BOS's schema allows
// them (see UnknownOptions). On error o is unchanged.
func (o *Options) Patch(body []byte) error {
	keys, err := optionKeys(body)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return Errorf(EINVALID, "options patch must name at least one option")
	}
	known := OptionNames()
	for k := range keys {
		if !slices.Contains(known, k) {
			delete(keys, k)
		}
	}
	if body, err = json.Marshal(keys); err != nil {
		return err
	}
	next := *o
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Errorf(EINVALID, "option %s", strings.TrimPrefix(problem.TypeMessage(te), "field "))
		}
		return Errorf(EINVALID, "invalid options: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := next.Validate(); err != nil {
		return err
	}
	*o = next
	return nil
}

// UnknownOptions returns the keys of a PATCH body that name no option. BOS stores them and
// echoes them in the PATCH answer; its GET drops them, so we only echo them.
func UnknownOptions(body []byte) map[string]json.RawMessage {
	keys, err := optionKeys(body)
	if err != nil {
		return nil
	}
	known := OptionNames()
	for k := range keys {
		if slices.Contains(known, k) {
			delete(keys, k)
		}
	}
	return keys
}

// optionKeys splits a PATCH body into its keys.
func optionKeys(body []byte) (map[string]json.RawMessage, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, Errorf(EINVALID, "options must be a JSON object, not %s", te.Value)
		}
		return nil, Errorf(EINVALID, "options must be a JSON object: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return keys, nil
}

// Durations for the reconciler.

// PollingInterval is polling_frequency as a duration.
func (o Options) PollingInterval() time.Duration {
	return time.Duration(o.PollingFrequency) * time.Second
}

// DiscoveryInterval is discovery_frequency as a duration.
func (o Options) DiscoveryInterval() time.Duration {
	return time.Duration(o.DiscoveryFrequency) * time.Second
}

// ActualStateTTL is component_actual_state_ttl as a duration (the default if invalid).
func (o Options) ActualStateTTL() time.Duration {
	d, err := ParseAge(o.ComponentActualStateTTL)
	if err != nil || d < time.Hour {
		d, _ = ParseAge(DefaultOptions().ComponentActualStateTTL)
	}
	return d
}

// CleanupTTL is cleanup_completed_session_ttl as a duration; 0 means never clean up.
func (o Options) CleanupTTL() time.Duration {
	d, err := ParseAge(o.CleanupCompletedSessionTTL)
	if err != nil {
		d, _ = ParseAge(DefaultOptions().CleanupCompletedSessionTTL)
	}
	return d
}

// ParseAge parses a BOS age string: 0, or a number followed by m, h, d or w (any case).
// An age beyond MaxAge (about 292 years, where a duration would overflow) is EINVALID.
func ParseAge(s string) (time.Duration, error) {
	if !agePattern.MatchString(s) && !ttlPattern.MatchString(s) {
		return 0, Errorf(EINVALID, "%q is not an age such as 0, 30m, 12h, 7d or 2w", s)
	}
	if s == "0" {
		return 0, nil
	}
	unit := ageUnits[strings.ToLower(s[len(s)-1:])]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n > int64(MaxAge/unit) {
		return 0, Errorf(EINVALID, "%q is out of range: an age can be at most %dw (about 292 years)", s, MaxAge/ageUnits["w"])
	}
	return time.Duration(n) * unit, nil
}

// MaxAge is the longest age ParseAge accepts: the longest time.Duration.
const MaxAge = time.Duration(math.MaxInt64)

// ageUnits are the units of an age string (matched in any case).
var ageUnits = map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
