package webhooks

import (
	"net/http"
	"time"

	"github.com/tokenwall/tokenwall/signature"
)

// The Tokenwall-Signature scheme lives in package signature; these names stay for the apps
// that verify deliveries with them.
const (
	// SignatureHeader is signature.Header.
	//
	// Deprecated: use signature.Header.
	SignatureHeader = signature.Header
	// DefaultTolerance is signature.DefaultTolerance.
	//
	// Deprecated: use signature.DefaultTolerance.
	DefaultTolerance = signature.DefaultTolerance
)

// Errors of the signature scheme, shared with package signature so one errors.Is covers both.
var (
	// ErrNoSignature is signature.ErrNoSignature.
	ErrNoSignature = signature.ErrNoSignature
	// ErrBadSignatureHeader is signature.ErrBadSignatureHeader.
	ErrBadSignatureHeader = signature.ErrBadSignatureHeader
	// ErrSignatureMismatch is signature.ErrSignatureMismatch.
	ErrSignatureMismatch = signature.ErrSignatureMismatch
	// ErrSignatureTooOld is signature.ErrSignatureTooOld.
	ErrSignatureTooOld = signature.ErrSignatureTooOld
	// ErrBodyTooLarge is signature.ErrBodyTooLarge.
	ErrBodyTooLarge = signature.ErrBodyTooLarge
)

// Sign calls signature.Sign.
//
// Deprecated: use signature.Sign.
func Sign(t time.Time, body []byte, keys ...[]byte) string { return signature.Sign(t, body, keys...) }

// Verify calls signature.Verify.
//
// Deprecated: use signature.Verify.
func Verify(header string, body []byte, keys [][]byte, tolerance time.Duration, now time.Time) error {
	return signature.Verify(header, body, keys, tolerance, now)
}

// VerifyRequest calls signature.VerifyRequest: merchants' Go apps verify tokenwall's
// forwards and deliveries with it.
//
// Deprecated: use signature.VerifyRequest.
func VerifyRequest(r *http.Request, keys [][]byte, maxBytes int64) ([]byte, error) {
	return signature.VerifyRequest(r, keys, maxBytes)
}
