package hsmapi

// Wire types: the JSON shapes of the real HSM API, shared by the server and the Client.

// Component is an HSM component (hms-base Component). Empty strings and false booleans
// are omitted, as in the real service; Enabled is a pointer so that false is shown.
type Component struct {
	ID                  string `json:"ID"`
	Type                string `json:"Type"`
	State               string `json:"State,omitempty"`
	Flag                string `json:"Flag,omitempty"`
	Enabled             *bool  `json:"Enabled,omitempty"`
	SoftwareStatus      string `json:"SoftwareStatus,omitempty"`
	Role                string `json:"Role,omitempty"`
	SubRole             string `json:"SubRole,omitempty"`
	NID                 int    `json:"NID,omitempty"`
	Subtype             string `json:"Subtype,omitempty"`
	NetType             string `json:"NetType,omitempty"`
	Arch                string `json:"Arch,omitempty"`
	Class               string `json:"Class,omitempty"`
	ReservationDisabled bool   `json:"ReservationDisabled,omitempty"`
	Locked              bool   `json:"Locked,omitempty"`
}

// IsEnabled reports Enabled, reading a missing value as true (HSM's default).
func (c Component) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// ComponentArray is the collection wrapper of State/Components replies.
type ComponentArray struct {
	Components []Component `json:"Components"`
}

// Members is the member list of a group or partition.
type Members struct {
	IDs []string `json:"ids"`
}

