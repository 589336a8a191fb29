package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/cray-bos/bos/internal/problem"
	"github.com/cray-bos/bos/internal/xname"
)

// Boot-set architectures.
const (
	ArchX86     = "X86"
	ArchARM     = "ARM"
	ArchOther   = "Other"
	ArchUnknown = "Unknown"
)

// CFS names a CFS configuration.
type CFS struct {
	Configuration string `json:"configuration"`
}

// Link is an unused (read-only) template link, kept for schema compatibility.
type Link struct {
	Href string `json:"href,omitempty"`
	Rel  string `json:"rel,omitempty"`
}

// BootSet says what a set of nodes boots (reference 2.2). Name is write-only: it must
// equal the map key and is dropped before storing.
type BootSet struct {
	Name                      string   `json:"name,omitempty"`
	Path                      string   `json:"path"`
	Type                      string   `json:"type"`
	Etag                      string   `json:"etag,omitempty"`
	KernelParameters          string   `json:"kernel_parameters,omitempty"`
	NodeList                  []string `json:"node_list,omitempty"`
	NodeRolesGroups           []string `json:"node_roles_groups,omitempty"`
	NodeGroups                []string `json:"node_groups,omitempty"`
	Arch                      string   `json:"arch,omitempty"`
	RootfsProvider            string   `json:"rootfs_provider,omitempty"`
	RootfsProviderPassthrough string   `json:"rootfs_provider_passthrough,omitempty"`
	CFS                       *CFS     `json:"cfs,omitempty"`
}

// SessionTemplate is a reusable set of boot sets plus a CFS configuration. Name and
// Tenant are read-only: set from the path and the Cray-Tenant-Name header.
type SessionTemplate struct {
	Name        string             `json:"name,omitempty"`
	Tenant      string             `json:"tenant,omitempty"`
	Description string             `json:"description,omitempty"`
	EnableCFS   bool               `json:"enable_cfs"`
	CFS         *CFS               `json:"cfs,omitempty"`
	BootSets    map[string]BootSet `json:"boot_sets"`
	Links       []Link             `json:"links,omitempty"`
}

