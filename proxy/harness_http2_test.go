package proxy_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Wait bounds each wait for the server: a read, a write, a goroutine count settling.
const h2Wait = 10 * time.Second

// h2FrameMax is the largest frame the test client writes: HTTP/2's default
// SETTINGS_MAX_FRAME_SIZE, which every server reads.
const h2FrameMax = 16 << 10

// h2Stream is what the server sent on one stream.
type h2Stream struct {
	status int
	body   bytes.Buffer
	// reset is set when the server reset the stream, with its code in resetCode.
	reset     bool
	resetCode http2.ErrCode
	// done is set once the stream ended: END_STREAM from the server, or a reset.
	done bool
}

// h2Conn is one HTTP/2 connection to tokenwall, driven frame by frame: the test writes each
// frame itself (golang.org/x/net/http2's Framer and HPACK), so it can send what no client
// library would, and reads every frame the server sends.
type h2Conn struct {
	conn      *tls.Conn
	fr        *http2.Framer
	enc       *hpack.Encoder
	encBuf    bytes.Buffer
	authority string
	nextID    uint32
	// settings are the server's, from its SETTINGS frames.
	settings map[http2.SettingID]uint32
	streams  map[uint32]*h2Stream
	// goAway is set once the server sent GOAWAY, with its code in goAwayCode.
	goAway     bool
	goAwayCode http2.ErrCode
	// readErr ends the reading: io.EOF or a reset once the server closed the connection,
	// a timeout when it sent nothing for h2Wait. writeErr is the first failed write.
	readErr, writeErr error
}

// dialH2 opens a TLS connection to the harness offering only "h2" in ALPN, fails the test
// unless the server chose it (else every case below would test HTTP/1.1), sends the client
// preface and SETTINGS with large windows, and reads the server's SETTINGS.
func dialH2(t testing.TB, h *harness) *h2Conn {
	t.Helper()
	cfg := h.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = []string{http2.NextProtoTLS}
	addr := strings.TrimPrefix(h.url, "https://")
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: h2Wait}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if p := conn.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		t.Fatalf("ALPN chose %q, not h2", p)
	}
	c := &h2Conn{conn: conn, authority: addr, nextID: 1,
		settings: map[http2.SettingID]uint32{}, streams: map[uint32]*h2Stream{}}
	c.fr = http2.NewFramer(conn, conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.encBuf)
	_ = conn.SetWriteDeadline(time.Now().Add(h2Wait))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30}),
		c.fr.WriteWindowUpdate(0, 1<<30)); err != nil {
		t.Fatal(err)
	}
	for len(c.settings) == 0 {
		if !c.readFrame() {
			t.Fatalf("no SETTINGS from the server: %v", c.readErr)
		}
	}
	return c
}

// newStream is the next client stream id.
func (c *h2Conn) newStream() uint32 {
	id := c.nextID
	c.nextID += 2
	return id
}

// stream is what the server sent on id so far.
func (c *h2Conn) stream(id uint32) *h2Stream {
	s, ok := c.streams[id]
	if !ok {
		s = &h2Stream{}
		c.streams[id] = s
	}
	return s
}

// readFrame reads one frame and records it, answering SETTINGS and PING as a client must.
// It returns false once reading ended (readErr says why).
func (c *h2Conn) readFrame() bool {
	if c.readErr != nil {
		return false
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(h2Wait))
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.readErr = err
		return false
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			_ = f.ForeachSetting(func(s http2.Setting) error { c.settings[s.ID] = s.Val; return nil })
			c.noteWrite(c.fr.WriteSettingsAck())
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			c.noteWrite(c.fr.WritePing(true, f.Data))
		}
	case *http2.GoAwayFrame:
		c.goAway, c.goAwayCode = true, f.ErrCode
	case *http2.MetaHeadersFrame:
		s := c.stream(f.StreamID)
		if st, err := strconv.Atoi(f.PseudoValue("status")); err == nil {
			s.status = st
		}
		s.done = s.done || f.StreamEnded()
	case *http2.DataFrame:
		s := c.stream(f.StreamID)
		s.body.Write(f.Data())
		s.done = s.done || f.StreamEnded()
	case *http2.RSTStreamFrame:
		s := c.stream(f.StreamID)
		s.reset, s.resetCode, s.done = true, f.ErrCode, true
	}
	return true
}

// await reads until stream id ended or the reading did, and returns the stream.
func (c *h2Conn) await(id uint32) *h2Stream {
	for !c.stream(id).done && c.readFrame() {
	}
	return c.stream(id)
}

// awaitEnd reads until the server closed the connection or sent nothing for h2Wait; it
// reports whether the server closed it.
func (c *h2Conn) awaitEnd() bool {
	for c.readFrame() {
	}
	var ne net.Error
	return !errors.As(c.readErr, &ne) || !ne.Timeout()
}

