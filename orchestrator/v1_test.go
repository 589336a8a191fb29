package orchestrator

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestV1Phases(t *testing.T) {
	assert.Equal(t, []string{"shutdown"}, V1Phases("shutdown"))
	assert.Equal(t, []string{"boot", "configure"}, V1Phases("boot"))
	assert.Equal(t, []string{"shutdown", "boot", "configure"}, V1Phases("reboot"))
	assert.Equal(t, []string{"configure"}, V1Phases("configure"))
	assert.Nil(t, V1Phases("Boot"), "callers lower-case first")
}

func TestV1SessionCreateValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      V1SessionCreate
		wantErr string
		want    string // TemplateName after Validate
	}{
		{"OK", V1SessionCreate{Operation: "boot", TemplateName: "t"}, "", "t"},
		{"AnyCase", V1SessionCreate{Operation: "ReBoot", TemplateName: "t"}, "", "t"},
		{"Configure", V1SessionCreate{Operation: "configure", TemplateName: "t"}, "", "t"},
		{"UUIDAlias", V1SessionCreate{Operation: "shutdown", TemplateUUID: "u"}, "", "u"},
		{"NameWinsOverUUID", V1SessionCreate{Operation: "shutdown", TemplateName: "n", TemplateUUID: "u"}, "", "n"},
		{"NoOperation", V1SessionCreate{TemplateName: "t"}, "operation: is required", ""},
		{"BadOperation", V1SessionCreate{Operation: "explode", TemplateName: "t"}, `"explode" is not one of`, ""},
		{"NoTemplate", V1SessionCreate{Operation: "boot"}, "templateName: is required", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, EINVALID, ErrorCode(err))
				assert.Contains(t, ErrorMessage(err), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, tc.in.TemplateName)
			assert.Empty(t, tc.in.TemplateUUID, "the alias is never stored")
		})
	}
}

func twoBootSets() V1SessionTemplate {
	return V1SessionTemplate{Name: "t", BootSets: map[string]V1BootSet{
		"b": {Path: "p", Type: "s3", NodeList: []string{"x1c0s0b0n0"}},
		"a": {Path: "p", Type: "s3", NodeList: []string{"x1c0s0b0n1"}},
	}}
}

