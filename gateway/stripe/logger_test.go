package stripe

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestLoggerDropsBodies: stripe-go's debug lines, which carry request and response bodies,
// never reach the log, even at debug level; its warnings do.
func TestLoggerDropsBodies(t *testing.T) {
	var buf bytes.Buffer
	l := Logger{L: zerolog.New(&buf).Level(zerolog.DebugLevel)}
	l.Debugf("Response: %s", `{"email":"ada@example.com","name":"Ada Lovelace"}`)
	if buf.Len() != 0 {
		t.Fatalf("a debug line was written: %s", buf.String())
	}
	l.Warnf("Request failed with error: %s", "timeout")
	if !strings.Contains(buf.String(), "Request failed") || !strings.Contains(buf.String(), `"level":"warn"`) {
		t.Fatalf("warning not written: %s", buf.String())
	}
}