// noteWrite keeps the first failed write: a server that closed the connection makes the
// rest fail, which the cases check rather than stop on.
func (c *h2Conn) noteWrite(err error) error {
	if err != nil && c.writeErr == nil {
		c.writeErr = err
	}
	return err
}

// fields are the request pseudo-headers of method and path (the authority is the
// harness's address) followed by extra, given as name, value pairs.
func (c *h2Conn) fields(method, path string, extra ...string) []hpack.HeaderField {
	fs := []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: c.authority}, {Name: ":path", Value: path}}
	for i := 0; i+1 < len(extra); i += 2 {
		fs = append(fs, hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	return fs
}

// writeHeaders sends fields on stream id as one HEADERS frame and as many CONTINUATION
// frames as the header block needs.
func (c *h2Conn) writeHeaders(id uint32, endStream bool, fields []hpack.HeaderField) error {
	c.encBuf.Reset()
	for _, f := range fields {
		_ = c.enc.WriteField(f)
	}
	block := c.encBuf.Bytes()
	first := block[:min(len(block), h2FrameMax)]
	rest := block[len(first):]
	_ = c.conn.SetWriteDeadline(time.Now().Add(h2Wait))
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0})
	for err == nil && len(rest) > 0 {
		n := min(len(rest), h2FrameMax)
		err = c.fr.WriteContinuation(id, n == len(rest), rest[:n])
		rest = rest[n:]
	}
	return c.noteWrite(err)
}

// writeData sends data on stream id.
func (c *h2Conn) writeData(id uint32, endStream bool, data []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(h2Wait))
	return c.noteWrite(c.fr.WriteData(id, endStream, data))
}

// writeReset resets stream id with code.
func (c *h2Conn) writeReset(id uint32, code http2.ErrCode) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(h2Wait))
	return c.noteWrite(c.fr.WriteRSTStream(id, code))
}

// do sends a whole request on a new stream (body, when not nil, as one DATA frame) and
// waits for the answer; a failed write, or no answer, fails t.
func (c *h2Conn) do(t testing.TB, method, path string, body []byte, extra ...string) *h2Stream {
	t.Helper()
	id := c.newStream()
	if err := c.writeHeaders(id, body == nil, c.fields(method, path, extra...)); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		if err := c.writeData(id, true, body); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	s := c.await(id)
	if !s.done {
		t.Fatalf("%s %s: no answer: %v", method, path, c.readErr)
	}
	return s
}

// requireH2Healthy fails t unless a new HTTP/2 connection gets 200 from /healthz: the
// server outlived what the case did to it.
func requireH2Healthy(t testing.TB, h *harness) {
	t.Helper()
	if s := dialH2(t, h).do(t, http.MethodGet, "/healthz", nil); s.status != http.StatusOK {
		t.Fatalf("/healthz on a new connection: status %d, reset %v", s.status, s.reset)
	}
}

// goroutineWatch counts the process's goroutines: the server runs in this process, so a
// handler or connection goroutine it keeps shows here.
type goroutineWatch struct {
	// base is the goroutine count once the watch started.
	base int
	// handlers is the most requests seen inside tokenwall's handler chain at once.
	handlers   atomic.Int64
	stop, done chan struct{}
}

// watchGoroutines takes the baseline and, until t ends, samples how many goroutines are
// inside tokenwall's handler chain (every 2 ms: each sample stops the world).
func watchGoroutines(t testing.TB) *goroutineWatch {
	w := &goroutineWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			if n := int64(inHandlers()); n > w.handlers.Load() {
				w.handlers.Store(n)
			}
			select {
			case <-w.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(w.stop); <-w.done })
	w.base = runtime.NumGoroutine()
	return w
}

// inHandlers counts the goroutines whose stack is inside Echo's ServeHTTP: requests being
// handled. A handler goroutine that returned but has not exited yet is not one; counting
// all goroutines would count those too.
func inHandlers() int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	n, count, counted := 0, 0, false
	for line := range strings.Lines(b.String()) {
		if head, _, ok := strings.Cut(line, " @ "); ok {
			count, _ = strconv.Atoi(head)
			counted = false
		} else if !counted && strings.Contains(line, "labstack/echo/v4.(*Echo).ServeHTTP") {
			n, counted = n+count, true
		}
	}
	return n
}

// settle waits until at most slack goroutines more than the baseline run, and fails t if
// that takes longer than h2Wait.
func (w *goroutineWatch) settle(t testing.TB, slack int) {
	t.Helper()
	deadline := time.Now().Add(h2Wait)
	for runtime.NumGoroutine() > w.base+slack {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines over the %d before, %s after the case; want at most %d", runtime.NumGoroutine()-w.base, w.base, h2Wait, slack)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
