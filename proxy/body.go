package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
)

// document is a parsed request body whose fields can be read, removed and set by name (a
// form field name, or a dotted path for JSON) and which encodes back to a body.
type document interface {
	// get returns the first value of field as text.
	get(field string) (string, bool)
	// remove deletes every occurrence of field.
	remove(field string)
	// set replaces field's value, adding it when absent.
	set(field, value string)
	// encode returns the body and its Content-Type.
	encode() ([]byte, string, error)
}

// Body kinds of a tokenization route.
const (
	kindForm      = "form"
	kindJSON      = "json"
	kindMultipart = "multipart"
)

var mediaTypes = map[string]string{
	kindForm:      "application/x-www-form-urlencoded",
	kindJSON:      "application/json",
	kindMultipart: "multipart/form-data",
}

// parseDocument checks the content type against the route's kind and parses the body.
func parseDocument(kind, contentType string, body []byte, maxDepth int) (document, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.EqualFold(mt, mediaTypes[kind]) {
		return nil, fmt.Errorf("%w: route takes %s, got %q", ErrUnsupportedMedia, mediaTypes[kind], mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, fmt.Errorf("%w: charset %q, only utf-8", ErrUnsupportedMedia, cs)
	}
	switch kind {
	case kindForm:
		return parseForm(body)
	case kindJSON:
		return parseJSON(body, maxDepth)
	case kindMultipart:
		return parseMultipart(body, params["boundary"])
	}
	return nil, fmt.Errorf("%w: unknown body kind %q", ErrBadRequest, kind)
}

// malformed is the error of a body that does not parse: a fixed reason, never the parser's
// own text, which may quote the input (a multipart header line holding a CVC, say) and
// would reach the log.
func malformed(kind string, err error) error {
	reason := "malformed"
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		reason = "truncated"
	case errors.As(err, &se):
		reason = "not valid JSON at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		reason = "a value of the wrong type"
	}
	return fmt.Errorf("%w: %s body: %s", ErrBadRequest, kind, reason)
}
