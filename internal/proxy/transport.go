package proxy

import (
	"net"
	"net/http"
	"time"
)

// TransportOptions tunes the upstream connection pool.
type TransportOptions struct {
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	IdleConnTimeout       time.Duration
	MaxIdleConnsPerHost   int
}

// NewTransport builds the upstream transport of a gateway: a large
// keep-alive pool (hundreds of concurrent streams to one provider are
// normal), bounded connect and header waits, and no total timeout, because a
// reasoning model may stream for many minutes. Compression is left to the
// client: its Accept-Encoding is forwarded as is and the response bytes are
// passed through untouched.
func NewTransport(o TransportOptions) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   o.DialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no global cap; the per-host cap bounds it
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.IdleConnTimeout,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}
