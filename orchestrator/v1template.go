package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// v1 session templates share the template store with v2 (reference bos-v1.md 3). The
// stored record is a v2 template plus three optional v1 extensions that only v1 sessions
// read and the v2 API neither shows nor accepts:
//
//   - partition: the HSM partition that bounds the template's nodes;
//   - boot_sets.*.boot_ordinal and shutdown_ordinal: the order in which boot sets boot and
//     shut down (lower first; equal ordinals together).
//
// BOS strips all three (they were never honoured); we keep and honour them. The v1-only
// fields that mean nothing any more (cfs_url, cfs_branch, cfs.clone_url, branch, commit,
// playbook, boot set network, links) are stripped on create, as BOS 2.7 does. A record
// that still carries one of them is a legacy v1 template: MigrateV1Template converts it.

// V1CFS is a v1 template's cfs object. Everything but configuration is deprecated.
type V1CFS struct {
	Configuration string `json:"configuration,omitempty"`
	CloneURL      string `json:"clone_url,omitempty"`
	Branch        string `json:"branch,omitempty"`
	Commit        string `json:"commit,omitempty"`
	Playbook      string `json:"playbook,omitempty"`
}

func (c *V1CFS) legacy() bool {
	return c != nil && (c.CloneURL != "" || c.Branch != "" || c.Commit != "" || c.Playbook != "")
}

// V1BootSet is a v1 boot set. Arch and CFS are v2 fields: never accepted by a v1 create,
// but shown when a template written through v2 is read through v1.
type V1BootSet struct {
	Name                      string   `json:"name,omitempty"`
	Path                      string   `json:"path"`
	Type                      string   `json:"type"`
	Etag                      string   `json:"etag,omitempty"`
	KernelParameters          string   `json:"kernel_parameters,omitempty"`
	NodeList                  []string `json:"node_list,omitempty"`
	NodeRolesGroups           []string `json:"node_roles_groups,omitempty"`
	NodeGroups                []string `json:"node_groups,omitempty"`
	RootfsProvider            string   `json:"rootfs_provider,omitempty"`
	RootfsProviderPassthrough string   `json:"rootfs_provider_passthrough,omitempty"`
	Network                   string   `json:"network,omitempty"`
	BootOrdinal               *int     `json:"boot_ordinal,omitempty"`
	ShutdownOrdinal           *int     `json:"shutdown_ordinal,omitempty"`
	Arch                      string   `json:"arch,omitempty"`
	CFS                       *CFS     `json:"cfs,omitempty"`
}

// V1SessionTemplate is a session template as the v1 API reads and writes it, and the
// stored form of templates created through v1 (see the top of this file). EnableCFS is
// a pointer so that a create without it defaults to true.
type V1SessionTemplate struct {
	Name        string               `json:"name,omitempty"`
	Tenant      string               `json:"tenant,omitempty"`
	Description string               `json:"description,omitempty"`
	EnableCFS   *bool                `json:"enable_cfs,omitempty"`
	CFS         *V1CFS               `json:"cfs,omitempty"`
	CFSURL      string               `json:"cfs_url,omitempty"`
	CFSBranch   string               `json:"cfs_branch,omitempty"`
	Partition   string               `json:"partition,omitempty"`
	BootSets    map[string]V1BootSet `json:"boot_sets,omitempty"`
	Links       []Link               `json:"links,omitempty"`
}

// CFSEnabled reports enable_cfs, which defaults to true.
func (t *V1SessionTemplate) CFSEnabled() bool { return t.EnableCFS == nil || *t.EnableCFS }

// Configuration is the CFS configuration v1 sessions apply: cfs.configuration when CFS is
// enabled, else "". (BOA built a configuration from the deprecated clone_url/branch
// fields when it was missing; we do not, see docs/bos-v1.md.)
func (t *V1SessionTemplate) Configuration() string {
	if !t.CFSEnabled() || t.CFS == nil {
		return ""
	}
	return t.CFS.Configuration
}

// V2 returns the v2 form of t: the v1-only fields, extensions included, dropped.
func (t *V1SessionTemplate) V2() SessionTemplate {
	out := SessionTemplate{Name: t.Name, Tenant: t.Tenant, Description: t.Description, EnableCFS: t.CFSEnabled()}
	if t.CFS != nil && t.CFS.Configuration != "" {
		out.CFS = &CFS{Configuration: t.CFS.Configuration}
	}
	if t.BootSets != nil {
		out.BootSets = make(map[string]BootSet, len(t.BootSets))
	}
	for name, bs := range t.BootSets {
		out.BootSets[name] = BootSet{
			Name: bs.Name, Path: bs.Path, Type: bs.Type, Etag: bs.Etag, KernelParameters: bs.KernelParameters,
			NodeList: bs.NodeList, NodeRolesGroups: bs.NodeRolesGroups, NodeGroups: bs.NodeGroups,
			Arch: bs.Arch, RootfsProvider: bs.RootfsProvider, RootfsProviderPassthrough: bs.RootfsProviderPassthrough,
			CFS: bs.CFS,
		}
	}
	return out
}

