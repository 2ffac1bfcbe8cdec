package proxy

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// maxParts bounds the number of parts of a multipart body.
const maxParts = 256

type mpPart struct {
	header textproto.MIMEHeader
	name   string
	file   bool
	data   []byte
}

// multipartDoc is a multipart/form-data body; card fields are its non-file parts.
type multipartDoc struct{ parts []mpPart }

func parseMultipart(body []byte, boundary string) (*multipartDoc, error) {
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart body without boundary", ErrBadRequest)
	}
	// A body cut short before its close delimiter is refused, not forwarded as if complete.
	if end := bytes.TrimRight(body, "\r\n"); !bytes.HasSuffix(end, []byte("\r\n--"+boundary+"--")) {
		return nil, fmt.Errorf("%w: multipart body has no close delimiter", ErrBadRequest)
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	d := &multipartDoc{}
	for {
		p, err := r.NextRawPart()
		// Only a bare io.EOF is the closing delimiter; a truncated body yields an error that
		// wraps io.EOF, and must be refused rather than forwarded as if complete.
		if err == io.EOF { //nolint:errorlint // see above
			break
		}
		if err != nil {
			return nil, malformed("multipart", err)
		}
		if len(d.parts) == maxParts {
			return nil, fmt.Errorf("%w: more than %d multipart parts", ErrBadRequest, maxParts)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, malformed("multipart part", err)
		}
		switch cte := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))); cte {
		case "", "7bit", "8bit", "binary":
		default:
			return nil, errEncodedPart
		}
		part := mpPart{header: p.Header, name: p.FormName(), file: p.FileName() != "", data: data}
		if !part.file && !utf8.Valid(data) {
			return nil, fmt.Errorf("%w: multipart field is not valid utf-8", ErrBadRequest)
		}
		d.parts = append(d.parts, part)
	}
	if len(d.parts) == 0 {
		return nil, fmt.Errorf("%w: multipart body has no parts", ErrBadRequest)
	}
	return d, nil
}

func (d *multipartDoc) get(field string) (string, bool) {
	for _, p := range d.parts {
		if p.name == field && !p.file {
			return string(p.data), true
		}
	}
	return "", false
}

// remove drops every part named field, file parts included, so a card field sent as a
// "file" cannot slip through.
func (d *multipartDoc) remove(field string) {
	out := d.parts[:0]
	for _, p := range d.parts {
		if p.name != field {
			out = append(out, p)
		}
	}
	d.parts = out
}

func (d *multipartDoc) set(field, value string) {
	d.remove(field)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, field))
	d.parts = append(d.parts, mpPart{header: h, name: field, data: []byte(value)})
}

func (d *multipartDoc) encode() ([]byte, string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range d.parts {
		pw, err := w.CreatePart(p.header)
		if err != nil {
			return nil, "", fmt.Errorf("encode multipart: %w", err)
		}
		if _, err := pw.Write(p.data); err != nil {
			return nil, "", fmt.Errorf("encode multipart: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("encode multipart: %w", err)
	}
	return b.Bytes(), w.FormDataContentType(), nil
}
