package kinesisapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kdaproject/kda/engine/store"
)

// Error types this layer raises itself, beyond the store's Code* constants.
const (
	codeSerialization         = "SerializationException"
	codeUnknownOperation      = "UnknownOperationException"
	codeExpiredNextToken      = "ExpiredNextTokenException"
	codeMissingAuthToken      = "MissingAuthenticationTokenException"
	codeIncompleteSignature   = "IncompleteSignatureException"
	codeInvalidSignature      = "InvalidSignatureException"
	codeUnrecognizedClient    = "UnrecognizedClientException"
	codeAccessDenied          = "AccessDeniedException"
	codeRequestEntityTooLarge = "RequestEntityTooLargeException"
)

// apiError is an error answered to the client as {"__type", "message"}.
type apiError struct {
	Code    string
	Message string
	Status  int // HTTP status; 0 means derive it from Code
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newAPIError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func serializationError(msg string) error {
	return &apiError{Code: codeSerialization, Message: msg}
}

func invalidArgument(format string, args ...any) error {
	return newAPIError(store.CodeInvalidArgument, format, args...)
}

// unsupported is the answer to an operation or option kda knows but does not
// implement: an error, never a silent success.
func unsupported(what string) error {
	return invalidArgument("%s is not supported by kda yet", what)
}

// toAPIError turns any error into what is sent: *apiError as is, a store
// error with its code, anything else as InternalFailure.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *store.Error
	if errors.As(err, &se) {
		return &apiError{Code: se.Code, Message: se.Message}
	}
	return &apiError{Code: store.CodeInternalFailure, Message: "internal failure: " + err.Error()}
}

// httpStatus is the status AWS answers with for an error type: 500 for
// internal failures, 400 for everything the client can act on.
func (e *apiError) httpStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Code {
	case store.CodeInternalFailure:
		return http.StatusInternalServerError
	case "ServiceUnavailableException":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// violations collects model-constraint failures and reports them the way
// AWS's request validation does:
//
//	1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null
type violations []string

// add records that value at path broke constraint. value is written as AWS
// writes it: null, or the value in single quotes.
func (v *violations) add(value, path, constraint string) {
	if len(*v) >= 10 { // AWS stops listing after ten
		return
	}
	*v = append(*v, "Value "+value+" at '"+path+"' failed to satisfy constraint: "+constraint)
}

func (v *violations) notNull(path string, isNull bool) {
	if isNull {
		v.add("null", path, "Member must not be null")
	}
}

// intRange checks an optional integer against the model's bounds.
func (v *violations) intRange(path string, n *int, lo, hi int) {
	if n == nil {
		return
	}
	if *n < lo {
		v.add(quote(strconv.Itoa(*n)), path, "Member must have value greater than or equal to "+strconv.Itoa(lo))
	} else if *n > hi {
		v.add(quote(strconv.Itoa(*n)), path, "Member must have value less than or equal to "+strconv.Itoa(hi))
	}
}

// strLen checks an optional string's length in characters.
func (v *violations) strLen(path string, s *string, lo, hi int) {
	if s == nil {
		return
	}
	n := len([]rune(*s))
	if n < lo {
		v.add(quote(*s), path, "Member must have length greater than or equal to "+strconv.Itoa(lo))
	} else if n > hi {
		v.add(quote(*s), path, "Member must have length less than or equal to "+strconv.Itoa(hi))
	}
}

// enum checks an optional string against its allowed values.
func (v *violations) enum(path string, s *string, allowed ...string) {
	if s == nil {
		return
	}
	for _, a := range allowed {
		if *s == a {
			return
		}
	}
	v.add(quote(*s), path, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// pattern checks an optional string with a predicate standing for the
// model's regular expression, quoted in the message.
func (v *violations) pattern(path string, s *string, ok func(string) bool, expr string) {
	if s != nil && !ok(*s) {
		v.add(quote(*s), path, "Member must satisfy regular expression pattern: "+expr)
	}
}

func quote(s string) string { return "'" + s + "'" }

// err returns the ValidationException, or nil when nothing was violated.
func (v violations) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return &apiError{Code: store.CodeValidation, Message: "1 validation error detected: " + v[0]}
	}
	return &apiError{Code: store.CodeValidation,
		Message: strconv.Itoa(len(v)) + " validation errors detected: " + strings.Join(v, "; ")}
}

// isDecimal reports whether s matches 0|([1-9]\d{0,maxDigits-1}).
func isDecimal(s string, maxDigits int) bool {
	if s == "" || len(s) > maxDigits {
		return false
	}
	if s == "0" {
		return true
	}
	if s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ErrorCode is the AWS error code this package answers err with
// (InternalFailure for errors it does not know).
func ErrorCode(err error) string { return toAPIError(err).Code }
