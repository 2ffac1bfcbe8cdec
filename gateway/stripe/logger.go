package stripe

import "github.com/rs/zerolog"

// Logger adapts zerolog to stripe-go's LeveledLoggerInterface. stripe-go's lines name
// requests and retries, never card fields; the scrub writer under every logger backs that up.
type Logger struct{ L zerolog.Logger }

// Debugf drops the line: stripe-go's debug lines carry whole request and response bodies
// (a customer's email and name, for one), and tokenwall never logs a body, at any level.
func (l Logger) Debugf(string, ...any) {}

// Infof logs at debug level too: stripe-go's info lines are per-request chatter.
func (l Logger) Infof(format string, v ...any) {
	l.L.Debug().Str("component", "stripe-go").Msgf(format, v...)
}

// Warnf logs at warn level.
func (l Logger) Warnf(format string, v ...any) {
	l.L.Warn().Str("component", "stripe-go").Msgf(format, v...)
}

// Errorf logs at warn level: tokenwall logs the failure of the request itself as an error.
func (l Logger) Errorf(format string, v ...any) {
	l.L.Warn().Str("component", "stripe-go").Msgf(format, v...)
}