func TestNewV1SessionAndMetadata(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := NewV1Session("id1", V1SessionCreate{Operation: "Reboot", TemplateName: "t", Limit: "x"}, twoBootSets(), t0)
	assert.Equal(t, "boa-id1", s.Job)
	assert.Equal(t, V1Pending, s.State)
	assert.Equal(t, "reboot", s.Op())
	assert.Equal(t, []string{"a", "b"}, s.Status.BootSets, "boot sets named at creation, sorted")
	assert.Equal(t, []V1Link{{Rel: "self", Href: "/v1/session/id1/status"},
		{Rel: "Boot Set", Href: "/v1/session/id1/status/a"}, {Rel: "Boot Set", Href: "/v1/session/id1/status/b"}}, s.Status.Links)
	a := s.BootSet("a")
	require.NotNil(t, a)
	require.Len(t, a.Phases, 3)
	assert.Equal(t, "/v1/session/id1/status/a/configure", a.Links[3].Href)
	assert.Nil(t, s.BootSet("zz"))
	assert.NotNil(t, a.Phase("BOOT"), "phase names match in any case")

	// The agent resolves nodes: a has n1, n2; b has n3.
	s.BootSets[0].Phases = []V1PhaseStatus{NewV1Phase("shutdown", []string{"n2", "n1"}), NewV1Phase("boot", []string{"n1", "n2"}), NewV1Phase("configure", []string{"n1", "n2"})}
	s.BootSets[1].Phases = []V1PhaseStatus{NewV1Phase("shutdown", []string{"n3"}), NewV1Phase("boot", []string{"n3"}), NewV1Phase("configure", []string{"n3"})}
	s.ComputeMetadata()
	assert.Equal(t, []string{"n1", "n2"}, s.BootSets[0].Phases[0].Nodes(CategoryNotStarted))
	assert.True(t, s.Status.Metadata.InProgress)
	assert.False(t, s.Status.Metadata.Complete)
	assert.False(t, s.BootSets[0].Metadata.InProgress)

	sd := &s.BootSets[0].Phases[0]
	sd.MoveNodes(CategoryInProgress, []string{"n1", "n2"})
	s.ComputeMetadata()
	assert.True(t, sd.Metadata.InProgress)
	assert.True(t, s.BootSets[0].Metadata.InProgress)

	sd.MoveNodes(CategorySucceeded, []string{"n1"})
	sd.MoveNodes(CategoryFailed, []string{"n2"})
	sd.AddError("power off failed", []string{"n2"})
	sd.AddError("power off failed", []string{"n2", "n9"})
	s.BootSets[0].Phases[1].MoveNodes(CategoryExcluded, []string{"n2"})
	s.ComputeMetadata()
	assert.True(t, sd.Metadata.Complete)
	assert.Equal(t, 1, sd.Metadata.ErrorCount)
	assert.Equal(t, map[string][]string{"power off failed": {"n2", "n9"}}, sd.Errors)
	assert.Equal(t, []string{"n2"}, s.BootSets[0].Phases[1].Nodes(CategoryExcluded))
	assert.Equal(t, []string{"n1"}, s.BootSets[0].Phases[1].Nodes(CategoryNotStarted))
	assert.Equal(t, 1, s.Status.Metadata.ErrorCount, "the session sums its boot sets")
	assert.Empty(t, s.Status.RetryCommand, "no retry hint before the session stops")

	stop := t0.Add(time.Minute)
	s.Status.Metadata.StopTime = &stop
	s.BootSets[1].Phases[2].MoveNodes(CategoryFailed, []string{"n3"})
	s.ComputeMetadata()
	assert.True(t, s.Status.Metadata.Complete)
	assert.False(t, s.Status.Metadata.InProgress)
	assert.Equal(t, 2, s.Status.Metadata.ErrorCount)
	assert.Equal(t, []string{"n2", "n3"}, s.Status.FailedNodes)
	assert.Equal(t, "bos v1 session create --template-name t --operation reboot --limit n2,n3", s.Status.RetryCommand)

	d := s.Details()
	assert.Equal(t, "Reboot", d.Operation, "the operation is echoed as submitted")
	assert.Equal(t, "/v1/session/id1/status", d.StatusLink)
	assert.True(t, d.Complete)
	assert.Equal(t, 2, d.ErrorCount)
	assert.Equal(t, s.Status.RetryCommand, d.RetryCommand)

	raw, err := json.Marshal(s.BootSets[0].Phases[2])
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"errors"`, "no errors map until one is recorded")
	assert.NotContains(t, string(raw), `"stop_time"`)
}

func TestV1RetryCommandQuotes(t *testing.T) {
	assert.Equal(t, "", V1RetryCommand("t", "boot", nil))
	assert.Equal(t, `bos v1 session create --template-name 'it'\''s' --operation shutdown --limit a`, V1RetryCommand("it's", "shutdown", []string{"a"}))
	assert.Equal(t, "bos v1 session create --template-name t --operation reboot --limit a,b", V1RetryCommand("t", "boot", []string{"a", "b"}),
		"a boot is retried as a reboot")
	assert.Equal(t, "bos v1 session create --template-name t --operation configure --limit a", V1RetryCommand("t", "configure", []string{"a"}))
}