// V1FromV2 returns the v1 view of a v2 template, carrying over the extensions of ext
// (partition and the ordinals of boot sets that still exist) when ext is not nil.
func V1FromV2(t SessionTemplate, ext *V1SessionTemplate) V1SessionTemplate {
	enable := t.EnableCFS
	out := V1SessionTemplate{Name: t.Name, Tenant: t.Tenant, Description: t.Description, EnableCFS: &enable}
	if t.CFS != nil {
		out.CFS = &V1CFS{Configuration: t.CFS.Configuration}
	}
	if ext != nil {
		out.Partition = ext.Partition
	}
	out.BootSets = make(map[string]V1BootSet, len(t.BootSets))
	for name, bs := range t.BootSets {
		v := V1BootSet{
			Path: bs.Path, Type: bs.Type, Etag: bs.Etag, KernelParameters: bs.KernelParameters,
			NodeList: bs.NodeList, NodeRolesGroups: bs.NodeRolesGroups, NodeGroups: bs.NodeGroups,
			RootfsProvider: bs.RootfsProvider, RootfsProviderPassthrough: bs.RootfsProviderPassthrough,
			Arch: bs.Arch, CFS: bs.CFS,
		}
		if ext != nil {
			if old, ok := ext.BootSets[name]; ok {
				v.BootOrdinal, v.ShutdownOrdinal = old.BootOrdinal, old.ShutdownOrdinal
			}
		}
		out.BootSets[name] = v
	}
	return out
}

// networkPattern is the v1 schema's pattern for a boot set's (deprecated) network.
var networkPattern = regexp.MustCompile(`^(?i)nmn$`)

// DecodeV1Template strictly decodes a POST /v1/sessiontemplate body: unknown fields, wrong
// types and the v2-only boot set fields (arch, cfs) are EINVALID.
func DecodeV1Template(body []byte) (V1SessionTemplate, error) {
	var t V1SessionTemplate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, &Error{Code: EINVALID, Title: "Bad Request", Message: jsonProblem(err)}
	}
	if dec.More() {
		return t, &Error{Code: EINVALID, Title: "Bad Request", Message: "the body holds more than one JSON value"}
	}
	for _, name := range slices.Sorted(maps.Keys(t.BootSets)) {
		bs := t.BootSets[name]
		if bs.Arch != "" {
			return t, &Error{Code: EINVALID, Title: "Bad Request", Message: fmt.Sprintf("unknown field boot_sets.%s.arch (a v2 field; use the v2 API)", name)}
		}
		if bs.CFS != nil {
			return t, &Error{Code: EINVALID, Title: "Bad Request", Message: fmt.Sprintf("unknown field boot_sets.%s.cfs (a v2 field; use the v2 API)", name)}
		}
	}
	return t, nil
}

// ValidateV1 checks t against the v1 schema (reference 3.1): name, path and type
// required, network "nmn", ordinals not negative, node lists not empty when given.
func (t *V1SessionTemplate) ValidateV1() error {
	var v checker
	v.length("name", t.Name, 1, MaxNameLen)
	v.length("partition", t.Partition, 0, MaxNameLen)
	for _, key := range slices.Sorted(maps.Keys(t.BootSets)) {
		bs := t.BootSets[key]
		f := "boot_sets." + key
		v.length(f+".path", bs.Path, 1, 4095)
		v.length(f+".type", bs.Type, 1, 127)
		if bs.Network != "" && !networkPattern.MatchString(bs.Network) {
			v.addf(f+".network", "%q must be nmn", bs.Network)
		}
		for field, n := range map[string]*int{"boot_ordinal": bs.BootOrdinal, "shutdown_ordinal": bs.ShutdownOrdinal} {
			if n != nil && *n < 0 {
				v.addf(f+"."+field, "must not be negative (got %d)", *n)
			}
		}
		for field, list := range map[string][]string{"node_list": bs.NodeList, "node_roles_groups": bs.NodeRolesGroups, "node_groups": bs.NodeGroups} {
			if list != nil && len(list) == 0 {
				v.addf(f+"."+field, "must have at least 1 item")
			}
		}
	}
	if err := v.err(""); err != nil {
		return &Error{Code: EINVALID, Title: "The session template could not be created.", Message: ErrorMessage(err)}
	}
	return nil
}

