package orchestrator

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Shared schema constraints (reference 2.1).
var (
	// NamePattern is the pattern of template, session and boot-set names (1–127 characters).
	NamePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[-._a-zA-Z0-9]{0,125}[a-zA-Z0-9])?$`)
	// agePattern is BOS's AgeString: minutes, hours, days or weeks, any case.
	agePattern = regexp.MustCompile(`^(0|0[mMhHdDwW]|[1-9][0-9]*[mMhHdDwW])$`)
	// ttlPattern is component_actual_state_ttl since 2.50: at least one hour.
	ttlPattern = regexp.MustCompile(`^[1-9][0-9]*[hHdDwW]$`)
)

// Length limits shared by several records.
const (
	MaxNameLen   = 127
	MaxTenantLen = 127
	MaxIDLen     = 127
	MaxLimitLen  = 524288
	maxCount     = 1048576 // event_stats counters and retry_policy
)

// checker collects schema violations as "field: problem" lines so that one 400 lists
// everything wrong with a body, not just the first thing.
type checker struct{ errs []string }

func (v *checker) addf(field, format string, args ...any) {
	v.errs = append(v.errs, field+": "+fmt.Sprintf(format, args...))
}

// length checks a string's length in characters.
func (v *checker) length(field, s string, min, max int) {
	// A string has no more characters than bytes: most need no count (counting the kernel
	// parameters of every component write was 1% of BOS's CPU in a 10,000-node boot).
	if len(s) <= max && (min == 0 || min == 1 && s != "") {
		return
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && min == 1:
		v.addf(field, "must not be empty")
	case n < min:
		v.addf(field, "must be at least %d characters", min)
	case n > max:
		v.addf(field, "must be at most %d characters (got %d)", max, n)
	}
}

// name checks a template, session or boot-set name.
func (v *checker) name(field, s string) {
	if !validName(s) {
		v.addf(field, "%q must be 1-127 characters of letters, digits, '-', '.' and '_', starting and ending with a letter or digit", s)
	}
}

// validName reports whether s matches NamePattern, without the regular expression: every
// component write checks its session's name, and the match was 1% of BOS's CPU in a
// 10,000-node boot.
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

func (v *checker) intRange(field string, n, min, max int) {
	if n < min || n > max {
		v.addf(field, "must be between %d and %d (got %d)", min, max, n)
	}
}

func (v *checker) oneOf(field, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.addf(field, "%q is not one of %s", s, quoteList(allowed))
	}
}

func (v *checker) items(field string, list []string, min, max, itemMax int) {
	if len(list) < min || len(list) > max {
		v.addf(field, "must have between %d and %d items (got %d)", min, max, len(list))
	}
	for i, s := range list {
		v.length(fmt.Sprintf("%s[%d]", field, i), s, 1, itemMax)
	}
}

// err returns nil or an EINVALID error listing every violation.
func (v *checker) err(prefix string) error {
	if len(v.errs) == 0 {
		return nil
	}
	msg := strings.Join(v.errs, "; ")
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	return &Error{Code: EINVALID, Message: msg}
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// ValidateName checks a template or session name, as used in paths and bodies.
func ValidateName(kind, name string) error {
	var v checker
	v.name(kind, name)
	return v.err("")
}

// ValidateTenant checks the length of a tenant name (the registry decides whether it exists).
func ValidateTenant(name string) error {
	var v checker
	v.length("Cray-Tenant-Name", name, 0, MaxTenantLen)
	return v.err("")
}

// ValidateComponentID checks a component id (an xname, 1–127 characters; BOS does not
// insist on xname syntax). Only printable ASCII without white space or commas is allowed:
// ids are written into logs, comma-separated filters and kernel parameters.
func ValidateComponentID(id string) error {
	var v checker
	v.length("id", id, 1, MaxIDLen)
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == ',' {
			v.addf("id", "%q has a character that is not allowed at byte %d: ids are printable ASCII without white space or commas", id, i)
			break
		}
	}
	return v.err("")
}
