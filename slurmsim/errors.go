package slurmsim

import (
	"fmt"

	"github.com/cray-bos/bos/api/slurmapi"
)

// Constructors of the controller's errors, by kind.

func invalidf(errno int, format string, args ...any) *slurmapi.Error {
	return &slurmapi.Error{Code: slurmapi.CodeInvalid, Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

func notFoundf(errno int, format string, args ...any) *slurmapi.Error {
	return &slurmapi.Error{Code: slurmapi.CodeNotFound, Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

func conflictf(errno int, format string, args ...any) *slurmapi.Error {
	return &slurmapi.Error{Code: slurmapi.CodeConflict, Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

// errInvalidNode is what slurmctld answers for a node list naming an unknown node.
func errInvalidNode() *slurmapi.Error {
	return notFoundf(slurmapi.ErrnoInvalidNodeName, "Invalid node name specified")
}
