package proxy

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// formDoc is an url-encoded form that keeps its fields in order, so the forwarded body
// differs from the posted one only where tokenwall changed it.
type formDoc struct{ pairs [][2]string }

func parseForm(body []byte) (*formDoc, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: form body is not valid utf-8", ErrBadRequest)
	}
	d := &formDoc{}
	for _, part := range strings.Split(string(body), "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: form field has a malformed %%-escape", ErrBadRequest)
		}
		if !utf8.ValidString(key) || !utf8.ValidString(val) {
			return nil, fmt.Errorf("%w: form field is not valid utf-8 once unescaped", ErrBadRequest)
		}
		d.pairs = append(d.pairs, [2]string{key, val})
	}
	return d, nil
}

func (d *formDoc) get(field string) (string, bool) {
	for _, p := range d.pairs {
		if p[0] == field {
			return p[1], true
		}
	}
	return "", false
}

func (d *formDoc) remove(field string) {
	out := d.pairs[:0]
	for _, p := range d.pairs {
		if p[0] != field {
			out = append(out, p)
		}
	}
	d.pairs = out
}

func (d *formDoc) set(field, value string) {
	d.remove(field)
	d.pairs = append(d.pairs, [2]string{field, value})
}

func (d *formDoc) encode() ([]byte, string, error) {
	var b bytes.Buffer
	for i, p := range d.pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	return b.Bytes(), mediaTypes[kindForm], nil
}
