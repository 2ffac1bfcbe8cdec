package config

import (
	"encoding"
	"reflect"
	"strings"
)

// yamlKey returns the key a struct field has in YAML, as yaml.v3 derives it, and false for a
// field YAML never sees (unexported or tagged "-").
func yamlKey(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return strings.ToLower(f.Name), true
	}
	return name, true
}

// isText reports whether values of t parse from text themselves (Duration, ByteSize): they are
// leaves, whatever their kind.
func isText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}
