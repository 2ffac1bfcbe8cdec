package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML file at path and returns the effective configuration, as Parse does.
// Pass os.Environ() as environ. Load does not validate: call Config.Validate before use.
func Load(path string, environ []string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data, environ)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse returns the effective configuration: Default, then the single YAML document in data
// (unknown keys refused), then the route defaults, then the TOKENWALL_* variables in environ
// (entries "NAME=value"). It does not validate: call Config.Validate before use.
func Parse(data []byte, environ []string) (Config, error) {
	root, err := singleDocument(data)
	if err != nil {
		return Config{}, err
	}
	// The walk names unknown keys by their full path, and every one at once; yaml.v3 names only
	// the Go type and stops at the first value it cannot decode.
	if err := checkNode(root, reflect.TypeFor[Config](), ""); err != nil {
		return Config{}, err
	}

	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("decode: %w", err)
	}
	for i := range c.Pages {
		c.Pages[i] = c.Pages[i].WithDefaults()
	}
	for i := range c.Routes {
		c.Routes[i] = c.Routes[i].WithDefaults()
	}
	if err := applyEnv(&c, environ); err != nil {
		return Config{}, err
	}
	return c, nil
}

// singleDocument returns the mapping at the top of the only YAML document in data.
func singleDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config is empty")
		}
		return nil, fmt.Errorf("parse: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document starts here; the config must be one document", extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, errors.New("config is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the config must be a mapping of keys (listen, vault, routes, …)", root.Line)
	}
	return root, nil
}

// checkNode compares the YAML under n with the Go type t it will decode into, and returns
// every unknown key, misplaced mapping or list, and unparsable duration or size, each naming
// its key path and line.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return nil
	}
	if isText(t) {
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: line %d: expected a single value, got %s", path, n.Line, kindName(n))
		}
		v := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := v.UnmarshalText([]byte(n.Value)); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, n.Line, err)
		}
		return nil
	}

	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: line %d: expected a mapping of keys, got %s", orTop(path), n.Line, kindName(n))
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			keyPath := join(path, key.Value)
			f, ok := fieldByKey(t, key.Value)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: line %d: unknown key %q (known keys here: %s)",
					keyPath, key.Line, key.Value, strings.Join(keysOf(t), ", ")))
				continue
			}
			errs = append(errs, checkNode(value, f.Type, keyPath))
		}
		return errors.Join(errs...)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: line %d: expected a list, got %s", path, n.Line, kindName(n))
		}
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)))
		}
		return errors.Join(errs...)
	default:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: line %d: expected a single value, got %s", path, n.Line, kindName(n))
		}
		// yaml.v3's own message for this names the Go type but not the key, and spans lines.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return fmt.Errorf("%s: line %d: %q is not %s", path, n.Line, n.Value, kindWord(t.Kind()))
		}
		return nil
	}
}

// fieldByKey returns the field of struct type t whose YAML key is key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if k, ok := yamlKey(f); ok && k == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keysOf lists the YAML keys of struct type t in declaration order.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if k, ok := yamlKey(t.Field(i)); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// isNull reports whether n is YAML null (an empty value, "~" or "null").
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindName describes n's kind for an error message.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// kindWord names what a value of kind k must be, for an error message.
func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number in range"
	}
	return "a " + k.String()
}

// join appends key to a dotted key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// orTop names the empty path, the top of the document.
func orTop(path string) string {
	if path == "" {
		return "config"
	}
	return path
}
