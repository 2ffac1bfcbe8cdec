package scrubref

import "bytes"

// ibanLengths is each IBAN country's total length (ISO 13616 registry).
var ibanLengths = map[[2]byte]int{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20,
	{'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'R'}: 29, {'B', 'Y'}: 28, {'C', 'H'}: 21,
	{'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'K'}: 18, {'D', 'O'}: 28,
	{'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27,
	{'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23, {'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28,
	{'H', 'R'}: 21, {'H', 'U'}: 28, {'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26,
	{'I', 'T'}: 27, {'J', 'O'}: 30, {'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32,
	{'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20, {'L', 'V'}: 21, {'M', 'C'}: 27, {'M', 'D'}: 24,
	{'M', 'E'}: 22, {'M', 'K'}: 19, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'L'}: 18,
	{'N', 'O'}: 15, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25, {'Q', 'A'}: 29,
	{'R', 'O'}: 24, {'R', 'S'}: 22, {'S', 'A'}: 24, {'S', 'C'}: 31, {'S', 'E'}: 24, {'S', 'I'}: 19,
	{'S', 'K'}: 24, {'S', 'M'}: 27, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24,
	{'T', 'R'}: 26, {'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20,
}

// iban finds an IBAN whose check digits start at i: two capital letters before, the
// country's length, groups of four separated by single spaces or none, and a valid
// ISO 7064 mod-97 check.
func iban(src []byte, i int) (Finding, bool) {
	if i < 2 || !isUpper(src[i-2]) || !isUpper(src[i-1]) || (i >= 3 && isAlnum(src[i-3])) {
		return Finding{}, false
	}
	want, ok := ibanLengths[[2]byte{src[i-2], src[i-1]}]
	if !ok {
		return Finding{}, false
	}
	var chars [34]byte
	n, j := 0, i-2
	for j < len(src) && n < want {
		c := src[j]
		switch {
		case c >= '0' && c <= '9' || isUpper(c):
			chars[n] = c
			n++
			j++
		case c == ' ' && n%4 == 0 && n > 0 && j+1 < len(src) && isAlnum(src[j+1]):
			j++
		default:
			return Finding{}, false
		}
	}
	if n != want || (j < len(src) && isAlnum(src[j])) || chars[2] > '9' || chars[3] > '9' {
		return Finding{}, false
	}
	// Move the first four characters to the end and take the number mod 97, letters as 10–35.
	rem := 0
	for k := 0; k < n; k++ {
		c := chars[(k+4)%n]
		if c >= 'A' {
			rem = (rem*100 + int(c-'A'+10)) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	if rem != 1 {
		return Finding{}, false
	}
	return Finding{Kind: KindIBAN, Start: i - 2, End: j}, true
}

func wordStart(src []byte, at int) bool { return at == 0 || !isAlnum(src[at-1]) }

// tokenEnd returns the end of a run of token bytes (letters, digits and extra) from i.
func tokenEnd(src []byte, i int, extra string) int {
	for i < len(src) && (isAlnum(src[i]) || bytes.IndexByte([]byte(extra), src[i]) >= 0) {
		i++
	}
	return i
}

// stripeSecret finds a Stripe secret at the underscore at i: sk_live_, sk_test_, rk_live_,
// rk_test_ (API keys) and whsec_ (webhook signing secrets); and tokenwall's own API keys,
// twk_ID_SECRET.
func stripeSecret(src []byte, i int) (Finding, bool) {
	if i >= 2 && (src[i-2] == 's' || src[i-2] == 'r') && src[i-1] == 'k' && wordStart(src, i-2) &&
		i+6 <= len(src) && (string(src[i+1:i+6]) == "live_" || string(src[i+1:i+6]) == "test_") {
		if e := tokenEnd(src, i+6, ""); e-(i+6) >= 4 {
			return Finding{Kind: KindAPIKey, Start: i - 2, End: e}, true
		}
	}
	if i >= 3 && string(src[i-3:i]) == "twk" && wordStart(src, i-3) {
		if e := tokenEnd(src, i+1, "_"); e-(i+1) >= 16 {
			return Finding{Kind: KindAPIKey, Start: i - 3, End: e}, true
		}
	}
	if i >= 5 && string(src[i-5:i]) == "whsec" && wordStart(src, i-5) {
		if e := tokenEnd(src, i+1, "+/="); e-(i+1) >= 8 {
			return Finding{Kind: KindSecret, Start: i - 5, End: e}, true
		}
	}
	return Finding{}, false
}

// vaultToken finds a Vault service, batch or recovery token (hvs., hvb., hvr.) at the dot at i.
func vaultToken(src []byte, i int) (Finding, bool) {
	if i < 3 || src[i-3] != 'h' || src[i-2] != 'v' || (src[i-1] != 's' && src[i-1] != 'b' && src[i-1] != 'r') || !wordStart(src, i-3) {
		return Finding{}, false
	}
	if e := tokenEnd(src, i+1, "_-"); e-(i+1) >= 20 {
		return Finding{Kind: KindToken, Start: i - 3, End: e}, true
	}
	return Finding{}, false
}

// bearer finds the credential after "Bearer " (any case) at the space at i.
func bearer(src []byte, i int) (Finding, bool) {
	if i < 6 || !wordStart(src, i-6) || (src[i-1]|0x20) != 'r' || !bytes.EqualFold(src[i-6:i], []byte("bearer")) {
		return Finding{}, false
	}
	if e := tokenEnd(src, i+1, "._~+/=-"); e-(i+1) >= 8 {
		return Finding{Kind: KindToken, Start: i + 1, End: e}, true
	}
	return Finding{}, false
}
