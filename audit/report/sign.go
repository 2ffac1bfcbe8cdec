package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Signer signs and verifies with a key that never leaves Vault (vault.Transit).
type Signer interface {
	KeyName() string
	Sign(ctx context.Context, data []byte) (string, error)
	Verify(ctx context.Context, data []byte, sig string) (bool, error)
}

// Signature is what a signed report carries: the transit key, the SHA-256 of the signed
// content and the transit signature over that digest.
type Signature struct {
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Signature string `json:"signature"`
}

// Errors of Verify.
var (
	// ErrUnsigned means the file carries no signature.
	ErrUnsigned = errors.New("report: no signature")
	// ErrBadSignature means the content does not match its signature: it was edited.
	ErrBadSignature = errors.New("report: signature does not match the content")
)

// htmlSigPrefix starts the last line of a signed HTML report.
const htmlSigPrefix = "<!-- tokenwall-signature "

// sign signs the SHA-256 of content.
func sign(ctx context.Context, s Signer, content []byte) (Signature, error) {
	sum := sha256.Sum256(content)
	sig, err := s.Sign(ctx, sum[:])
	if err != nil {
		return Signature{}, fmt.Errorf("report: sign: %w", err)
	}
	return Signature{Key: s.KeyName(), SHA256: hex.EncodeToString(sum[:]), Signature: sig}, nil
}

// SignHTML appends the signature to an HTML report as a last-line comment; everything before
// that line is signed.
func SignHTML(ctx context.Context, s Signer, html []byte) ([]byte, error) {
	sig, err := sign(ctx, s, html)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(sig)
	out := append(bytes.Clone(html), htmlSigPrefix...)
	out = append(out, base64.StdEncoding.EncodeToString(b)...)
	return append(out, " -->\n"...), nil
}

// envelope is the signed JSON form: the report's bytes exactly as signed, and the signature.
type envelope struct {
	Report    json.RawMessage `json:"report"`
	Signature Signature       `json:"signature"`
}

// SignJSON wraps the report's JSON in {"report": …, "signature": …}. Both are compact: the
// encoder compacts a RawMessage, so indenting would change the signed bytes.
func SignJSON(ctx context.Context, s Signer, r Report) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	sig, err := sign(ctx, s, body)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(envelope{Report: body, Signature: sig})
	return append(out, '\n'), err
}

// SignDetached signs a file (the PDF form) and returns the detached signature (FILE.sig).
func SignDetached(ctx context.Context, s Signer, content []byte) ([]byte, error) {
	sig, err := sign(ctx, s, content)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(sig, "", " ")
}

// Verify checks a signed report: HTML (signature in its last line) or JSON (envelope), or any
// file with its detached signature. It returns the signature on success.
func Verify(ctx context.Context, s Signer, file, detached []byte) (Signature, error) {
	content, sig, err := split(file, detached)
	if err != nil {
		return Signature{}, err
	}
	sum := sha256.Sum256(content)
	if hex.EncodeToString(sum[:]) != sig.SHA256 {
		return sig, ErrBadSignature
	}
	ok, err := s.Verify(ctx, sum[:], sig.Signature)
	if err != nil {
		return sig, fmt.Errorf("report: verify: %w", err)
	}
	if !ok {
		return sig, ErrBadSignature
	}
	return sig, nil
}

// split separates the signed content from its signature.
func split(file, detached []byte) ([]byte, Signature, error) {
	var sig Signature
	if detached != nil {
		if err := json.Unmarshal(detached, &sig); err != nil || sig.Signature == "" {
			return nil, sig, fmt.Errorf("%w: the detached signature is malformed", ErrUnsigned)
		}
		return file, sig, nil
	}
	if i := bytes.LastIndex(file, []byte(htmlSigPrefix)); i >= 0 {
		rest := bytes.TrimSpace(file[i+len(htmlSigPrefix):])
		enc, ok := bytes.CutSuffix(rest, []byte("-->"))
		raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(enc)))
		if !ok || err != nil || json.Unmarshal(raw, &sig) != nil {
			return nil, sig, fmt.Errorf("%w: the signature line is malformed", ErrUnsigned)
		}
		return file[:i], sig, nil
	}
	var env envelope
	if err := json.Unmarshal(file, &env); err == nil && env.Signature.Signature != "" {
		return env.Report, env.Signature, nil
	}
	return nil, sig, ErrUnsigned
}

// ParseJSON reads the report out of a signed JSON report (without verifying it).
func ParseJSON(file []byte) (Report, error) {
	var env envelope
	if err := json.Unmarshal(file, &env); err != nil {
		return Report{}, err
	}
	var r Report
	err := json.Unmarshal(env.Report, &r)
	return r, err
}
