package app

import (
	"net"
	"strconv"

	"github.com/ongoingai/gateway/internal/config"
)

// HealthURL is where a process on this machine reaches the /api/health of
// a gateway listening as s says (a wildcard host is dialled on loopback).
func HealthURL(s config.Server) string {
	return "http://" + net.JoinHostPort(dialHost(s.Host), strconv.Itoa(s.Port)) + "/api/health"
}