// CheckTemplateBody refuses what BOS's request schema refuses before any merge: the
// read-only name, tenant and links, an empty description, and, in a PATCH (patch true), a
// boot set without path or type (BOS replaces a patched boot set whole after validating it
// against the full boot-set schema). A body that is not a JSON object passes: the decoder
// reports it. Every problem is named, in key order.
func CheckTemplateBody(body []byte, patch bool) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	var problems []string
	for _, k := range []string{"name", "tenant", "links"} {
		if _, ok := fields[k]; ok {
			problems = append(problems, k+": is read-only")
		}
	}
	if d, ok := fields["description"]; ok && string(d) == `""` {
		problems = append(problems, "description: must be 1 to 1023 characters, not empty")
	}
	var sets map[string]map[string]json.RawMessage
	if patch && json.Unmarshal(fields["boot_sets"], &sets) == nil {
		for _, name := range slices.Sorted(maps.Keys(sets)) {
			for _, k := range []string{"path", "type"} {
				if _, ok := sets[name][k]; !ok {
					problems = append(problems, fmt.Sprintf("boot_sets.%s.%s: is required", name, k))
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	verb := "created"
	if patch {
		verb = "patched"
	}
	return Errorf(EINVALID, "The session template could not be %s: %s", verb, strings.Join(problems, "; "))
}

// nidPattern matches node names given as NIDs rather than xnames.
var nidPattern = regexp.MustCompile(`^nid`)

// DecodeTemplate strictly decodes a template body (unknown fields and wrong types are
// EINVALID), defaulting enable_cfs to true.
func DecodeTemplate(body []byte) (SessionTemplate, error) {
	t := SessionTemplate{EnableCFS: true}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return SessionTemplate{}, Errorf(EINVALID, "The session template could not be created: %s", jsonProblem(err))
	}
	if dec.More() {
		return SessionTemplate{}, Errorf(EINVALID, "The session template could not be created: the body must hold a single JSON value")
	}
	return t, nil
}

// Normalize turns a PUT (or merged PATCH) body into the record BOS stores, in BOS's order
// (reference 1.4): boot sets present; each boot set's name matches its key, arch defaults to
// X86, an empty cfs is dropped, a hardware specifier is present, NIDs are refused (with
// reject_nids) or warned about, node_list xnames are canonicalised; then name and tenant are
// set, the whole record is checked against the schema and boot-set names are dropped.
// It returns the warnings; any error is EINVALID.
func (t *SessionTemplate) Normalize(name, tenant string, o Options) (warnings []string, err error) {
	fail := func(format string, args ...any) error {
		return Errorf(EINVALID, "The session template could not be created: "+format, args...)
	}
	if len(t.BootSets) == 0 {
		return nil, fail("boot_sets must hold at least one boot set")
	}
	for _, key := range slices.Sorted(maps.Keys(t.BootSets)) {
		bs := t.BootSets[key]
		if bs.Name != "" && bs.Name != key {
			return nil, fail("boot set %q has name %q; a boot set's name must equal its key", key, bs.Name)
		}
		if bs.Arch == "" {
			bs.Arch = ArchX86
		}
		if bs.CFS != nil && bs.CFS.Configuration == "" {
			bs.CFS = nil
		}
		if !bs.HasNodes() {
			return nil, fail("boot set %q: at least one of node_list, node_roles_groups and node_groups must be non-empty", key)
		}
		for i, n := range bs.NodeList {
			if nidPattern.MatchString(n) {
				if o.RejectNIDs {
					return nil, fail("boot set %q: node_list entry %q is a NID, and reject_nids is set", key, n)
				}
				warnings = append(warnings, fmt.Sprintf("boot set %q: node_list entry %q looks like a NID", key, n))
				continue
			}
			if xname.Valid(n) {
				bs.NodeList[i] = xname.Normalize(n)
			}
		}
		bs.Name = ""
		t.BootSets[key] = bs
	}
	t.Name = name
	t.Tenant = tenant
	if t.CFS != nil && t.CFS.Configuration == "" {
		t.CFS = nil
	}
	if err := t.Validate(); err != nil {
		return nil, fail("%s", ErrorMessage(err))
	}
	return warnings, nil
}

// HasNodes reports whether at least one hardware specifier is non-empty.
func (bs *BootSet) HasNodes() bool {
	return len(bs.NodeList) > 0 || len(bs.NodeRolesGroups) > 0 || len(bs.NodeGroups) > 0
}

// Validate checks the template against the V2SessionTemplate schema.
func (t *SessionTemplate) Validate() error {
	var v checker
	v.name("name", t.Name)
	v.length("tenant", t.Tenant, 0, MaxTenantLen)
	if t.Description != "" {
		v.length("description", t.Description, 1, 1023)
	}
	if t.CFS != nil {
		v.length("cfs.configuration", t.CFS.Configuration, 0, 127)
	}
	if n := len(t.BootSets); n < 1 || n > 127 {
		v.addf("boot_sets", "must hold between 1 and 127 boot sets (got %d)", n)
	}
	for _, key := range slices.Sorted(maps.Keys(t.BootSets)) {
		bs := t.BootSets[key]
		f := "boot_sets." + key
		v.name(f, key)
		if bs.Name != "" {
			v.name(f+".name", bs.Name)
		}
		v.length(f+".path", bs.Path, 1, 4095)
		v.length(f+".type", bs.Type, 1, 127)
		v.length(f+".etag", bs.Etag, 0, 65536)
		v.length(f+".kernel_parameters", bs.KernelParameters, 0, 4096)
		if bs.NodeList != nil {
			v.items(f+".node_list", bs.NodeList, 1, 65535, MaxIDLen)
		}
		if bs.NodeRolesGroups != nil {
			v.items(f+".node_roles_groups", bs.NodeRolesGroups, 1, 1023, 127)
		}
		if bs.NodeGroups != nil {
			v.items(f+".node_groups", bs.NodeGroups, 1, 4095, 127)
		}
		if bs.Arch != "" {
			v.oneOf(f+".arch", bs.Arch, ArchX86, ArchARM, ArchOther, ArchUnknown)
		}
		if bs.RootfsProvider != "" {
			v.length(f+".rootfs_provider", bs.RootfsProvider, 1, 511)
		}
		v.length(f+".rootfs_provider_passthrough", bs.RootfsProviderPassthrough, 0, 4096)
		if bs.CFS != nil {
			v.length(f+".cfs.configuration", bs.CFS.Configuration, 0, 127)
		}
	}
	return v.err("")
}

// MergeTemplatePatch applies a PATCH body to cur with BOS's deep merge (reference 1.4):
// top-level cfs is merged, boot_sets merged per name (inside a boot set cfs is merged and
// other keys replaced, a new name is added whole), other keys replaced; name, tenant and
// links are read-only. The result still needs Normalize.
func MergeTemplatePatch(cur SessionTemplate, body []byte) (SessionTemplate, error) {
	fail := func(format string, args ...any) (SessionTemplate, error) {
		return SessionTemplate{}, Errorf(EINVALID, "The session template could not be patched: "+format, args...)
	}
	// Shape check first: unknown fields and wrong types are refused before any merge.
	var shape SessionTemplate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&shape); err != nil {
		return fail("%s", jsonProblem(err))
	}
	var patch map[string]any
	if err := json.Unmarshal(body, &patch); err != nil || patch == nil {
		return fail("the body must be a JSON object")
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return SessionTemplate{}, fmt.Errorf("merge template: %w", err)
	}
	var merged map[string]any
	if err := json.Unmarshal(raw, &merged); err != nil {
		return SessionTemplate{}, fmt.Errorf("merge template: %w", err)
	}
	for k, pv := range patch {
		switch k {
		case "name", "tenant", "links":
			continue
		case "cfs":
			merged[k] = mergeObject(merged[k], pv)
		case "boot_sets":
			pbs, ok := pv.(map[string]any)
			if !ok {
				continue // null: leave the boot sets alone
			}
			cbs, _ := merged[k].(map[string]any)
			if cbs == nil {
				cbs = map[string]any{}
			}
			for name, p := range pbs {
				old, exists := cbs[name].(map[string]any)
				pm, isObj := p.(map[string]any)
				if !exists || !isObj {
					cbs[name] = p
					continue
				}
				for bk, bv := range pm {
					if bk == "cfs" {
						old[bk] = mergeObject(old[bk], bv)
					} else {
						old[bk] = bv
					}
				}
			}
			merged[k] = cbs
		default:
			merged[k] = pv
		}
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return SessionTemplate{}, fmt.Errorf("merge template: %w", err)
	}
	t, err := DecodeTemplate(out)
	if err != nil {
		return fail("%s", ErrorMessage(err))
	}
	t.Name, t.Tenant, t.Links = cur.Name, cur.Tenant, cur.Links
	return t, nil
}

// mergeObject merges patch into cur when both are objects; otherwise patch wins.
func mergeObject(cur, patch any) any {
	c, ok1 := cur.(map[string]any)
	p, ok2 := patch.(map[string]any)
	if !ok1 || !ok2 {
		return patch
	}
	for k, v := range p {
		c[k] = v
	}
	return c
}

// BootSetChecker checks what the domain cannot see: a boot set's S3 manifest, kernel and
// initrd, and its IMS image (reference 1.6). It returns warnings, and an error for a fatal
// problem (honouring ims_errors_fatal and ims_images_must_exist in o). Optional: without one,
// only the structural checks of CheckBootSets run.
type BootSetChecker interface {
	CheckBootSet(ctx context.Context, operation string, bs BootSet, o Options) (warnings []string, err error)
}

// CheckBootSets runs the structural part of BOS's session-creation boot-set validation
// (reference 1.6) for an operation: at least one boot set; each with a hardware specifier;
// a non-sbps rootfs_provider is a warning; NIDs are an error with reject_nids, otherwise a
// warning; for boot and reboot the type must be s3. extra, when non-nil, runs the artifact
// and IMS checks per boot set. The first error stops the loop; warnings accumulate, each
// prefixed "Session template: '<t>' boot set: '<bs>': ".
func CheckBootSets(t *SessionTemplate, operation string, o Options, extra func(name string, bs BootSet) ([]string, error)) (warnings []string, err error) {
	if len(t.BootSets) == 0 {
		return nil, Errorf(EINVALID, "Session template '%s' requires at least 1 boot set.", t.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(t.BootSets)) {
		bs := t.BootSets[name]
		prefix := fmt.Sprintf("Session template: '%s' boot set: '%s': ", t.Name, name)
		warn := func(format string, args ...any) { warnings = append(warnings, prefix+fmt.Sprintf(format, args...)) }
		fail := func(format string, args ...any) error { return Errorf(EINVALID, prefix+format, args...) }
		if !bs.HasNodes() {
			return warnings, fail("No non-empty hardware specifier field (node_list, node_roles_groups, node_groups)")
		}
		if bs.RootfsProvider != "" && bs.RootfsProvider != "sbps" {
			warn("Unsupported rootfs_provider %q; only 'sbps' is supported, and the session will fail at setup", bs.RootfsProvider)
		}
		for _, n := range bs.NodeList {
			if nidPattern.MatchString(n) {
				if o.RejectNIDs {
					return warnings, fail("Has NID in 'node_list': %s", n)
				}
				warn("Has NID in 'node_list': %s", n)
			}
		}
		if operation == OpBoot || operation == OpReboot {
			if bs.Type != "s3" {
				return warnings, fail("Unsupported boot set type %q; only 's3' is supported", bs.Type)
			}
			if extra != nil {
				w, err := extra(name, bs)
				for _, s := range w {
					warn("%s", s)
				}
				if err != nil {
					return warnings, fail("%s", ErrorMessage(err))
				}
			}
		}
	}
	return warnings, nil
}

// ValidityMessage is the body of /v2/sessiontemplatesvalid: "Valid", the warnings joined
// by "; ", or the error message.
func ValidityMessage(warnings []string, err error) string {
	if err != nil {
		return ErrorMessage(err)
	}
	if len(warnings) > 0 {
		return strings.Join(warnings, "; ")
	}
	return "Valid"
}

// ExampleTemplate is the fixed body of /v2/sessiontemplatetemplate.
func ExampleTemplate() SessionTemplate {
	return SessionTemplate{
		EnableCFS: true,
		CFS:       &CFS{Configuration: "default-sessiontemplate-cfs-config"},
		BootSets: map[string]BootSet{
			"name_your_boot_set": {
				Type:                      "s3",
				Path:                      "s3://boot-images/boot-image-ims-id/manifest.json",
				Etag:                      "boot-image-s3-etag",
				KernelParameters:          "console=ttyS0,115200 ip=dhcp quiet spire_join_token=${SPIRE_JOIN_TOKEN}",
				NodeList:                  []string{"xname1", "xname2", "xname3"},
				Arch:                      ArchX86,
				RootfsProvider:            "sbps",
				RootfsProviderPassthrough: "sbps:v1:iqn.2023-06.csm.iscsi:_sbps-hsn._tcp.my-system.my-domain:300",
				CFS:                       &CFS{Configuration: "bootset-specific-cfs-override"},
			},
		},
	}
}

// jsonProblem turns a json decoding error into a caller-facing sentence.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return problem.TypeMessage(te)
	case errors.As(err, &se):
		return fmt.Sprintf("the body is not valid JSON: %v", se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
