// Package scrub finds sensitive financial data (card numbers first) and removes it from text
// before it can reach a log line, a database row or a file.
//
// It imports nothing from the rest of tokenwall, so every other package may use it.
package scrub
