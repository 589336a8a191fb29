package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cray-bos/bos/api/bosapi"
	"github.com/cray-bos/bos/api/hsmapi"
	bos "github.com/cray-bos/bos/orchestrator"
	"github.com/cray-bos/bos/orchestrator/crus"
)

// render prints v as indented JSON, or as a table: lists as one row per item with the
// columns that matter for the resource, single records as FIELD VALUE rows (nested fields
// dotted), a plain string as itself.
func render(w io.Writer, format string, v any) error {
	if format == "json" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("render: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if t, ok := tableOf(v); ok {
		return t.write(w)
	}
	if s, ok := v.(string); ok {
		_, err := fmt.Fprintln(w, s)
		return err
	}
	t, err := fieldTable(v)
	if err != nil {
		return err
	}
	return t.write(w)
}

// table is a header and rows, written with aligned columns.
type table struct {
	header []string
	rows   [][]string
	// then are further tables printed after this one, separated by a blank line.
	then []table
}

func (t table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, next := range t.then {
		fmt.Fprintln(w)
		if err := next.write(w); err != nil {
			return err
		}
	}
	return nil
}

// tableOf gives the table of the resources that have their own columns.
func tableOf(v any) (table, bool) {
	switch v := v.(type) {
	case []bos.SessionTemplate:
		t := table{header: templateHeader}
		for _, st := range v {
			t.rows = append(t.rows, templateRow(st))
		}
		return t, true
	case []bos.V1SessionTemplate:
		t := table{header: templateHeader}
		for _, st := range v {
			t.rows = append(t.rows, templateRow(st.V2()))
		}
		return t, true
	case []bos.Session:
		t := table{header: []string{"NAME", "OPERATION", "TEMPLATE", "STATUS", "STAGE", "LIMIT", "NODES", "STARTED", "ENDED", "ERROR"}}
		for _, s := range v {
			t.rows = append(t.rows, []string{s.Name, s.Operation, s.TemplateName, s.Status.Status, strconv.FormatBool(s.Stage),
				dash(clip(s.Limit, 40)), strconv.Itoa(countList(s.Components)), clock(s.Status.StartTime), clockp(s.Status.EndTime), dash(clip(deref(s.Status.Error), 60))})
		}
		return t, true
	case []bos.Component:
		t := table{header: []string{"ID", "ENABLED", "STATUS", "PHASE", "SESSION", "LAST ACTION", "ERROR"}}
		for _, c := range v {
			t.rows = append(t.rows, []string{c.ID, strconv.FormatBool(c.Enabled), dash(c.Status.Status), dash(c.Status.Phase),
				dash(c.Session), dash(c.LastAction.Action), dash(clip(c.Error, 60))})
		}
		return t, true
	case []bos.HistoryEntry:
		t := table{header: []string{"TIME", "KIND", "FROM", "TO", "DETAIL", "SESSION"}}
		for _, e := range v {
			t.rows = append(t.rows, []string{clock(e.Time), e.Kind, dash(clip(e.From, 50)), dash(clip(e.To, 50)), dash(clip(e.Detail, 60)), dash(e.Session)})
		}
		return t, true
	case bos.SessionExtendedStatus:
		pct := func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "%" }
		t := table{rows: [][]string{
			{"status", v.Status},
			{"managed components", strconv.Itoa(v.ManagedComponentsCount)},
			{"successful", pct(v.PercentSuccessful)},
			{"failed", pct(v.PercentFailed)},
			{"staged", pct(v.PercentStaged)},
			{"powering off", pct(v.Phases.PercentPoweringOff)},
			{"powering on", pct(v.Phases.PercentPoweringOn)},
			{"configuring", pct(v.Phases.PercentConfiguring)},
			{"complete", pct(v.Phases.PercentComplete)},
			{"started", clock(v.Timing.StartTime)},
			{"ended", clockp(v.Timing.EndTime)},
			{"duration", v.Timing.Duration},
		}}
		if len(v.ErrorSummary) > 0 {
			errs := table{header: []string{"ERROR", "COUNT", "NODES"}}
			for _, msg := range sortedKeys(v.ErrorSummary) {
				e := v.ErrorSummary[msg]
				errs.rows = append(errs.rows, []string{msg, strconv.Itoa(e.Count), e.List})
			}
			t.then = append(t.then, errs)
		}
		return t, true
	case v1SessionIDs:
		t := table{header: []string{"ID"}}
		for _, id := range v {
			t.rows = append(t.rows, []string{id})
		}
		return t, true
	case bos.V1SessionCreated:
		return table{rows: [][]string{
			{"id", bosapi.V1SessionID(v)},
			{"template", v.TemplateName},
			{"operation", v.Operation},
			{"limit", dash(v.Limit)},
			{"job", v.Job},
		}}, true
	case bos.V1SessionDetails:
		return table{rows: append([][]string{
			{"template", v.TemplateName},
			{"operation", v.Operation},
			{"job", v.Job},
			{"status link", v.StatusLink},
			{"started", clockp(v.StartTime)},
			{"stopped", clockp(v.StopTime)},
			{"in progress", strconv.FormatBool(v.InProgress)},
			{"complete", strconv.FormatBool(v.Complete)},
			{"error count", strconv.Itoa(v.ErrorCount)},
			{"error", dash(v.Error)},
		}, failedRows(v.FailedNodes, v.RetryCommand)...)}, true
	case bos.V1SessionStatus:
		return table{rows: append([][]string{
			{"id", v.ID},
			{"boot sets", strings.Join(v.BootSets, ",")},
			{"started", clockp(v.Metadata.StartTime)},
			{"stopped", clockp(v.Metadata.StopTime)},
			{"in progress", strconv.FormatBool(v.Metadata.InProgress)},
			{"complete", strconv.FormatBool(v.Metadata.Complete)},
			{"error count", strconv.Itoa(v.Metadata.ErrorCount)},
		}, failedRows(v.FailedNodes, v.RetryCommand)...)}, true
	case bos.V1BootSetStatus:
		t := table{header: []string{"PHASE", "CATEGORY", "COUNT", "NODES"}}
		errs := table{header: []string{"PHASE", "ERROR", "COUNT", "NODES"}}
		for _, p := range v.Phases {
			for _, c := range p.Categories {
				t.rows = append(t.rows, []string{p.Name, c.Name, strconv.Itoa(len(c.NodeList)), nodeCell(c.NodeList)})
			}
			for _, msg := range sortedKeys(p.Errors) {
				errs.rows = append(errs.rows, []string{p.Name, msg, strconv.Itoa(len(p.Errors[msg])), nodeCell(p.Errors[msg])})
			}
		}
		if len(errs.rows) > 0 {
			t.then = append(t.then, errs)
		}
		return t, true
	case bos.V1PhaseStatus:
		t := table{header: []string{"CATEGORY", "COUNT", "NODES"}}
		for _, c := range v.Categories {
			t.rows = append(t.rows, []string{c.Name, strconv.Itoa(len(c.NodeList)), nodeCell(c.NodeList)})
		}
		if len(v.Errors) > 0 {
			errs := table{header: []string{"ERROR", "COUNT", "NODES"}}
			for _, msg := range sortedKeys(v.Errors) {
				errs.rows = append(errs.rows, []string{msg, strconv.Itoa(len(v.Errors[msg])), nodeCell(v.Errors[msg])})
			}
			t.then = append(t.then, errs)
		}
		return t, true
	case bos.V1Category:
		t := table{header: []string{v.Name}}
		for _, id := range v.NodeList {
			t.rows = append(t.rows, []string{id})
		}
		return t, true
	case []crus.Session:
		return crusTable(v), true
	case []bos.Rollout:
		return rolloutTable(v), true
	case bos.Rollout:
		return rolloutDescription(v), true
	case []hsmapi.Group:
		return hsmGroupsTable(v), true
	case hsmapi.Group:
		return hsmGroupDescription(v), true
	case hsmapi.Members:
		t := table{header: []string{"ID"}}
		for _, id := range v.IDs {
			t.rows = append(t.rows, []string{id})
		}
		return t, true
	case crus.Session:
		return crusDescription(v), true
	case bosapi.ApplyStagedResponse:
		t := table{header: []string{"RESULT", "COUNT", "XNAMES"}}
		for _, r := range []struct {
			name string
			ids  []string
		}{{"succeeded", v.Succeeded}, {"failed", v.Failed}, {"ignored", v.Ignored}} {
			t.rows = append(t.rows, []string{r.name, strconv.Itoa(len(r.ids)), dash(strings.Join(r.ids, ","))})
		}
		return t, true
	}
	return table{}, false
}

