package slurmapi

import (
	"errors"

	"net/http"
)

// Code says what kind of failure an Error is; one function (Code.HTTPStatus) maps it to HTTP.
type Code uint8

// Error codes.
const (
	CodeInvalid  Code = iota + 1 // bad request: syntax, unknown keyword, missing reason
	CodeNotFound                 // unknown node, job or partition
	CodeConflict                 // state forbids it, e.g. cancelling an issued reboot
)

// HTTPStatus maps a code to the status our API answers with.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

// Slurm error numbers we report (slurm_errno.h); other errors carry 0.
const (
	ErrnoInvalidPartitionName = 2000
	ErrnoInvalidNodeCount     = 2006
	ErrnoInvalidJobID         = 2017
	ErrnoInvalidNodeName      = 2018
)

// Error is a failure from the controller, carried unchanged through the HTTP API (as a
// slurmrestd errors[] entry) so the client and the command-line front ends print the same
// text slurmctld would.
type Error struct {
	Code  Code
	Errno int
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// CodeOf returns the code of err if it is (or wraps) an *Error, else 0.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
