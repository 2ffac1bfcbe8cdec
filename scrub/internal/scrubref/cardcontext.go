package scrubref

// Card context: some card numbers (UATP's 15 digits starting with 1, GPN's 1946, 12-digit
// Maestro) have the shape of numbers that fill logs (ids, timestamps in microseconds, tweet
// ids), so they count only where the text says a card is meant: under a card key
// ("card_number=…", `"pan":…`, any key scrub.KeyKind calls a card key) or after a card word
// within cardWordReach bytes ("card", "carte", "karte", "tarjeta", "maestro", "uatp", and the
// short words "pan" and "cc" standing alone).
//
// The look back never enters a finding made before in the same text, nor a redaction that an
// earlier pass wrote (it stops at the "]" that ends one): what a second pass sees before a
// number is what the first saw, so scrubbing stays idempotent. A structured scrubber (JSON,
// Form, URL) passes the output it has written before a value as pre, so that a value is
// judged by the same bytes a text scan of the whole output would see.

const (
	// cardWordReach is how far before a number a card word counts.
	cardWordReach = 32
	// cardReach is how much text before a value a structured scrubber keeps as its context:
	// a card key and the quotes and spaces around it fit.
	cardReach = 128
)

// cardScope is what the card-context rule may read before a number in src: src itself from
// next on (the end of the last finding), and pre, the text before src, when no finding in
// src came first.
type cardScope struct {
	pre  []byte
	src  []byte
	next int
	keys *keyTable
	// noFirst6: a card finding leaves First6 empty. Set where the findings never leave the
	// package and the mask does not show the first six digits, so a card costs no allocation.
	noFirst6 bool
}

// floor is the lowest index the rule may read; indexes below 0 are in pre.
func (c *cardScope) floor() int {
	if c.next > 0 {
		return c.next
	}
	return -len(c.pre)
}

// at returns the byte at k, in src when k >= 0, else in pre.
func (c *cardScope) at(k int) byte {
	if k >= 0 {
		return c.src[k]
	}
	return c.pre[len(c.pre)+k]
}

// hasCardContext reports whether the number that starts at start is under a card key or
// after a card word.
func (c *cardScope) hasCardContext(start int) bool {
	return c.cardWordBefore(start) || c.cardKeyBefore(start)
}

// cardWordBefore reports whether a card word lies in the cardWordReach bytes before start.
func (c *cardScope) cardWordBefore(start int) bool {
	var w [cardWordReach]byte
	n := 0
	for k := start - 1; k >= max(c.floor(), start-cardWordReach); k-- {
		b := c.at(k)
		if b == ']' {
			break // the end of a redaction: its "card" is no card word
		}
		n++
		w[len(w)-n] = b
	}
	return hasCardWord(w[len(w)-n:])
}

// cardWords are the words that say a card number follows. A short one counts only standing
// alone: not inside a longer word ("japan", "account"), though "ccNumber", "pan_number" and
// "PAN:" count.
var cardWords = [...]struct {
	word  string
	short bool
}{
	{word: "card"}, {word: "carte"}, {word: "karte"}, {word: "tarjeta"}, {word: "maestro"},
	{word: "uatp"}, {word: "pan", short: true}, {word: "cc", short: true},
}

// hasCardWord reports whether w holds a card word, in any case.
func hasCardWord(w []byte) bool {
	for i := range w {
		for _, cw := range cardWords {
			if i+len(cw.word) <= len(w) && equalFoldASCII(w[i:i+len(cw.word)], cw.word) &&
				(!cw.short || standsAlone(w, i, i+len(cw.word))) {
				return true
			}
		}
	}
	return false
}

// standsAlone reports whether w[i:j], a short card word, is a word of its own: no letter
// before it, and after it no letter, unless "num" follows ("ccnumber") or an upper-case
// letter follows a lower-case word ("panValue").
func standsAlone(w []byte, i, j int) bool {
	if i > 0 && isLetter(w[i-1]) {
		return false
	}
	if j == len(w) || !isLetter(w[j]) {
		return true
	}
	if j+3 <= len(w) && equalFoldASCII(w[j:j+3], "num") {
		return true
	}
	return isUpper(w[j]) && !isUpper(w[i])
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// equalFoldASCII reports whether b is word (lower case) in any ASCII case.
func equalFoldASCII(b []byte, word string) bool {
	for k := range len(word) {
		c := b[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[k] {
			return false
		}
	}
	return true
}

// cardKeyBefore reports whether the value that holds the number starting at start is under
// a card key, read as keyValue reads a key and its value: the key, spaces, ":" or "=",
// spaces, an optional quote, then spaces, "+" or "-" before the digits.
func (c *cardScope) cardKeyBefore(start int) bool {
	fl := c.floor()
	p := start
	for p > fl && (c.at(p-1) == ' ' || c.at(p-1) == '+' || c.at(p-1) == '-') {
		p--
	}
	if p > fl && (c.at(p-1) == '"' || c.at(p-1) == '\'') {
		p--
	}
	for p > fl && c.at(p-1) == ' ' {
		p--
	}
	if p <= fl || c.at(p-1) != ':' && c.at(p-1) != '=' {
		return false
	}
	p--
	for p > fl && c.at(p-1) == ' ' {
		p--
	}
	var kb [maxKeyLen]byte
	n := 0
	if p > fl && (c.at(p-1) == '"' || c.at(p-1) == '\'') {
		// A quoted key: its opening quote may lie before the last finding, as keySpan
		// allows ("4242… cvc" as a key).
		q := c.at(p - 1)
		p--
		for p > -len(c.pre) && n < maxKeyLen && c.at(p-1) != q {
			n++
			kb[len(kb)-n] = c.at(p - 1)
			p--
		}
		if p <= -len(c.pre) || c.at(p-1) != q {
			return false
		}
	} else {
		for p > fl && n < maxKeyLen && isKeyByte(c.at(p-1)) {
			n++
			kb[len(kb)-n] = c.at(p - 1)
			p--
		}
	}
	if n == 0 {
		return false
	}
	var nb [maxKeyLen]byte
	kind, ok := c.keys.lookup(normKey(nb[:0], kb[len(kb)-n:]))
	return ok && kind == KindCard
}

// tailAppend appends p to w and keeps the last cardReach bytes: the context a structured
// scrubber passes on.
func tailAppend[T ~string | ~[]byte](w []byte, p T) []byte {
	if len(p) >= cardReach {
		return append(w[:0], p[len(p)-cardReach:]...)
	}
	w = append(w, p...)
	if len(w) > cardReach {
		w = w[:copy(w, w[len(w)-cardReach:])]
	}
	return w
}
