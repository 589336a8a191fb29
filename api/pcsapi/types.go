package pcsapi

import "time"

// Operation names, as PCS answers them (requests are case-insensitive).
const (
	OpOn          = "On"
	OpOff         = "Off"
	OpSoftOff     = "Soft-Off"
	OpForceOff    = "Force-Off"
	OpHardRestart = "Hard-Restart"
	OpSoftRestart = "Soft-Restart"
	OpInit        = "Init"
)

// Power states, task and transition statuses, as the spec spells them.
const (
	StateOn        = "on"
	StateOff       = "off"
	StateUndefined = "undefined"

	ManagementAvailable   = "available"
	ManagementUnavailable = "unavailable"

	TaskNew         = "new"
	TaskInProgress  = "in-progress"
	TaskFailed      = "failed"
	TaskSucceeded   = "succeeded"
	TaskUnsupported = "unsupported"

	TransitionNew           = "new"
	TransitionInProgress    = "in-progress"
	TransitionCompleted     = "completed"
	TransitionAbortSignaled = "abort-signaled"
	TransitionAborted       = "aborted"
)

// TransitionCreate is the body of POST /transitions.
type TransitionCreate struct {
	Operation string `json:"operation"`
	// TaskDeadlineMinutes bounds each task: nil means 5, 0 means do not wait, -1 forever.
	TaskDeadlineMinutes *int       `json:"taskDeadlineMinutes,omitempty"`
	Location            []Location `json:"location"`
}

// Location is one target of a transition. A DeputyKey names the caller's HSM reservation
// of the node: PCS then acts under it instead of reserving the node itself (BOS never
// sends one).
type Location struct {
	Xname     string `json:"xname"`
	DeputyKey string `json:"deputyKey,omitempty"`
}

// TransitionStart is the reply to POST /transitions.
type TransitionStart struct {
	TransitionID string `json:"transitionID"`
	Operation    string `json:"operation"`
}

// Transition is GET /transitions/{id}; in the list of GET /transitions, Tasks is omitted.
type Transition struct {
	TransitionID            string     `json:"transitionID"`
	CreateTime              string     `json:"createTime"`
	AutomaticExpirationTime time.Time  `json:"automaticExpirationTime"`
	TransitionStatus        string     `json:"transitionStatus"`
	Operation               string     `json:"operation"`
	TaskCounts              TaskCounts `json:"taskCounts"`
	Tasks                   []Task     `json:"tasks,omitempty"`
}

// TaskCounts counts a transition's tasks by status.
type TaskCounts struct {
	Total       int `json:"total"`
	New         int `json:"new"`
	InProgress  int `json:"in-progress"`
	Failed      int `json:"failed"`
	Succeeded   int `json:"succeeded"`
	Unsupported int `json:"un-supported"`
}

// Task is one xname's part of a transition.
type Task struct {
	Xname                 string `json:"xname"`
	TaskStatus            string `json:"taskStatus"`
	TaskStatusDescription string `json:"taskStatusDescription"`
	Error                 string `json:"error,omitempty"`
}

// TransitionAbort is the reply of DELETE /transitions/{id}.
type TransitionAbort struct {
	AbortStatus string `json:"abortStatus"`
}

// TransitionList is GET /transitions.
type TransitionList struct {
	Transitions []Transition `json:"transitions"`
}

// PowerStatusQuery is the body of POST /power-status (and the query of GET).
type PowerStatusQuery struct {
	Xname                 []string `json:"xname,omitempty"`
	PowerStateFilter      string   `json:"powerStateFilter,omitempty"`
	ManagementStateFilter string   `json:"managementStateFilter,omitempty"`
}

// PowerStatus is one component's entry in a power-status reply.
type PowerStatus struct {
	Xname                     string    `json:"xname"`
	PowerState                string    `json:"powerState"`
	ManagementState           string    `json:"managementState"`
	Error                     *string   `json:"error"`
	SupportedPowerTransitions []string  `json:"supportedPowerTransitions"`
	LastUpdated               time.Time `json:"lastUpdated"`
}

// PowerStatusAll is a power-status reply.
type PowerStatusAll struct {
	Status []PowerStatus `json:"status"`
}
