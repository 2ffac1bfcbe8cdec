package config

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// redactedValue replaces whatever might be a secret in Redacted's output.
const redactedValue = "REDACTED"

// Redacted returns the effective configuration as YAML, for `tokenwall check-config`.
//
// The configuration holds no secret by design; this is the backstop for one that was put in
// anyway. A URL's password becomes REDACTED (and so does a bare user name, where Stripe-style
// keys go), as do query values whose names look secret. Outside routes, a non-empty string
// whose key contains token, secret, password or key becomes REDACTED, unless the key ends in
// _file or _path (those hold paths). Route fields are left alone: they are names of body
// fields ("payment_method"), never values.
func (c Config) Redacted() ([]byte, error) {
	// Routes and Methods are the only reference types; copy them so c stays untouched.
	routes := make([]Route, len(c.Routes))
	for i, r := range c.Routes {
		r.Methods = append([]string(nil), r.Methods...)
		routes[i] = r
	}
	c.Routes = routes
	redactValue(reflect.ValueOf(&c).Elem())

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// redactValue masks the strings under struct value v (settable) by their YAML key.
func redactValue(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		k, ok := yamlKey(t.Field(i))
		if !ok {
			continue
		}
		// Slices are skipped: only routes are, and they hold field names; see Redacted.
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(redactString(k, fv.String()))
		case reflect.Struct:
			redactValue(fv)
		}
	}
}

// redactString returns s as it may be printed under key.
func redactString(key, s string) string {
	if s == "" {
		return s
	}
	// *_file and *_path hold where a secret is, *_name which one (a transit key's name).
	if looksSecret(key) && !strings.HasSuffix(key, "_file") && !strings.HasSuffix(key, "_path") && !strings.HasSuffix(key, "_name") {
		return redactedValue
	}
	return redactURL(s)
}

// looksSecret reports whether a key or query parameter name suggests a secret value.
func looksSecret(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"token", "secret", "password", "key"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// redactURL masks the credentials in s when s is a URL, and returns other strings as they are.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Unparsable, so the credentials cannot be cut out; hide it whole if it may have any.
		if strings.ContainsAny(s, "@?") {
			return redactedValue
		}
		return s
	}
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			u.User = url.UserPassword(u.User.Username(), redactedValue)
		} else {
			u.User = url.User(redactedValue)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for name, values := range q {
			if looksSecret(name) {
				for i := range values {
					values[i] = redactedValue
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
