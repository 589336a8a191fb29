package cfsapi

// Values of configuration_status.
const (
	StatusUnconfigured = "unconfigured"
	StatusFailed       = "failed"
	StatusPending      = "pending"
	StatusConfigured   = "configured"
)

// Values of a state layer's status.
const (
	LayerApplied    = "applied"
	LayerFailed     = "failed"
	LayerSkipped    = "skipped"
	LayerIncomplete = "incomplete"
)

// DefaultPlaybook is the playbook of a layer that names none.
const DefaultPlaybook = "site.yml"

// StateLayer is one applied (or failed) layer in a component's state.
type StateLayer struct {
	CloneURL    string `json:"clone_url"`
	Playbook    string `json:"playbook"`
	Commit      string `json:"commit"`
	Status      string `json:"status,omitempty"`
	LastUpdated string `json:"last_updated,omitempty"`
	SessionName string `json:"session_name,omitempty"`
}

// Component is a CFS v3 component as GET returns it. State is present only when asked for
// (state_details), DesiredState only with config_details.
type Component struct {
	ID                  string            `json:"id"`
	DesiredConfig       string            `json:"desired_config"`
	Enabled             bool              `json:"enabled"`
	ErrorCount          int               `json:"error_count"`
	RetryPolicy         *int              `json:"retry_policy,omitempty"`
	ConfigurationStatus string            `json:"configuration_status"`
	State               []StateLayer      `json:"state,omitempty"`
	DesiredState        []DesiredLayer    `json:"desired_state,omitempty"`
	Tags                map[string]string `json:"tags"`
}

// ComponentPatch is a component write: the body of PUT and PATCH of one component, an element
// of the array forms, and the "patch" of the filter form. Nil fields are left alone; an
// empty non-nil State clears the state (and resets error_count).
type ComponentPatch struct {
	ID            string            `json:"id,omitempty"`
	DesiredConfig *string           `json:"desired_config,omitempty"`
	Enabled       *bool             `json:"enabled,omitempty"`
	ErrorCount    *int              `json:"error_count,omitempty"`
	RetryPolicy   *int              `json:"retry_policy,omitempty"`
	State         *[]StateLayer     `json:"state,omitempty"`
	StateAppend   *StateLayer       `json:"state_append,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// Ptr returns a pointer to v, for the optional fields of ComponentPatch.
func Ptr[T any](v T) *T { return &v }

// Layer is one layer of a configuration. Exactly one of CloneURL and Source is set; Branch
// is resolved to Commit when the configuration is stored.
type Layer struct {
	Name              string         `json:"name,omitempty"`
	CloneURL          string         `json:"clone_url,omitempty"`
	Source            string         `json:"source,omitempty"`
	Playbook          string         `json:"playbook,omitempty"`
	Commit            string         `json:"commit,omitempty"`
	Branch            string         `json:"branch,omitempty"`
	SpecialParameters map[string]any `json:"special_parameters,omitempty"`
}

// DesiredLayer is a configuration layer with its status for one component (config_details).
type DesiredLayer struct {
	Layer
	Status string `json:"status"`
}

// AdditionalInventory is a configuration's optional inventory repository.
type AdditionalInventory struct {
	Name     string `json:"name,omitempty"`
	CloneURL string `json:"clone_url,omitempty"`
	Source   string `json:"source,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Branch   string `json:"branch,omitempty"`
}

// Configuration is a stored CFS configuration.
type Configuration struct {
	Name                string               `json:"name"`
	Description         string               `json:"description,omitempty"`
	LastUpdated         string               `json:"last_updated"`
	Layers              []Layer              `json:"layers"`
	AdditionalInventory *AdditionalInventory `json:"additional_inventory,omitempty"`
}

// ConfigurationRequest is the body of PUT /v3/configurations/{name}.
type ConfigurationRequest struct {
	Description         string               `json:"description,omitempty"`
	Layers              []Layer              `json:"layers"`
	AdditionalInventory *AdditionalInventory `json:"additional_inventory,omitempty"`
}

// ComponentsNext is the "next" object of a component page: the query of the next page.
type ComponentsNext struct {
	IDs           string `json:"ids"`
	Status        string `json:"status"`
	Enabled       *bool  `json:"enabled"`
	ConfigName    string `json:"config_name"`
	StateDetails  bool   `json:"state_details"`
	ConfigDetails bool   `json:"config_details"`
	Tags          string `json:"tags"`
	Limit         int    `json:"limit"`
	AfterID       string `json:"after_id"`
}

// ComponentsPage is the reply of GET /v3/components.
type ComponentsPage struct {
	Components []Component     `json:"components"`
	Next       *ComponentsNext `json:"next"`
}

// ConfigurationsNext is the "next" object of a configuration page.
type ConfigurationsNext struct {
	InUse   *bool  `json:"in_use"`
	Limit   int    `json:"limit"`
	AfterID string `json:"after_id"`
}

// ConfigurationsPage is the reply of GET /v3/configurations.
type ConfigurationsPage struct {
	Configurations []Configuration     `json:"configurations"`
	Next           *ConfigurationsNext `json:"next"`
}

// ComponentIDs is the reply of the bulk PUT and PATCH.
type ComponentIDs struct {
	ComponentIDs []string `json:"component_ids"`
}
