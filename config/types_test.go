package config

import (
	"testing"
	"time"
)

func TestByteSizeUnmarshalText(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    ByteSize
		wantErr bool
	}{
		{name: "plain", text: "65536", want: 65536},
		{name: "KiB", text: "64KiB", want: 64 << 10},
		{name: "MiB with space", text: "1 MiB", want: 1 << 20},
		{name: "MB", text: "2MB", want: 2_000_000},
		{name: "bytes", text: "10B", want: 10},
		{name: "negative", text: "-1", wantErr: true},
		{name: "fraction", text: "1.5MiB", wantErr: true},
		{name: "word", text: "lots", wantErr: true},
		{name: "overflow", text: "9999999999GiB", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got ByteSize
			err := got.UnmarshalText([]byte(tc.text))
			if (err != nil) != tc.wantErr {
				t.Fatalf("UnmarshalText(%q) error = %v, want error %v", tc.text, err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("UnmarshalText(%q) = %d, want %d", tc.text, got, tc.want)
			}
		})
	}
}

func TestDurationUnmarshalText(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Duration
		wantErr bool
	}{
		{name: "seconds", text: "5s", want: Duration(5 * time.Second)},
		{name: "compound", text: "1h30m", want: Duration(90 * time.Minute)},
		{name: "spaces trimmed", text: " 2m ", want: Duration(2 * time.Minute)},
		{name: "no unit", text: "5", wantErr: true},
		{name: "words", text: "5 minutes", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Duration
			err := got.UnmarshalText([]byte(tc.text))
			if (err != nil) != tc.wantErr {
				t.Fatalf("UnmarshalText(%q) error = %v, want error %v", tc.text, err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("UnmarshalText(%q) = %s, want %s", tc.text, got, tc.want)
			}
		})
	}
}