func TestDecodeAndValidateV1Template(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantErr, title string
	}{
		{"OK", `{"name":"t","boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1"],"boot_ordinal":1,"network":"NMN"}}}`, "", ""},
		{"UnknownField", `{"name":"t","colour":"red"}`, "unknown field", "Bad Request"},
		{"WrongType", `{"name":"t","enable_cfs":"yes"}`, "must be a JSON boolean, not string", "Bad Request"},
		{"V2Arch", `{"name":"t","boot_sets":{"a":{"path":"p","type":"s3","arch":"X86"}}}`, "boot_sets.a.arch", "Bad Request"},
		{"V2CFS", `{"name":"t","boot_sets":{"a":{"path":"p","type":"s3","cfs":{"configuration":"c"}}}}`, "boot_sets.a.cfs", "Bad Request"},
		{"Trailing", `{"name":"t"} {}`, "more than one JSON value", "Bad Request"},
		{"NoName", `{"boot_sets":{}}`, "name: must not be empty", "The session template could not be created."},
		{"NoPath", `{"name":"t","boot_sets":{"a":{"type":"s3"}}}`, "boot_sets.a.path: must not be empty", "The session template could not be created."},
		{"BadNetwork", `{"name":"t","boot_sets":{"a":{"path":"p","type":"s3","network":"hsn"}}}`, "must be nmn", "The session template could not be created."},
		{"NegativeOrdinal", `{"name":"t","boot_sets":{"a":{"path":"p","type":"s3","shutdown_ordinal":-1}}}`, "shutdown_ordinal: must not be negative", "The session template could not be created."},
		{"EmptyList", `{"name":"t","boot_sets":{"a":{"path":"p","type":"s3","node_groups":[]}}}`, "node_groups: must have at least 1 item", "The session template could not be created."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := DecodeV1Template([]byte(tc.body))
			if err == nil {
				err = tm.ValidateV1()
			}
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, EINVALID, ErrorCode(err))
			assert.Contains(t, ErrorMessage(err), tc.wantErr)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.title, e.Title)
		})
	}
}

