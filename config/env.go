package config

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every environment variable that overrides a config key:
// TOKENWALL_ then the key path upper-cased and joined by "_", e.g. TOKENWALL_VAULT_MAX_AGE
// for vault.max_age.
const EnvPrefix = "TOKENWALL_"

// envReserved reports whether name is a TOKENWALL_ variable that is not a config key: other
// parts of tokenwall (the command, the test harness) read these.
func envReserved(name string) bool {
	switch name {
	case "TOKENWALL_CONFIG", "TOKENWALL_BIN", "TOKENWALL_ARTIFACTS":
		return true
	}
	return false
}

// envField is one config value that an environment variable may set.
type envField struct {
	key   string        // YAML key path, e.g. "vault.max_age"
	value reflect.Value // settable
}

// applyEnv sets the fields of c named by TOKENWALL_* entries of environ. Later entries win
// over earlier ones. An empty value sets a string to empty and is an error for other types.
func applyEnv(c *Config, environ []string) error {
	fields, err := envFields(reflect.ValueOf(c).Elem())
	if err != nil {
		return err
	}
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || envReserved(name) {
			continue
		}
		f, ok := fields[name]
		if !ok {
			if !kubernetesServiceVar(name, value) {
				errs = append(errs, unknownEnv(name, fields))
			}
			continue
		}
		if err := setScalar(f.value, value); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", name, f.key, err))
		}
	}
	return errors.Join(errs...)
}

// envFields maps each variable name to the scalar field it sets, found through the yaml tags
// so that a new field is overridable without code here. Lists (routes, methods) are not.
func envFields(root reflect.Value) (map[string]envField, error) {
	fields := map[string]envField{}
	var walk func(v reflect.Value, key string) error
	walk = func(v reflect.Value, key string) error {
		t := v.Type()
		for i := range t.NumField() {
			k, ok := yamlKey(t.Field(i))
			if !ok {
				continue
			}
			fv, fk := v.Field(i), join(key, k)
			switch {
			case isText(fv.Type()) || isScalarKind(fv.Kind()):
				name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(fk, ".", "_"))
				if prev, dup := fields[name]; dup {
					// Two key paths that differ only in where "_" and "." fall, e.g. a.b_c and a_b.c.
					return fmt.Errorf("config keys %s and %s both map to %s", prev.key, fk, name)
				}
				fields[name] = envField{key: fk, value: fv}
			case fv.Kind() == reflect.Struct:
				if err := walk(fv, fk); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return nil, err
	}
	return fields, nil
}

// isScalarKind reports whether a field of kind k takes one value from the environment.
func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// setScalar parses text into v by v's type.
func setScalar(v reflect.Value, text string) error {
	if isText(v.Type()) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return fmt.Errorf("bad value: %w", err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("bad value: %q is not a boolean (use true or false): %w", text, err)
		}
		v.SetBool(b)
	default: // the int kinds, as isScalarKind allows
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("bad value: %q is not a whole number: %w", text, err)
		}
		v.SetInt(n)
	}
	return nil
}

// unknownEnv describes a TOKENWALL_ variable that sets nothing, with the likeliest intended
// name. The value is never printed: a mistyped variable may hold a secret.
func unknownEnv(name string, fields map[string]envField) error {
	if strings.HasPrefix(name, EnvPrefix+"ROUTES") {
		return fmt.Errorf("%s: routes cannot be set from the environment; edit the config file", name)
	}
	if kubeBarePortVar.MatchString(name) {
		return fmt.Errorf("%s: unknown variable, no config key has this name (Kubernetes sets it to tcp://IP:PORT for a Service, "+
			"and this value is not one; the listen port is in TOKENWALL_LISTEN_ADDR)", name)
	}
	best, bestDist := "", len(name)/3+1 // farther than this is a guess, not a typo
	for _, n := range slices.Sorted(maps.Keys(fields)) {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Errorf("%s: unknown variable, no config key has this name (did you mean %s?)", name, best)
	}
	return fmt.Errorf("%s: unknown variable, no config key has this name", name)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