// fieldTable shows one record as FIELD VALUE rows, nested fields dotted, in key order.
func fieldTable(v any) (table, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return table{}, fmt.Errorf("render: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return table{}, fmt.Errorf("render: %w", err)
	}
	t := table{header: []string{"FIELD", "VALUE"}}
	flatten("", doc, func(k, val string) { t.rows = append(t.rows, []string{k, val}) })
	return t, nil
}

// flatten calls emit for every scalar under v; arrays of scalars become one
// comma-separated value, other arrays are indexed (links[0].rel).
func flatten(prefix string, v any, emit func(k, v string)) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 && prefix != "" {
			emit(prefix, "{}")
		}
		for _, k := range sortedKeys(v) {
			flatten(join(k), v[k], emit)
		}
	case []any:
		scalars := make([]string, 0, len(v))
		for _, item := range v {
			switch item.(type) {
			case map[string]any, []any:
				for i, item := range v {
					flatten(fmt.Sprintf("%s[%d]", prefix, i), item, emit)
				}
				return
			}
			scalars = append(scalars, scalar(item))
		}
		emit(prefix, strings.Join(scalars, ","))
	default:
		emit(prefix, scalar(v))
	}
}

func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if v == "" {
			return `""`
		}
		return v
	default:
		return fmt.Sprint(v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var templateHeader = []string{"NAME", "TENANT", "BOOT SETS", "NODES", "CFS", "DESCRIPTION"}

func templateRow(st bos.SessionTemplate) []string {
	return []string{st.Name, dash(st.Tenant), strings.Join(sortedKeys(st.BootSets), ","), templateNodes(st), templateCFS(st), dash(st.Description)}
}

// failedRows are the rows that end a v1 session's view: which nodes failed and the
// command that retries just them.
func failedRows(failed []string, retry string) [][]string {
	return [][]string{
		{"failed nodes", strconv.Itoa(len(failed))},
		{"failed", dash(strings.Join(failed, ","))},
		{"retry with", dash(retry)},
	}
}

// nodeCell is a node list in a table cell, shortened for big sessions (--format json has
// them all).
func nodeCell(ids []string) string {
	return dash(clip(strings.Join(ids, ","), 100))
}

// templateNodes summarises the nodes of a template's boot sets: explicit node counts,
// roles and groups.
func templateNodes(t bos.SessionTemplate) string {
	var parts []string
	for _, name := range sortedKeys(t.BootSets) {
		bs := t.BootSets[name]
		var p []string
		if n := len(bs.NodeList); n > 0 {
			p = append(p, fmt.Sprintf("%d listed", n))
		}
		if len(bs.NodeRolesGroups) > 0 {
			p = append(p, "roles "+strings.Join(bs.NodeRolesGroups, ","))
		}
		if len(bs.NodeGroups) > 0 {
			p = append(p, "groups "+strings.Join(bs.NodeGroups, ","))
		}
		parts = append(parts, strings.Join(p, " + "))
	}
	return dash(strings.Join(parts, "; "))
}

func templateCFS(t bos.SessionTemplate) string {
	switch {
	case !t.EnableCFS:
		return "disabled"
	case t.CFS != nil:
		return t.CFS.Configuration
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clip shortens s to n characters for a table cell.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

func countList(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, ",") + 1
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func clockp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return clock(*t)
}
