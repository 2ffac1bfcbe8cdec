package htmltok

// For the tests in htmltok_test.
var LookupEntity = lookupEntity

const LongestEntityWithoutSemicolon = longestEntityWithoutSemicolon
