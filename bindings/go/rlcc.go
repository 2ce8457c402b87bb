// Package rlcc is the Go binding of librlcc: DBSCAN with scikit-learn's
// labels, the k-reciprocal Jaccard distance re-ID trainers cluster on, and
// RLCC's pseudo labels, cluster consensus and refiner.
//
// Matrices are row-major []float32 slices with their row count and width
// given alongside. Outputs are new Go slices. Every function returns an
// error that is an *Error carrying librlcc's pinned code and its message;
// match codes with errors.Is(err, rlcc.ErrInvalidArgument) and friends.
//
// The package links librlcc.so.1 with cgo, found through pkg-config
// (`#cgo pkg-config: rlcc`): an installed library (make install, or the
// librlcc-dev package) is found as any pkg-config package is, with
// PKG_CONFIG_PATH=PREFIX/lib/pkgconfig outside the system prefix; a checkout
// is found with PKG_CONFIG_PATH=CHECKOUT/build/pkgconfig after `make` (that
// file also records an rpath to the checkout's lib/). See docs/bindings-go.md.
//
// Every function is safe to call from many goroutines at once. The
// library's error message is thread-local in C, and a goroutine may change
// OS thread between two cgo calls, so each call copies the message inside
// the same cgo call (shim.c).
package rlcc

/*
#cgo pkg-config: rlcc
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Code is one of librlcc's pinned error codes (RLCC_E_* in rlcc.h).
type Code int

// The pinned codes; a code never changes its meaning.
const (
	CodeInvalidArgument Code = C.RLCC_E_INVALID_ARGUMENT
	CodeOutOfMemory     Code = C.RLCC_E_OUT_OF_MEMORY
	CodeMemoryLimit     Code = C.RLCC_E_MEMORY_LIMIT
	CodeCanceled        Code = C.RLCC_E_CANCELED
	CodeCallback        Code = C.RLCC_E_CALLBACK
)

// String is the library's text for the code ("invalid argument", ...).
func (c Code) String() string {
	return C.GoString(C.rlcc_strerror(C.int(c)))
}

// Error is a failure reported by librlcc (or refused by this binding before
// the call, with the same codes): the code, the detail message, and for
// CodeCallback the error or panic of the Go callback that stopped the call.
type Error struct {
	Code    Code
	Message string
	// Cause is what a callback returned or panicked with; nil otherwise.
	Cause error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "rlcc: " + e.Code.String()
	}
	return "rlcc: " + e.Code.String() + ": " + e.Message
}

// Unwrap gives the callback's own error, so errors.Is/As reach it.
func (e *Error) Unwrap() error { return e.Cause }

// Is matches the sentinels below by code: errors.Is(err, ErrCanceled).
func (e *Error) Is(target error) bool {
	sentinel, ok := target.(*Error)
	return ok && sentinel.Message == "" && sentinel.Cause == nil && sentinel.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrOutOfMemory     = &Error{Code: CodeOutOfMemory}
	ErrMemoryLimit     = &Error{Code: CodeMemoryLimit}
	ErrCanceled        = &Error{Code: CodeCanceled}
	ErrCallback        = &Error{Code: CodeCallback}
)

// Version is the loaded library's version, e.g. "1.8.0".
func Version() string {
	return C.GoString(C.rlcc_version_string())
}

// VersionNumber is the loaded library's version as MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() int {
	return int(C.rlcc_version_number())
}

// result turns a librlcc return code and the message the shim captured into an error.
func result(code C.int, captured *C.rlcc_go_error) error {
	if code == C.RLCC_OK {
		return nil
	}
	return &Error{Code: Code(code), Message: C.GoString(&captured.message[0])}
}

func invalid(format string, args ...interface{}) error {
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// checkShape refuses a negative shape or one whose size overflows int.
func checkShape(name string, rows, cols int) error {
	if rows < 0 || cols < 0 {
		return invalid("%s: negative shape %d x %d", name, rows, cols)
	}
	if cols != 0 && rows > math.MaxInt/cols {
		return invalid("%s: shape %d x %d overflows", name, rows, cols)
	}
	return nil
}

// checkMatrix refuses a slice that is not rows x cols.
func checkMatrix(name string, length, rows, cols int) error {
	if err := checkShape(name, rows, cols); err != nil {
		return err
	}
	if length != rows*cols {
		return invalid("%s: length %d is not %d x %d", name, length, rows, cols)
	}
	return nil
}

func checkLength(name string, length, want int) error {
	if length != want {
		return invalid("%s: length %d, expected %d", name, length, want)
	}
	return nil
}

// Pointers to the first element of Go slices (nil for an empty slice). The
// slices hold no Go pointers, and C keeps none of them after the call.
func floats(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func int32s(s []int32) *C.int32_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int32_t)(unsafe.Pointer(&s[0]))
}

func int64s(s []int64) *C.int64_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&s[0]))
}

func bytes(s []uint8) *C.uint8_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&s[0]))
}

// rowsArg is the C form of an optional list of sample indices: nil means
// every sample, which the library wants with n_rows == n.
func rowsArg(rows []int64, n int) (*C.int64_t, C.int64_t) {
	if rows == nil {
		return nil, C.int64_t(n)
	}
	if len(rows) == 0 { // an empty list is not "every sample"
		return int64s(make([]int64, 1)), 0
	}
	return int64s(rows), C.int64_t(len(rows))
}

func boolInt(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}
