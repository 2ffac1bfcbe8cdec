package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

type structFailWriter struct{ after int }

func (w *structFailWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, errStructBoom
	}
	w.after -= len(p)
	return len(p), nil
}

type structFailReader struct {
	r io.Reader
}

func (r structFailReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF {
		return n, errStructBoom
	}
	return n, err
}

func TestJSONIOErrors(t *testing.T) {
	big := "[" + strings.Repeat(`"4242424242424242",`, 20000) + "1]"
	for _, tc := range []struct {
		name string
		dst  io.Writer
		src  io.Reader
		want string
	}{
		{name: "write fails at the final flush", dst: &structFailWriter{}, src: strings.NewReader(`{"a":1}`), want: "scrub: json: write: boom"},
		{name: "write fails mid-document", dst: &structFailWriter{after: 40 << 10}, src: strings.NewReader(big), want: "scrub: json: write: boom"},
		{name: "read fails", dst: io.Discard, src: structFailReader{strings.NewReader(`{"a":[1,2`)}, want: "scrub: json: offset 9: read: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Default().JSON(tc.dst, tc.src)
			if !errors.Is(err, errStructBoom) || errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("err = %v, want one wrapping only errStructBoom", err)
			}
			if err.Error() != tc.want {
				t.Errorf("err = %q, want %q", err, tc.want)
			}
		})
	}
}

// structArrayGen generates a JSON array of n payment records without holding it in memory, and
// calls sample every 4 MB it hands out.
type structArrayGen struct {
	n, i    int
	pending []byte
	out     int64
	next    int64
	sample  func()
}

const structGenCard, structGenMC = "4242424242424242", "5555 5555 5555 4444"

func (g *structArrayGen) Read(p []byte) (int, error) {
	for len(g.pending) == 0 {
		switch {
		case g.i > g.n:
			return 0, io.EOF
		case g.i == g.n:
			g.pending = append(g.pending[:0], "]\n"...)
		case g.i == 0:
			g.pending = append(g.pending[:0], "[\n"...)
		default:
			g.pending = append(g.pending[:0], ",\n"...)
		}
		if g.i < g.n {
			g.pending = fmt.Appendf(g.pending, `  {"id":%d,"card":"%s","cvc":"123","note":"order %d paid with %s","amount":%d.%02d}`,
				g.i, structGenCard, g.i, structGenMC, g.i%1000, g.i%100)
		}
		g.i++
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	g.out += int64(n)
	if g.sample != nil && g.out >= g.next {
		g.sample()
		g.next = g.out + 4<<20
	}
	return n, nil
}

// structCountWriter counts needles in everything written to it, matches across Write calls
// included, holding only a short tail.
type structCountWriter struct {
	needles []string
	counts  []int
	tail    []byte
	n       int64
	first   chan struct{} // closed on the first Write, when set
}

func (w *structCountWriter) Write(p []byte) (int, error) {
	if w.first != nil && w.n == 0 && len(p) > 0 {
		close(w.first)
	}
	w.n += int64(len(p))
	data := append(w.tail, p...)
	for k, nd := range w.needles {
		for off := 0; ; {
			i := bytes.Index(data[off:], []byte(nd))
			if i < 0 {
				break
			}
			if off+i+len(nd) > len(w.tail) { // not counted with the previous Write
				w.counts[k]++
			}
			off += i + 1
		}
	}
	keep := min(len(data), 64)
	w.tail = append(w.tail[:0], data[len(data)-keep:]...)
	return len(p), nil
}

func newStructCountWriter() *structCountWriter {
	needles := []string{"[card:visa:4242]", "[card:mastercard:4444]", `"cvc":"[redacted:cvc]"`, structGenCard, structGenMC}
	return &structCountWriter{needles: needles, counts: make([]int, len(needles))}
}

func (w *structCountWriter) check(t *testing.T, records int) {
	t.Helper()
	for k, want := range []int{records, records, records, 0, 0} {
		if w.counts[k] != want {
			t.Errorf("%s: %d in the output, want %d", hidePAN(w.needles[k]), w.counts[k], want)
		}
	}
}

// TestJSONStreamsBoundedMemory scrubs a 50 MB array through JSON and checks that the heap
// stays small while it does.
func TestJSONStreamsBoundedMemory(t *testing.T) {
	const size = 50 << 20
	records := size / 120
	if testing.Short() {
		records /= 10
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	gen := &structArrayGen{n: records, sample: func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}}
	out := newStructCountWriter()
	start := time.Now()
	if err := Default().JSON(out, gen); err != nil {
		t.Fatal(err)
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d records, %.1f MB in, %.1f MB out in %v; heap in use grew by at most %.1f MB",
		records, float64(gen.out)/(1<<20), float64(out.n)/(1<<20), time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20))
	if !testing.Short() && gen.out < size*9/10 {
		t.Errorf("generated only %d bytes", gen.out)
	}
	if growth > 16<<20 {
		t.Errorf("heap in use grew by %d bytes, want under 16 MB", growth)
	}
	out.check(t, records)
}

// TestJSONStreamsBeforeInputEnds feeds JSON through a pipe and requires output before the
// input is closed.
func TestJSONStreamsBeforeInputEnds(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Default().JSON(outW, inR)
		outW.CloseWithError(err)
		done <- err
	}()
	out := newStructCountWriter()
	out.first = make(chan struct{})
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, outR)
		copied <- err
	}()

	const limit = 8 << 20
	written := 0
	gen := &structArrayGen{n: 1 << 30}
	buf := make([]byte, 4096)
	for started := false; !started; {
		select {
		case <-out.first:
			started = true
			continue
		default:
		}
		if written > limit {
			t.Fatalf("no output after %d bytes of input", written)
		}
		n, _ := gen.Read(buf)
		if _, err := inW.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		written += n
	}
	t.Logf("output began after %d bytes of input", written)
	records := gen.i // one per piece generated so far; the next piece closes the array
	gen.n = gen.i
	if _, err := io.Copy(inW, gen); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-copied; err != nil {
		t.Fatal(err)
	}
	out.check(t, records)
}

// TestJSONLongString scrubs one string far longer than every buffer.
func TestJSONLongString(t *testing.T) {
	pad := strings.Repeat("lorem ipsum ", 300000)
	in := `{"note":"` + pad + `4242424242424242 ` + pad + `","n":1}`
	want := `{"note":"` + pad + `[card:visa:4242] ` + pad + `","n":1}`
	checkJSON(t, Default(), in, want)
}

// BenchmarkJSON reports the throughput of JSON on webhook-like documents, with and without
// card numbers in them.
func BenchmarkJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		card string
	}{
		{name: "clean", card: "tok_1AbcDEFghi"},
		{name: "cards", card: structGenCard},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var doc bytes.Buffer
			for i := 0; doc.Len() < 1<<20; i++ {
				fmt.Fprintf(&doc, `{"id":"evt_%d","type":"charge.succeeded","data":{"object":{"amount":%d,"currency":"eur","description":"order %d","source":"%s","metadata":{"cart":"c-%d"}}}}`+"\n", i, i*7, i, bc.card, i)
			}
			in := []byte("[" + strings.ReplaceAll(strings.TrimSpace(doc.String()), "\n", ",\n") + "]")
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Default().JSON(io.Discard, bytes.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