// StoredForm turns a v1 create body (already through ValidateV1) into the record to store
// (reference 3.2, keeping the extensions): the v1-only fields are stripped, the rest is
// normalised and validated as a v2 template (xnames canonical, arch X86 by default, empty
// cfs dropped) in the untenanted namespace, and partition and ordinals are put back.
func (t *V1SessionTemplate) StoredForm(o Options) (V1SessionTemplate, []string, error) {
	v2 := t.V2()
	v2.Links = nil
	warnings, err := v2.Normalize(t.Name, "", o)
	if err != nil {
		return V1SessionTemplate{}, nil, &Error{Code: EINVALID, Title: "The session template could not be created as a v2 template.",
			Message: strings.TrimPrefix(ErrorMessage(err), "The session template could not be created: ")}
	}
	return V1FromV2(v2, t), warnings, nil
}

// Legacy reports whether t carries a v1-only field that the stored form drops (cfs_url,
// cfs_branch, cfs.clone_url, branch, commit or playbook, a boot set network, links).
func (t *V1SessionTemplate) Legacy() bool {
	if t.CFSURL != "" || t.CFSBranch != "" || len(t.Links) > 0 || t.CFS.legacy() {
		return true
	}
	for _, bs := range t.BootSets {
		if bs.Network != "" || bs.Name != "" {
			return true
		}
	}
	return false
}

// V1DeprecatedSuffix is appended to the name of the untouched copy that migration keeps
// of every legacy v1 template.
const V1DeprecatedSuffix = "_v1_deprecated"

// MigrateV1Template decides what start-up migration does with one stored template record
// (reference 3.5): nothing (converted == nil) for a record in the current form or a
// *_v1_deprecated copy; otherwise converted is the current form (v1-only fields stripped,
// partition and ordinals kept) and deprecated is the untouched original renamed to
// <name>_v1_deprecated, to be stored only if no copy exists yet. A record that cannot be
// converted (not a template, or not valid as v2 once stripped) is an error, and the
// caller leaves it alone.
func MigrateV1Template(name string, raw []byte, o Options) (converted, deprecated []byte, err error) {
	if strings.HasSuffix(name, V1DeprecatedSuffix) {
		return nil, nil, nil
	}
	var t V1SessionTemplate
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	strictErr := dec.Decode(&t)
	if strictErr != nil {
		// Unknown fields (templateUrl, templateBody...): legacy; read what we know.
		t = V1SessionTemplate{}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, nil, fmt.Errorf("migrate template %s: not a template: %w", name, err)
		}
	} else if !t.Legacy() {
		return nil, nil, nil
	}
	tenant := t.Tenant
	t.Name = name
	v2 := t.V2()
	if _, err := v2.Normalize(name, tenant, o); err != nil {
		return nil, nil, fmt.Errorf("migrate template %s: %s", name, ErrorMessage(err))
	}
	cur := V1FromV2(v2, &t)
	if converted, err = json.Marshal(cur); err != nil {
		return nil, nil, fmt.Errorf("migrate template %s: %w", name, err)
	}
	var orig map[string]any
	if err := json.Unmarshal(raw, &orig); err != nil {
		return nil, nil, fmt.Errorf("migrate template %s: %w", name, err)
	}
	orig["name"] = name + V1DeprecatedSuffix
	if deprecated, err = json.Marshal(orig); err != nil {
		return nil, nil, fmt.Errorf("migrate template %s: %w", name, err)
	}
	return converted, deprecated, nil
}

// ExampleV1Template is the fixed body of /v1/sessiontemplatetemplate (reference 3.4).
func ExampleV1Template() V1SessionTemplate {
	enable := true
	return V1SessionTemplate{
		EnableCFS: &enable,
		CFS:       &V1CFS{Configuration: "desired-cfs-config"},
		BootSets: map[string]V1BootSet{
			"name_your_boot_set": {
				Type:                      "s3",
				Etag:                      "your_boot_image_etag",
				KernelParameters:          "console=ttyS0,115200 bad_page=panic crashkernel=340M hugepagelist=2m-2g intel_iommu=off intel_pstate=disable iommu=pt ip=dhcp numa_interleave_omit=headless numa_zonelist_order=node oops=panic pageblock_order=14 pcie_ports=native printk.synchronous=y quiet rd.neednet=1 rd.retry=10 rd.shell turbo_boost_limit=999 spire_join_token=${SPIRE_JOIN_TOKEN}",
				NodeList:                  []string{"xname1", "xname2", "xname3"},
				Path:                      "s3://boot-images/boot-image-ims-id/manifest.json",
				RootfsProvider:            "cpss3",
				RootfsProviderPassthrough: "dvs:api-gw-service-nmn.local:300:hsn0,nmn0:0",
			},
		},
	}
}
