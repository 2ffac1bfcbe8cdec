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
