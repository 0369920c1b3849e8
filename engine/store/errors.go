package store

import (
	"errors"
	"fmt"
)

// Error codes. They are the AWS Kinesis error type names, so the HTTP face can
// answer with them unchanged and SDK retry logic behaves as it does on AWS.
const (
	CodeResourceNotFound              = "ResourceNotFoundException"
	CodeResourceInUse                 = "ResourceInUseException"
	CodeInvalidArgument               = "InvalidArgumentException"
	CodeValidation                    = "ValidationException"
	CodeLimitExceeded                 = "LimitExceededException"
	CodeProvisionedThroughputExceeded = "ProvisionedThroughputExceededException"
	CodeExpiredIterator               = "ExpiredIteratorException"
	CodeInternalFailure               = "InternalFailure"
)

// Error is a failure the caller can act on. Code is one of the Code* constants
// (an AWS error type name); Message is written for people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errf(code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of err when it is (or wraps) an *Error, and
// CodeInternalFailure for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternalFailure
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return err != nil && ErrorCode(err) == code }
