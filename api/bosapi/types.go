package bosapi

import "github.com/cray-bos/bos/orchestrator"

// TenantHeader is the header that names the caller's tenant.
const TenantHeader = "Cray-Tenant-Name"

// Version is BOS's version object; the numbers are strings.
type Version struct {
	Major string `json:"major"`
	Minor string `json:"minor"`
	Patch string `json:"patch"`
	Links []Link `json:"links"`
}

// Link is a related URL.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// Health is the body of /v2/healthz.
type Health struct {
	DBStatus  string `json:"dbStatus"`
	APIStatus string `json:"apiStatus"`
}

// ApplyStagedRequest is the body of POST /v2/applystaged.
type ApplyStagedRequest struct {
	Xnames []string `json:"xnames"`
}

// ApplyStagedResponse sorts every requested xname into one list.
type ApplyStagedResponse struct {
	Succeeded []string `json:"succeeded"`
	Failed    []string `json:"failed"`
	Ignored   []string `json:"ignored"`
}

// PatchFilterBody is the {patch, filters} form of a bulk PATCH.
type PatchFilterBody struct {
	Patch   *orchestrator.ComponentPatch `json:"patch"`
	Filters *PatchFilters                `json:"filters"`
}

// PatchFilters selects the components of a PatchFilterBody: by ids (comma list) or session.
type PatchFilters struct {
	IDs     string `json:"ids,omitempty"`
	Session string `json:"session,omitempty"`
}