// Group is an HSM group. Label, ExclusiveGroup and Tags are stored lowercase.
type Group struct {
	Label          string   `json:"label"`
	Description    string   `json:"description"`
	ExclusiveGroup string   `json:"exclusiveGroup,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	Members        Members  `json:"members"`
}

// Partition is an HSM partition; Name is pN or pN.M.
type Partition struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        []string `json:"tags,omitempty"`
	Members     Members  `json:"members"`
}

// Membership lists the groups and the partition a component belongs to.
type Membership struct {
	ID            string   `json:"id"`
	GroupLabels   []string `json:"groupLabels"`
	PartitionName string   `json:"partitionName"`
}

// ResourceURI is one element of the body HSM returns on 201 Created.
type ResourceURI struct {
	URI string `json:"URI"`
}

// LockStatus is one component's lock state (GET/POST /locks/status).
type LockStatus struct {
	ID                  string `json:"ID"`
	Locked              bool   `json:"Locked"`
	Reserved            bool   `json:"Reserved"`
	CreationTime        string `json:"CreationTime,omitempty"`
	ExpirationTime      string `json:"ExpirationTime,omitempty"`
	ReservationDisabled bool   `json:"ReservationDisabled"`
}

// LockStatusResult is the reply of /locks/status. NotFound lists requested IDs that
// are not components (POST only; always empty for GET).
type LockStatusResult struct {
	Components []LockStatus `json:"Components"`
	NotFound   []string     `json:"NotFound"`
}

// Processing models of lock and reservation requests.
const (
	ProcessingRigid    = "rigid"    // all or nothing (the default)
	ProcessingFlexible = "flexible" // partial success
)

// Failure reasons of lock and reservation operations.
const (
	ReasonNotFound    = "NotFound"
	ReasonLocked      = "Locked"
	ReasonUnlocked    = "Unlocked"
	ReasonDisabled    = "Disabled"
	ReasonReserved    = "Reserved"
	ReasonServerError = "ServerError"
)

// LockRequest is the body of lock, unlock, repair, disable, status and reservation
// create/remove requests: the components (by ID and/or filter) and how to process them.
// Every filter field is a list of values OR-ed together; fields are AND-ed.
type LockRequest struct {
	ComponentIDs        []string `json:"ComponentIDs,omitempty"`
	NID                 []string `json:"NID,omitempty"`
	Type                []string `json:"Type,omitempty"`
	State               []string `json:"State,omitempty"`
	Flag                []string `json:"Flag,omitempty"`
	Enabled             []string `json:"Enabled,omitempty"`
	SoftwareStatus      []string `json:"SoftwareStatus,omitempty"`
	Role                []string `json:"Role,omitempty"`
	SubRole             []string `json:"SubRole,omitempty"`
	Subtype             []string `json:"Subtype,omitempty"`
	Arch                []string `json:"Arch,omitempty"`
	Class               []string `json:"Class,omitempty"`
	Group               []string `json:"Group,omitempty"`
	Partition           []string `json:"Partition,omitempty"`
	Locked              []string `json:"Locked,omitempty"`
	Reserved            []string `json:"Reserved,omitempty"`
	ReservationDisabled []string `json:"ReservationDisabled,omitempty"`
	ProcessingModel     string   `json:"ProcessingModel,omitempty"`
	// ReservationDuration is in minutes, 1..15, for service reservations.
	ReservationDuration int `json:"ReservationDuration,omitempty"`
}

// LockFailure names a component an operation could not apply to, and why.
type LockFailure struct {
	ID     string `json:"ID"`
	Reason string `json:"Reason"`
}

// LockCounts summarises an update result.
type LockCounts struct {
	Total   int `json:"Total"`
	Success int `json:"Success"`
	Failure int `json:"Failure"`
}

// LockSuccess lists the components an update applied to.
type LockSuccess struct {
	ComponentIDs []string `json:"ComponentIDs"`
}

// LockUpdateResult is the reply of lock, unlock, repair, disable, reservation remove,
// release and renew.
type LockUpdateResult struct {
	Counts  LockCounts    `json:"Counts"`
	Success LockSuccess   `json:"Success"`
	Failure []LockFailure `json:"Failure"`
}

// Reservation is a granted (or checked) reservation. ReservationKey is only returned to
// the creator; ExpirationTime is absent for admin reservations, which never expire.
type Reservation struct {
	ID             string `json:"ID"`
	DeputyKey      string `json:"DeputyKey"`
	ReservationKey string `json:"ReservationKey,omitempty"`
	CreationTime   string `json:"CreationTime,omitempty"`
	ExpirationTime string `json:"ExpirationTime,omitempty"`
}

// ReservationResult is the reply of reservation create and check.
type ReservationResult struct {
	Success []Reservation `json:"Success"`
	Failure []LockFailure `json:"Failure"`
}

// ReservationKey addresses a reservation: the component and its reservation (or deputy) key.
type ReservationKey struct {
	ID  string `json:"ID"`
	Key string `json:"Key"`
}

// ReservationKeysRequest is the body of reservation release and renew.
type ReservationKeysRequest struct {
	ReservationKeys     []ReservationKey `json:"ReservationKeys"`
	ProcessingModel     string           `json:"ProcessingModel,omitempty"`
	ReservationDuration int              `json:"ReservationDuration,omitempty"`
}

// DeputyKeysRequest is the body of /locks/service/reservations/check.
type DeputyKeysRequest struct {
	DeputyKeys []ReservationKey `json:"DeputyKeys"`
}

// DiscoveryInfo is the discovery status of a RedfishEndpoint.
type DiscoveryInfo struct {
	LastDiscoveryAttempt string `json:"LastDiscoveryAttempt,omitempty"`
	LastDiscoveryStatus  string `json:"LastDiscoveryStatus"`
	RedfishVersion       string `json:"RedfishVersion,omitempty"`
}

// RedfishEndpoint is a BMC HSM knows how to reach. FQDN may be "ip:port".
type RedfishEndpoint struct {
	ID       string `json:"ID"`
	Type     string `json:"Type"`
	Name     string `json:"Name,omitempty"`
	Hostname string `json:"Hostname"`
	Domain   string `json:"Domain"`
	FQDN     string `json:"FQDN"`
	Enabled  bool   `json:"Enabled"`
	UUID     string `json:"UUID,omitempty"`
	User     string `json:"User"`
	// Password is kept, as HSM keeps it in Vault, and never sent: not in any reply, not
	// in any log. Clients get BMC credentials from their own Vault stand-in.
	Password           string        `json:"-"`
	UseSSDP            bool          `json:"UseSSDP,omitempty"`
	MACRequired        bool          `json:"MACRequired,omitempty"`
	MACAddr            string        `json:"MACAddr,omitempty"`
	IPAddress          string        `json:"IPAddress,omitempty"`
	RediscoverOnUpdate bool          `json:"RediscoverOnUpdate"`
	TemplateID         string        `json:"TemplateID,omitempty"`
	DiscoveryInfo      DiscoveryInfo `json:"DiscoveryInfo"`
}

// RedfishEndpointArray is the collection wrapper of Inventory/RedfishEndpoints.
type RedfishEndpointArray struct {
	RedfishEndpoints []RedfishEndpoint `json:"RedfishEndpoints"`
}

// ResetAction is a Redfish Reset action as HSM records it.
type ResetAction struct {
	AllowableValues []string `json:"ResetType@Redfish.AllowableValues"`
	ActionInfo      string   `json:"@Redfish.ActionInfo,omitempty"`
	Target          string   `json:"target"`
}

// SystemActions are a ComputerSystem's actions.
type SystemActions struct {
	Reset ResetAction `json:"#ComputerSystem.Reset"`
}

// ManagerActions are a Manager's actions.
type ManagerActions struct {
	Reset ResetAction `json:"#Manager.Reset"`
}

// EthernetNICInfo describes one NIC of a system or manager.
type EthernetNICInfo struct {
	RedfishID           string `json:"RedfishId"`
	ODataID             string `json:"@odata.id"`
	Description         string `json:"Description,omitempty"`
	FQDN                string `json:"FQDN,omitempty"`
	Hostname            string `json:"Hostname,omitempty"`
	InterfaceEnabled    *bool  `json:"InterfaceEnabled,omitempty"`
	MACAddress          string `json:"MACAddress"`
	PermanentMACAddress string `json:"PermanentMACAddress,omitempty"`
}

// SystemInfo is the RedfishSystemInfo block of a ComputerSystem endpoint.
type SystemInfo struct {
	Name            string            `json:"Name,omitempty"`
	Actions         *SystemActions    `json:"Actions,omitempty"`
	EthernetNICInfo []EthernetNICInfo `json:"EthernetNICInfo,omitempty"`
}

// ManagerInfo is the RedfishManagerInfo block of a Manager endpoint.
type ManagerInfo struct {
	Name            string            `json:"Name,omitempty"`
	Actions         *ManagerActions   `json:"Actions,omitempty"`
	EthernetNICInfo []EthernetNICInfo `json:"EthernetNICInfo,omitempty"`
}

// ComponentEndpoint types (the ComponentEndpointType discriminator).
const (
	CompEPTypeSystem  = "ComponentEndpointComputerSystem"
	CompEPTypeManager = "ComponentEndpointManager"
)

// ComponentEndpoint is a discovered Redfish object: how to reach a node (or BMC)
// through its BMC. RedfishURL is RedfishEndpointFQDN+OdataID without a scheme.
type ComponentEndpoint struct {
	ID                    string       `json:"ID"`
	Type                  string       `json:"Type"`
	Domain                string       `json:"Domain"`
	FQDN                  string       `json:"FQDN"`
	RedfishType           string       `json:"RedfishType"`
	RedfishSubtype        string       `json:"RedfishSubtype"`
	MACAddr               string       `json:"MACAddr,omitempty"`
	UUID                  string       `json:"UUID,omitempty"`
	OdataID               string       `json:"OdataID"`
	RedfishEndpointID     string       `json:"RedfishEndpointID"`
	Enabled               bool         `json:"Enabled"`
	RedfishEndpointFQDN   string       `json:"RedfishEndpointFQDN"`
	RedfishURL            string       `json:"RedfishURL"`
	ComponentEndpointType string       `json:"ComponentEndpointType"`
	RedfishSystemInfo     *SystemInfo  `json:"RedfishSystemInfo,omitempty"`
	RedfishManagerInfo    *ManagerInfo `json:"RedfishManagerInfo,omitempty"`
}

// ComponentEndpointArray is the collection wrapper of Inventory/ComponentEndpoints.
type ComponentEndpointArray struct {
	ComponentEndpoints []ComponentEndpoint `json:"ComponentEndpoints"`
}

// IPAddress is one address of an EthernetInterface.
type IPAddress struct {
	IPAddress string `json:"IPAddress"`
	Network   string `json:"Network,omitempty"`
}

// EthernetInterface maps a MAC (and its IPs) to a component. ID is the MAC without
// colons, lowercase.
type EthernetInterface struct {
	ID          string      `json:"ID"`
	Description string      `json:"Description"`
	MACAddress  string      `json:"MACAddress"`
	IPAddresses []IPAddress `json:"IPAddresses"`
	LastUpdate  string      `json:"LastUpdate"`
	ComponentID string      `json:"ComponentID"`
	Type        string      `json:"Type"`
}

// Values holds the enum lists of /service/values; only the requested lists are set.
type Values struct {
	Arch    []string `json:"Arch,omitempty"`
	Class   []string `json:"Class,omitempty"`
	Flag    []string `json:"Flag,omitempty"`
	NetType []string `json:"NetType,omitempty"`
	Role    []string `json:"Role,omitempty"`
	SubRole []string `json:"SubRole,omitempty"`
	State   []string `json:"State,omitempty"`
	Type    []string `json:"Type,omitempty"`
}

// RedfishEvent is a Redfish Event as hmcollector forwards it. Context names the BMC
// that sent it ("<bmc xname>" or "<bmc xname>:<labels>").
type RedfishEvent struct {
	Context string               `json:"Context,omitempty"`
	Events  []RedfishEventRecord `json:"Events"`
}

// RedfishEventRecord is one event of a RedfishEvent. HSM acts on MessageId
// "...ResourcePowerStateChanged" with MessageArgs [<system path>, "On"|"Off"].
type RedfishEventRecord struct {
	Context           string   `json:"Context,omitempty"`
	MessageID         string   `json:"MessageId"`
	MessageArgs       []string `json:"MessageArgs,omitempty"`
	OriginOfCondition *ODataID `json:"OriginOfCondition,omitempty"`
}

// ODataID is a Redfish link.
type ODataID struct {
	ID string `json:"@odata.id"`
}

// EventResult is the reply of POST /RedfishEvents: how many records changed a
// component's state and how many were ignored (other messages, unknown targets,
// PoweringOn/PoweringOff, transitions the state rule refuses).
type EventResult struct {
	Applied int `json:"Applied"`
	Ignored int `json:"Ignored"`
}

// API path prefixes: the in-cluster path BOS uses and the CSM API gateway path.
const (
	BasePath    = "/hsm/v2"
	GatewayPath = "/apis/smd/hsm/v2"
)

// MemberID is the body of POST .../members: one member to add.
type MemberID struct {
	ID string `json:"id"`
}
