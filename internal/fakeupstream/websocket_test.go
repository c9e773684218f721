package fakeupstream_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// wsClient is the smallest WebSocket client that can check the echo: it
// masks what it sends, as RFC 6455 requires of clients, and reads frames
// back one at a time.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialWebSocket(t *testing.T, addr string) *wsClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: echo, chat\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "status", res.StatusCode, http.StatusSwitchingProtocols)
	check(t, "Upgrade", strings.ToLower(res.Header.Get("Upgrade")), "websocket")
	// The accept value for this key is the worked example of RFC 6455 §1.3.
	check(t, "Sec-WebSocket-Accept", res.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
	check(t, "Sec-WebSocket-Protocol", res.Header.Get("Sec-WebSocket-Protocol"), "echo")
	return &wsClient{t: t, conn: conn, br: br}
}

func (c *wsClient) send(fin bool, opcode byte, payload []byte) {
	c.t.Helper()
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	frame := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		frame = append(frame, 0x80|byte(n))
	case n <= 0xffff:
		frame = binary.BigEndian.AppendUint16(append(frame, 0x80|126), uint16(n))
	default:
		frame = binary.BigEndian.AppendUint64(append(frame, 0x80|127), uint64(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := c.conn.Write(frame); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) receive() (fin bool, opcode byte, payload []byte) {
	c.t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		c.t.Fatal(err)
	}
	if hdr[1]&0x80 != 0 {
		c.t.Fatal("server frames must not be masked")
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		io.ReadFull(c.br, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		io.ReadFull(c.br, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.t.Fatal(err)
	}
	return hdr[0]&0x80 != 0, hdr[0] & 0x0f, payload
}

func TestWebSocketEcho(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	ws := dialWebSocket(t, strings.TrimPrefix(hs.URL, "http://"))

	ws.send(true, 0x1, []byte("hello, gateway"))
	fin, op, got := ws.receive()
	check(t, "text fin", fin, true)
	check(t, "text opcode", op, byte(0x1))
	check(t, "text payload", string(got), "hello, gateway")

	// A 70 kB binary message takes the 64-bit length form both ways.
	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 70_000/4)
	ws.send(true, 0x2, big)
	_, op, got = ws.receive()
	check(t, "binary opcode", op, byte(0x2))
	check(t, "binary payload", bytes.Equal(got, big), true)

	// Fragments come back as fragments.
	ws.send(false, 0x1, []byte("frag"))
	ws.send(true, 0x0, []byte("ment"))
	fin, op, got = ws.receive()
	check(t, "first fragment", string(got), "frag")
	check(t, "first fragment fin", fin, false)
	check(t, "first fragment opcode", op, byte(0x1))
	fin, op, got = ws.receive()
	check(t, "last fragment", string(got), "ment")
	check(t, "last fragment fin", fin, true)
	check(t, "continuation opcode", op, byte(0x0))

	ws.send(true, 0x9, []byte("ping!"))
	_, op, got = ws.receive()
	check(t, "pong opcode", op, byte(0xA))
	check(t, "pong payload", string(got), "ping!")

	ws.send(true, 0x8, binary.BigEndian.AppendUint16(nil, 1000))
	_, op, got = ws.receive()
	check(t, "close opcode", op, byte(0x8))
	check(t, "close code", binary.BigEndian.Uint16(got), uint16(1000))
	if _, err := ws.br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after close handshake: %v", err)
	}

	waitIdle(t, fake)
	reqs := fake.Requests()
	check(t, "recorded path", reqs[0].Path, "/ws")
	check(t, "recorded upgrade", reqs[0].Header.Get("Upgrade"), "websocket")
}

func TestWebSocketRejectsProtocolErrors(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	ws := dialWebSocket(t, strings.TrimPrefix(hs.URL, "http://"))
	// An unmasked client frame is a protocol error: close 1002.
	if _, err := ws.conn.Write([]byte{0x81, 0x02, 'h', 'i'}); err != nil {
		t.Fatal(err)
	}
	_, op, got := ws.receive()
	check(t, "close opcode", op, byte(0x8))
	check(t, "close code", binary.BigEndian.Uint16(got), uint16(1002))
	waitIdle(t, fake)
}

func TestWebSocketNeedsUpgrade(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	res, err := hs.Client().Get(hs.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	check(t, "plain GET /ws", res.StatusCode, http.StatusBadRequest)
}

func TestCloseEndsWebSocket(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	ws := dialWebSocket(t, strings.TrimPrefix(hs.URL, "http://"))
	fake.Close()
	if _, err := io.ReadAll(ws.br); err != nil {
		t.Fatalf("connection did not end cleanly: %v", err)
	}
	waitIdle(t, fake)
	check(t, "canceled", fake.Requests()[0].Canceled, true)
}

func TestWebSocketAccept(t *testing.T) {
	check(t, "RFC 6455 example", fakeupstream.WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
}
