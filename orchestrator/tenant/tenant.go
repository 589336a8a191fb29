// Package tenant is our stand-in for TAPMS, the Cray tenant service BOS asks which tenants
// exist and which nodes each owns (GET /v1alpha3/tenants/{t}: the union of
// status.tenantresources[].xnames). BOS uses it for the Cray-Tenant-Name header: an
// unknown tenant is a 400, templates and sessions are namespaced by tenant, components are
// limited to the tenant's nodes.
//
// Registry is the interface BOS needs. Memory is an in-memory implementation (safe for
// concurrent use, editable at run time); Load reads one from a YAML or JSON file shaped
// like TAPMS's tenant list:
//
//	tenants:
//	  - name: vcluster-blue
//	    tenantresources:
//	      - type: compute
//	        xnames: [x3000c0s1b0n0, x3000c0s2b0n0]
//
// Xnames are normalised (lower case, no leading zeros). The file is read once; deviation
// from TAPMS: no tenant lifecycle (state, child namespaces, HSM groups), only names and
// node sets.
package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/cray-bos/bos/internal/xname"
)

// ErrNotFound is returned (wrapped) by Registry.Get for a tenant that does not exist.
var ErrNotFound = errors.New("tenant not found")

// Registry answers which tenants exist and which nodes they own.
type Registry interface {
	// Get returns the named tenant, or an error wrapping ErrNotFound. Other errors mean
	// the registry could not be asked.
	Get(ctx context.Context, name string) (*Tenant, error)
}

// Exists reports whether r knows the tenant.
func Exists(ctx context.Context, r Registry, name string) (bool, error) {
	_, err := r.Get(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Tenant is one tenant and its node set. It is immutable once built.
type Tenant struct {
	Name  string
	nodes []string // sorted, normalised
	set   map[string]struct{}
}

// New builds a tenant from its node xnames (normalised, duplicates dropped).
func New(name string, nodes []string) *Tenant {
	t := &Tenant{Name: name, set: make(map[string]struct{}, len(nodes))}
	for _, n := range nodes {
		n = xname.Normalize(n)
		if _, dup := t.set[n]; !dup && n != "" {
			t.set[n] = struct{}{}
			t.nodes = append(t.nodes, n)
		}
	}
	sort.Strings(t.nodes)
	return t
}

// Has reports whether the tenant owns the node id (compared as given and normalised).
func (t *Tenant) Has(id string) bool {
	if _, ok := t.set[id]; ok {
		return true
	}
	_, ok := t.set[xname.Normalize(id)]
	return ok
}

// Nodes returns a copy of the tenant's sorted node list; never nil, so a tenant without
// nodes filters to none (a nil id filter means every component).
func (t *Tenant) Nodes() []string { return append([]string{}, t.nodes...) }

// Len is the number of nodes the tenant owns.
func (t *Tenant) Len() int { return len(t.nodes) }

// Memory is an in-memory Registry.
type Memory struct {
	mu      sync.RWMutex
	tenants map[string]*Tenant
}

// NewMemory returns a registry holding the given tenants.
func NewMemory(tenants ...*Tenant) *Memory {
	m := &Memory{tenants: map[string]*Tenant{}}
	for _, t := range tenants {
		m.tenants[t.Name] = t
	}
	return m
}

// Get implements Registry.
func (m *Memory) Get(_ context.Context, name string) (*Tenant, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t, ok := m.tenants[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("tenant %q: %w", name, ErrNotFound)
}

// Set adds or replaces a tenant.
func (m *Memory) Set(t *Tenant) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tenants[t.Name] = t
}

// Delete removes a tenant.
func (m *Memory) Delete(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tenants, name)
}

// Names returns the tenant names, sorted.
func (m *Memory) Names() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, 0, len(m.tenants))
	for n := range m.tenants {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// File is the on-disk shape Load reads (a subset of TAPMS's tenant records).
type File struct {
	Tenants []FileTenant `json:"tenants" yaml:"tenants"`
}

// FileTenant is one tenant in a File.
type FileTenant struct {
	Name            string         `json:"name" yaml:"name"`
	TenantResources []FileResource `json:"tenantresources" yaml:"tenantresources"`
}

// FileResource is one resource block of a tenant; only xnames matter to BOS.
type FileResource struct {
	Type   string   `json:"type,omitempty" yaml:"type,omitempty"`
	Xnames []string `json:"xnames" yaml:"xnames"`
}

// Load reads a registry from a YAML (.yaml, .yml) or JSON (anything else) file. Unknown
// fields, a tenant without a name and duplicate names are errors.
func Load(path string) (*Memory, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tenants: %w", err)
	}
	var f File
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		err = dec.Decode(&f)
	default:
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		err = dec.Decode(&f)
	}
	if err != nil {
		return nil, fmt.Errorf("load tenants from %s: %w", path, err)
	}
	return f.Registry()
}

// Registry builds an in-memory registry from the file contents.
func (f File) Registry() (*Memory, error) {
	m := NewMemory()
	for i, ft := range f.Tenants {
		if ft.Name == "" {
			return nil, fmt.Errorf("tenant #%d has no name", i+1)
		}
		if _, dup := m.tenants[ft.Name]; dup {
			return nil, fmt.Errorf("tenant %q is listed twice", ft.Name)
		}
		var nodes []string
		for _, r := range ft.TenantResources {
			nodes = append(nodes, r.Xnames...)
		}
		m.tenants[ft.Name] = New(ft.Name, nodes)
	}
	return m, nil
}
