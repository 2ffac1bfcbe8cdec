// Package scrubref is a frozen copy of package scrub as it was before the word-at-a-time
// scan of clean text: the reference its differential tests and fuzz target compare with.
// It is used by tests only and must not change.
package scrubref
