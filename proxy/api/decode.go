package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/proxy"
)

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// decodeOptionalJSON is decodeJSON for a body that may also be empty.
func decodeOptionalJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return errors.Join(proxy.ErrMalformedJSON, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	return decodeJSON(c, v)
}

// decodeJSON reads one JSON object into v, refusing unknown fields and trailing data. The
// decoder's own text never reaches the client: it may quote the body.
func decodeJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return errors.Join(proxy.ErrMalformedJSON, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if n := strings.Trim(name, `"`); fieldName.MatchString(n) {
				return fmt.Errorf("%w: unknown field %s", proxy.ErrUnknownField, n)
			}
			return proxy.ErrUnknownField
		}
		return errors.Join(proxy.ErrMalformedJSON, err)
	}
	if dec.More() {
		return proxy.ErrMalformedJSON
	}
	return nil
}
