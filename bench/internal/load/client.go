package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// NewClient returns the HTTP/1.1 client a run uses for one target. It keeps
// up to maxConns connections alive, so after warm-up no call pays for a
// handshake; sets TCP_NODELAY explicitly, so small requests leave at once
// (Go's default today, but a measurement should not rest on a default);
// asks for no transparent compression, so bodies are measured as sent; and
// refuses to dial anything but a loopback address, because the harness must
// never send load off this machine.
func NewClient(maxConns int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("load: refusing to dial %s: only loopback IP addresses are allowed", addr)
			}
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if tc, ok := c.(*net.TCPConn); ok {
				if err := tc.SetNoDelay(true); err != nil {
					c.Close()
					return nil, err
				}
			}
			return c, nil
		},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		// Large enough for any JSON answer in one read; streams are read
		// event by event above the transport anyway.
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 8 << 10,
	}
	return &http.Client{Transport: tr}
}

// CloseIdle drops a client's idle connections, so that a finished target
// does not hold sockets (and the server's goroutines) into the next one.
func CloseIdle(c *http.Client) {
	c.CloseIdleConnections()
}

// ReadEvents reads a server-sent-event body from r and calls onEvent with
// each event's index and the moment its terminating blank line was read,
// the client-side arrival time of that event. It returns the number of
// events.
func ReadEvents(r *bufio.Reader, onEvent func(i int, at time.Time)) (int, error) {
	n := 0
	inEvent := false
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: keep consuming it.
			inEvent = true
			continue
		}
		if len(line) > 0 {
			blank := len(line) == 1 || (len(line) == 2 && line[0] == '\r')
			if blank && line[len(line)-1] == '\n' {
				if inEvent {
					onEvent(n, time.Now())
					n++
					inEvent = false
				}
			} else {
				inEvent = true
			}
		}
		if err != nil {
			if err == io.EOF {
				if inEvent {
					onEvent(n, time.Now())
					n++
				}
				return n, nil
			}
			return n, err
		}
	}
}
