package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML and env as Go duration text ("5s", "1h30m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration as Go does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses duration text.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return d.UnmarshalText([]byte(n.Value))
}

// UnmarshalText parses duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use e.g. 5s, 2m, 1h)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes duration text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ByteSize is a size in bytes written as a plain number or with a unit (KiB, MiB, KB, MB).
type ByteSize int64

// UnmarshalYAML parses a size.
func (s *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	return s.UnmarshalText([]byte(n.Value))
}

// UnmarshalText parses a size.
func (s *ByteSize) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(text, u.suffix) {
			text, mult = strings.TrimSpace(strings.TrimSuffix(text, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(text, 10, 64)
	// The second test refuses sizes whose byte count does not fit in an int64.
	if err != nil || v < 0 || v > math.MaxInt64/mult {
		return fmt.Errorf("%q is not a size (use e.g. 65536, 64KiB, 1MiB)", b)
	}
	*s = ByteSize(v * mult)
	return nil
}

// MarshalYAML writes the size in bytes.
func (s ByteSize) MarshalYAML() (any, error) { return int64(s), nil }

// Int returns the size as an int64.
func (s ByteSize) Int() int64 { return int64(s) }