func TestV1StoredForm(t *testing.T) {
	body := `{"name":"t","cfs_url":"u","cfs_branch":"b","partition":"p1","enable_cfs":true,
		"cfs":{"configuration":"c","clone_url":"git","branch":"main"},
		"boot_sets":{"a":{"name":"a","path":"p","type":"s3","network":"nmn","boot_ordinal":2,"shutdown_ordinal":0,
			"node_list":["X1000C0S0B0N00"],"rootfs_provider":"cpss3"}}}`
	in, err := DecodeV1Template([]byte(body))
	require.NoError(t, err)
	require.NoError(t, in.ValidateV1())
	assert.True(t, in.Legacy())
	stored, _, err := in.StoredForm(DefaultOptions())
	require.NoError(t, err)
	assert.False(t, stored.Legacy(), "nothing to migrate in the stored form")
	raw, err := json.Marshal(stored)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"t","enable_cfs":true,"cfs":{"configuration":"c"},"partition":"p1",
		"boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1000c0s0b0n0"],"rootfs_provider":"cpss3",
			"boot_ordinal":2,"shutdown_ordinal":0,"arch":"X86"}}}`, string(raw))

	var v2 SessionTemplate
	require.NoError(t, json.Unmarshal(raw, &v2), "a v2 read of the stored form works")
	assert.Equal(t, "c", v2.CFS.Configuration)
	assert.Equal(t, "c", stored.Configuration())
	f := false
	stored.EnableCFS = &f
	assert.Empty(t, stored.Configuration())

	noBootSets := V1SessionTemplate{Name: "t"}
	_, _, err = noBootSets.StoredForm(DefaultOptions())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "The session template could not be created as a v2 template.", e.Title)
}

func TestMigrateV1Template(t *testing.T) {
	o := DefaultOptions()
	legacy := []byte(`{"name":"old","cfs_url":"u","cfs_branch":"b","templateUrl":"http://x","partition":"p1","enable_cfs":true,
		"cfs":{"configuration":"c","clone_url":"git"},"boot_sets":{"a":{"path":"p","type":"s3","network":"nmn","boot_ordinal":1,"node_list":["x1c0s0b0n0"]}}}`)
	conv, dep, err := MigrateV1Template("old", legacy, o)
	require.NoError(t, err)
	require.NotNil(t, conv)
	assert.JSONEq(t, `{"name":"old","enable_cfs":true,"cfs":{"configuration":"c"},"partition":"p1",
		"boot_sets":{"a":{"path":"p","type":"s3","node_list":["x1c0s0b0n0"],"boot_ordinal":1,"arch":"X86"}}}`, string(conv))
	var orig, kept map[string]any
	require.NoError(t, json.Unmarshal(legacy, &orig))
	require.NoError(t, json.Unmarshal(dep, &kept))
	orig["name"] = "old_v1_deprecated"
	assert.Equal(t, orig, kept, "the deprecated copy is the untouched original, renamed")

	again, _, err := MigrateV1Template("old", conv, o)
	require.NoError(t, err)
	assert.Nil(t, again, "converting twice changes nothing")
	skip, _, err := MigrateV1Template("old_v1_deprecated", dep, o)
	require.NoError(t, err)
	assert.Nil(t, skip, "deprecated copies are left as they are")

	v2, err := json.Marshal(SessionTemplate{Name: "v", EnableCFS: true, BootSets: map[string]BootSet{"a": {Path: "p", Type: "s3", NodeList: []string{"x1"}, Arch: "X86"}}})
	require.NoError(t, err)
	none, _, err := MigrateV1Template("v", v2, o)
	require.NoError(t, err)
	assert.Nil(t, none, "a v2 template is left alone")

	_, _, err = MigrateV1Template("broken", []byte(`{"name":"broken","cfs_url":"u","boot_sets":{}}`), o)
	assert.ErrorContains(t, err, "boot_sets")
	_, _, err = MigrateV1Template("junk", []byte(`[1,2]`), o)
	assert.ErrorContains(t, err, "not a template")
}

func TestOverlaps(t *testing.T) {
	holders := []SessionHolder{
		{API: "v2", Session: "a", State: "running", Nodes: []string{"n1", "n2", "n3"}},
		{API: "v1", Session: "b", State: "pending", Nodes: []string{"n9"}},
		{API: "v2", Tenant: "blue", Session: "c", State: "running", Nodes: []string{"n3", "n4"}},
	}
	got := Overlaps([]string{"n4", "n3", "n0"}, holders)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].Session)
	assert.Equal(t, []string{"n3"}, got[0].Shared)
	assert.Equal(t, []string{"n3", "n4"}, got[1].Shared)
	assert.Empty(t, Overlaps([]string{"n5"}, holders))

	err := OverlapError(got)
	assert.Equal(t, ECONFLICT, ErrorCode(err))
	msg := ErrorMessage(err)
	assert.Contains(t, msg, "v2 session a (running) holds 1 of them: n3")
	assert.Contains(t, msg, "v2 session blue/c (running) holds 2 of them: n3,n4")
	assert.Contains(t, msg, "takeover=true")

	var many []string
	for i := 0; i < 25; i++ {
		many = append(many, string(rune('a'+i)))
	}
	msg = ErrorMessage(OverlapError(Overlaps(many, []SessionHolder{{API: "v1", Session: "x", Nodes: many}})))
	assert.Contains(t, msg, "holds 25 of them: a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,...")
}

func TestDecideOverlap(t *testing.T) {
	conflicts := []SessionConflict{
		{SessionHolder: SessionHolder{API: "v2", Tenant: "blue", Session: "a", State: "running", Nodes: []string{"n1", "n2"}}, Shared: []string{"n2"}},
		{SessionHolder: SessionHolder{API: "v1", Session: "b", State: "pending", Nodes: []string{"n3"}}, Shared: []string{"n3"}},
	}
	tests := []struct {
		name      string
		conflicts []SessionConflict
		reject    bool
		took      []SessionTakeover
		code      string
	}{
		{"NoConflictTakes", nil, false, nil, ""},
		{"NoConflictRejects", nil, true, nil, ""},
		{"TakesOver", conflicts, false, []SessionTakeover{
			{API: "v2", Tenant: "blue", Session: "a", Nodes: []string{"n2"}},
			{API: "v1", Session: "b", Nodes: []string{"n3"}},
		}, ""},
		{"Rejects", conflicts, true, nil, ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			took, err := DecideOverlap(tt.conflicts, tt.reject)
			assert.Equal(t, tt.took, took)
			if tt.code == "" {
				assert.NoError(t, err)
				return
			}
			assert.Equal(t, tt.code, ErrorCode(err))
			assert.Contains(t, ErrorMessage(err), "v2 session blue/a (running) holds 1 of them: n2")
		})
	}
}
