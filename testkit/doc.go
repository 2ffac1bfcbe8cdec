// Package testkit gives tests a folder for their artifacts (child server logs, captured
// output) that outlives the test, and the scanner that proves, after the whole suite, that no
// card number reached any of those files.
package testkit
