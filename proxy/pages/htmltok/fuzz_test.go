package htmltok_test

import "testing"

// FuzzSameAsXNet holds htmltok's tokenizer to x/net's on any input, read in any chunks,
// with any buffer limit and options.
func FuzzSameAsXNet(f *testing.F) {
	for i, tc := range tricky {
		f.Add([]byte(tc.in), uint64(i), uint16(i%7), uint16(i))
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, maxBuf, flags uint16) {
		o := optionsFrom(seed, int(maxBuf%512), flags)
		if diff := same(in, o); diff != "" {
			t.Fatalf("input %q\n%s\n%s", in, o, diff)
		}
	})
}
