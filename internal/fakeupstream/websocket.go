package fakeupstream

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
)

// GET /ws is a WebSocket echo, so a test can prove the gateway passes
// protocol upgrades through intact. The handshake and framing are done by
// hand on the hijacked connection: the fake must not depend on a WebSocket
// library, and echoing frames needs only the framing rules of RFC 6455.

// websocketGUID is the fixed key suffix RFC 6455 uses to derive the accept
// value.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxFramePayload bounds an echoed frame so a broken client cannot make the
// fake allocate without limit.
const maxFramePayload = 16 << 20

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close status codes the echo sends when the client breaks the protocol.
const (
	closeProtocolError = 1002
	closeTooBig        = 1009
)

// WebSocketAccept returns the Sec-WebSocket-Accept value for a
// Sec-WebSocket-Key, which a client uses to check the handshake.
func WebSocketAccept(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, seq uint64) {
	if r.Method != http.MethodGet ||
		!headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") {
		http.Error(w, "fakeupstream: /ws expects a WebSocket upgrade", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "fakeupstream: unsupported WebSocket version", http.StatusUpgradeRequired)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		http.Error(w, "fakeupstream: missing Sec-WebSocket-Key", http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "fakeupstream: cannot hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()

	// The echo must end when the server closes even if the client never
	// hangs up; closing the connection unblocks the read loop.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.closed:
			// Mark first: closing ends the handler, and whoever waits for
			// it (WaitIdle) must then already see the request cancelled.
			s.markCanceled(seq)
			conn.Close()
		case <-done:
		}
	}()

	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	rw.WriteString(WebSocketAccept(key))
	rw.WriteString("\r\n")
	// Agree to the client's first subprotocol so clients that insist on
	// one still connect.
	if p := r.Header.Get("Sec-WebSocket-Protocol"); p != "" {
		first, _, _ := strings.Cut(p, ",")
		rw.WriteString("Sec-WebSocket-Protocol: " + strings.TrimSpace(first) + "\r\n")
	}
	rw.WriteString("\r\n")
	if rw.Flush() != nil {
		return
	}
	echo(rw.Reader, conn)
}

// echo reads client frames and sends each data frame straight back with the
// same fin bit and opcode, so fragmented messages come back fragmented. It
// answers pings and completes the close handshake.
func echo(r *bufio.Reader, conn net.Conn) {
	bw := bufio.NewWriter(conn)
	var payload []byte
	for {
		f, err := readFrame(r, payload[:0])
		payload = f.payload
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				writeClose(bw, pe.code)
			}
			return
		}
		switch f.opcode {
		case opContinuation, opText, opBinary:
			writeFrame(bw, f.fin, f.opcode, f.payload)
		case opPing:
			writeFrame(bw, true, opPong, f.payload)
		case opPong:
			continue
		case opClose:
			// Echoing the status completes the closing handshake.
			writeFrame(bw, true, opClose, f.payload)
			bw.Flush()
			return
		}
		if bw.Flush() != nil {
			return
		}
	}
}

type frame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// protocolError is a client mistake the echo answers with a close frame.
type protocolError struct {
	code uint16
	msg  string
}

func (e *protocolError) Error() string { return "fakeupstream: websocket: " + e.msg }

// readFrame reads one client frame, unmasking its payload into buf.
func readFrame(r *bufio.Reader, buf []byte) (frame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{payload: buf}, err
	}
	f := frame{fin: hdr[0]&0x80 != 0, opcode: hdr[0] & 0x0f, payload: buf}
	if hdr[0]&0x70 != 0 {
		return f, &protocolError{closeProtocolError, "reserved bits set"}
	}
	if hdr[1]&0x80 == 0 {
		return f, &protocolError{closeProtocolError, "client frames must be masked"}
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	switch f.opcode {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !f.fin || n > 125 {
			return f, &protocolError{closeProtocolError, "control frames must be short and unfragmented"}
		}
	default:
		return f, &protocolError{closeProtocolError, "unknown opcode"}
	}
	if n > maxFramePayload {
		return f, &protocolError{closeTooBig, "frame too large"}
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return f, err
	}
	f.payload = slices.Grow(buf[:0], int(n))[:n]
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, err
	}
	for i := range f.payload {
		f.payload[i] ^= mask[i%4]
	}
	return f, nil
}

// writeFrame writes one unmasked server frame.
func writeFrame(w *bufio.Writer, fin bool, opcode byte, payload []byte) {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	w.WriteByte(b0)
	switch n := len(payload); {
	case n <= 125:
		w.WriteByte(byte(n))
	case n <= 0xffff:
		w.WriteByte(126)
		w.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
	default:
		w.WriteByte(127)
		w.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	}
	w.Write(payload)
}

func writeClose(w *bufio.Writer, code uint16) {
	writeFrame(w, true, opClose, binary.BigEndian.AppendUint16(nil, code))
	w.Flush()
}

// headerHasToken reports whether a comma-separated header lists token,
// ignoring case, as Connection: keep-alive, Upgrade does.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
