package devserver

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/drillctl/drillctl/statedir"
)

// StateDirEnv names the environment variable that moves drillctl's state
// directory (see package statedir).
const StateDirEnv = statedir.Env

// StateDir is where `drillctl dev` keeps its state (statedir.Dir): the
// clients (worker.StateDir) find what dev wrote there.
func StateDir() (string, error) { return statedir.Dir() }

// DefaultDBFile is where `drillctl dev` keeps its SQLite file: temporal.db
// in the StateDir.
func DefaultDBFile() (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "temporal.db"), nil
}

// DefaultTLSDir is where `drillctl dev` keeps the CA and certificates of
// its mutual TLS: tls in the StateDir. Clients on this machine look there
// (worker.DevTLSDir).
func DefaultTLSDir() (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "tls"), nil
}

// IsLoopback reports whether host (an IP address or "localhost") can only
// be reached from this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// listenIP turns the IP of Config into the one to listen on: "localhost"
// becomes 127.0.0.1 (the server's own listeners take IP addresses only, and
// would fall back to every interface on anything else).
func listenIP(ip string) (net.IP, error) {
	if ip == "" {
		ip = DefaultIP
	}
	if strings.EqualFold(ip, "localhost") {
		ip = DefaultIP
	}
	parsed := net.ParseIP(strings.Trim(ip, "[]"))
	if parsed == nil {
		return nil, fmt.Errorf("devserver: --ip %q is not an IP address (try 127.0.0.1)", ip)
	}
	return parsed, nil
}

// loopbackFor is the loopback address of ip's family: where the internal
// ports listen and where the server's own clients reach the frontend when it
// listens on every interface.
func loopbackFor(ip net.IP) net.IP {
	if ip.IsLoopback() {
		return ip
	}
	if ip.To4() == nil {
		return net.IPv6loopback
	}
	return net.IPv4(127, 0, 0, 1)
}
