package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// jsonDoc is a JSON object body; fields are dotted paths into nested objects.
type jsonDoc struct{ root map[string]any }

func parseJSON(body []byte, maxDepth int) (*jsonDoc, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: json body is not valid utf-8", ErrBadRequest)
	}
	if d := jsonDepth(body); d > maxDepth {
		return nil, fmt.Errorf("%w: json nested %d deep, limit %d", ErrBadRequest, d, maxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, malformed("json", err)
	}
	if root == nil {
		return nil, fmt.Errorf("%w: json body is not an object", ErrBadRequest)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: json body has data after the object", ErrBadRequest)
	}
	return &jsonDoc{root: root}, nil
}

// jsonDepth returns the deepest nesting of objects and arrays, ignoring brackets in strings.
func jsonDepth(b []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// parent walks to the object holding the last segment of path, creating objects when create.
func (d *jsonDoc) parent(path string, create bool) (map[string]any, string) {
	segs := strings.Split(path, ".")
	obj := d.root
	for _, s := range segs[:len(segs)-1] {
		next, ok := obj[s].(map[string]any)
		if !ok {
			if !create {
				return nil, ""
			}
			next = map[string]any{}
			obj[s] = next
		}
		obj = next
	}
	return obj, segs[len(segs)-1]
}

func (d *jsonDoc) get(field string) (string, bool) {
	obj, key := d.parent(field, false)
	if obj == nil {
		return "", false
	}
	switch v := obj[key].(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

func (d *jsonDoc) remove(field string) {
	if obj, key := d.parent(field, false); obj != nil {
		delete(obj, key)
	}
}

func (d *jsonDoc) set(field, value string) {
	obj, key := d.parent(field, true)
	obj[key] = value
}

func (d *jsonDoc) encode() ([]byte, string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d.root); err != nil {
		return nil, "", fmt.Errorf("encode json: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), mediaTypes[kindJSON], nil
}
