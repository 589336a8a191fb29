package bssapi

// BootParams is the body of every /bootparameters call and the element of its GET reply.
// On input, hosts wins over macs, which wins over nids (see the package doc for the keying
// rules); with none of them, kernel or initrd alone address an image's own parameters.
type BootParams struct {
	Hosts     []string  `json:"hosts,omitempty"`
	Macs      []string  `json:"macs,omitempty"`
	Nids      []int     `json:"nids,omitempty"`
	Params    string    `json:"params,omitempty"`
	Kernel    string    `json:"kernel,omitempty"`
	Initrd    string    `json:"initrd,omitempty"`
	CloudInit CloudInit `json:"cloud-init,omitzero"`
}

// CloudInit is the cloud-init data BSS keeps per host. Meta-data and user-data are free
// form; PATCH merges them (RFC 7386 merge patch) and replaces phone-home when any of its
// fields is set.
type CloudInit struct {
	MetaData  map[string]any `json:"meta-data,omitempty"`
	UserData  map[string]any `json:"user-data,omitempty"`
	PhoneHome PhoneHome      `json:"phone-home,omitzero"`
}

// PhoneHome is what a node posts to /phone-home; it is stored in the node's cloud-init data.
type PhoneHome struct {
	PublicKeyDSA     string `json:"pub_key_dsa,omitempty"`
	PublicKeyRSA     string `json:"pub_key_rsa,omitempty"`
	PublicKeyECDSA   string `json:"pub_key_ecdsa,omitempty"`
	PublicKeyED25519 string `json:"pub_key_ed25519,omitempty"`
	InstanceID       string `json:"instance_id,omitempty"`
	Hostname         string `json:"hostname,omitempty"`
	FQDN             string `json:"fqdn,omitempty"`
}

// Host is what BSS knows about a node from HSM: the HSM Component fields plus the node's
// FQDN and MACs (from ComponentEndpoints and EthernetInterfaces) and whether its
// ComponentEndpoint is enabled. It is the element of GET /hosts and dumpstate.
type Host struct {
	ID              string   `json:"ID"`
	Type            string   `json:"Type,omitempty"`
	State           string   `json:"State,omitempty"`
	Flag            string   `json:"Flag,omitempty"`
	Enabled         *bool    `json:"Enabled,omitempty"`
	SoftwareStatus  string   `json:"SoftwareStatus,omitempty"`
	Role            string   `json:"Role,omitempty"`
	SubRole         string   `json:"SubRole,omitempty"`
	NID             int      `json:"NID,omitempty"` // 0 means "no NID"
	Subtype         string   `json:"Subtype,omitempty"`
	NetType         string   `json:"NetType,omitempty"`
	Arch            string   `json:"Arch,omitempty"`
	Class           string   `json:"Class,omitempty"`
	FQDN            string   `json:"FQDN"`
	MAC             []string `json:"MAC"`
	EndpointEnabled bool     `json:"EndpointEnabled"`
	// IPs are the node's addresses from HSM's EthernetInterfaces: the cloud-init datasource
	// finds the caller by them. Not part of the /hosts reply (the real BSS keeps them apart).
	IPs []string `json:"-"`
}

// Endpoint types recorded by GET /endpoint-history.
const (
	EndpointBootscript = "bootscript"
	EndpointUserData   = "user-data"
)

// EndpointAccess is one row of GET /endpoint-history: when a node last fetched an endpoint.
type EndpointAccess struct {
	Name      string `json:"name"`
	Endpoint  string `json:"endpoint"`
	LastEpoch int64  `json:"last_epoch"`
}

// State is the reply of GET /dumpstate.
type State struct {
	Components []Host       `json:"Components"`
	Params     []BootParams `json:"Params"`
}

// ReferralTokenHeader carries the referral token minted by PUT and POST /bootparameters.
const ReferralTokenHeader = "BSS-Referral-Token"
