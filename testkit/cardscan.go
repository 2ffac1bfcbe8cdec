package testkit

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tokenwall/tokenwall/scrub"
)

const (
	// chunkSize is how much of a file is read at a time.
	chunkSize = 64 << 10
	// overlap is how much of a chunk's end is scanned again with the next chunk. A card number
	// spans at most 23 bytes (19 digits, 4 separators), so every number starting in a chunk is
	// seen whole.
	overlap = 64
	// maxGroups is how many digit groups one card number may span (4-4-4-4-3 is 5), as in scrub.
	maxGroups = 5
)

// Finding is a card number found in a file. It never holds the number itself.
type Finding struct {
	// Path is the file's path.
	Path string
	// Offset is where the number starts, in bytes; in a .gz file, in the decompressed data.
	Offset int64
	// Brand is the card network.
	Brand scrub.Brand
	// Masked is the number's last four digits behind stars, as "****4242".
	Masked string
}

// String prints the finding as "path:offset: visa ****4242".
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s %s", f.Path, f.Offset, f.Brand, f.Masked)
}

// ScanForCards reads every regular file under root, whatever its size, and reports the card
// numbers in it: 13 to 19 digits in an issuer range, Luhn-valid, written plain or in groups
// split by single spaces or dashes, as scrub finds them. Files ending in .gz are
// decompressed first. Symbolic links are not followed.
func ScanForCards(root string) ([]Finding, error) {
	var found []Finding
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("testkit: scan: %w", err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fileFound, err := scanFile(path)
		found = append(found, fileFound...)
		return err
	})
	return found, err
}

// scanFile scans one file, decompressing it when its name ends in .gz.
func scanFile(path string) (found []Finding, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("testkit: scan: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("testkit: scan: %w", cerr)
		}
	}()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("testkit: scan %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	err = scanReader(r, func(off int64, brand scrub.Brand, last4 string) {
		found = append(found, Finding{Path: path, Offset: off, Brand: brand, Masked: "****" + last4})
	})
	if err != nil {
		return found, fmt.Errorf("testkit: scan %s: %w", path, err)
	}
	return found, nil
}

// scanReader reads r in chunks and calls report for each card number. The last overlap bytes
// of each chunk are kept and scanned with the next one; a number is only decided where it
// starts in the part of the buffer that will not be read again.
func scanReader(r io.Reader, report func(off int64, brand scrub.Brand, last4 string)) error {
	buf := make([]byte, 0, overlap+chunkSize)
	var (
		base    int64 // offset of buf[0] in the stream
		before  byte  // the byte just before buf[0]; 0 at the start
		skipTo  int64 // the end of the last number found: groups before it are taken
		scratch [19]byte
	)
	for {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		limit := len(buf)
		if !eof {
			limit -= overlap
		}
		for i := max(0, int(skipTo-base)); i < limit; i++ {
			prev := before
			if i > 0 {
				prev = buf[i-1]
			}
			if !isDigit(buf[i]) || isDigit(prev) {
				continue
			}
			if end, brand, digits, ok := matchAt(buf, i, scratch[:0]); ok {
				report(base+int64(i), brand, string(digits[len(digits)-4:]))
				skipTo = base + int64(end)
				i = end - 1
			}
		}
		if eof {
			return nil
		}
		before = buf[len(buf)-overlap-1]
		base += int64(len(buf) - overlap)
		buf = buf[:copy(buf, buf[len(buf)-overlap:])]
	}
}

// matchAt tries the groups starting at buf[i], a digit that starts a group, the way scrub
// does: windows of up to maxGroups whole groups joined by one space or dash, longest first.
// It returns the end of the first window that is a card number, and its digits in dst.
func matchAt(buf []byte, i int, dst []byte) (end int, brand scrub.Brand, digits []byte, ok bool) {
	var ends [maxGroups]int
	var lens [maxGroups]int
	n, j := 0, i
	for n < maxGroups {
		start := j
		for j < len(buf) && isDigit(buf[j]) {
			j++
		}
		ends[n], lens[n] = j, j-start
		n++
		if j+1 < len(buf) && (buf[j] == ' ' || buf[j] == '-') && isDigit(buf[j+1]) {
			j++
			continue
		}
		break
	}
	for b := n - 1; b >= 0; b-- {
		total := 0
		for g := 0; g <= b; g++ {
			total += lens[g]
		}
		if total < 13 || total > 19 {
			continue
		}
		d := dst[:0]
		for k := i; k < ends[b]; k++ {
			if isDigit(buf[k]) {
				d = append(d, buf[k])
			}
		}
		// The same hex-string rule as the scrubber: digits inside a hash or an id are not a card.
		if brand, ok := scrub.IsPAN(d); ok && !scrub.InHexToken(buf, i) && !scrub.InHexToken(buf, ends[b]-1) {
			return ends[b], brand, d, true
		}
	}
	return 0, "", nil, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
