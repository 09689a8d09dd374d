package devserver

import (
	"fmt"
	"net"
	"strconv"
)

// ports are the TCP ports of one embedded server.
type ports struct {
	frontend, frontendHTTP, history, matching, worker int
	ui                                                int // -1: no UI
}

// reservePorts checks that the ports asked for are free and picks free ones
// for the rest (and for 0). The frontend and its HTTP API take ip; the UI
// and the internal ports (history, matching, worker) take loopback.
// internalFirst, when not 0, pins the internal ports: history, matching,
// worker, frontend HTTP, in that order. It holds every port while it picks,
// so no two come out the same, then releases them all for the server to
// bind.
//
// The check matters: the UI server ends the process when it cannot listen.
// A port can still be taken between this check and the bind; then the
// frontend fails to start (an error), and the UI is only started once the
// frontend is up, after a second check.
func reservePorts(ip, loopback string, frontend, ui, internalFirst int) (p ports, err error) {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	take := func(host string, port int, flag string) (int, error) {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if port == 0 {
				return 0, fmt.Errorf("devserver: find a free port on %s: %w", host, err)
			}
			return 0, portInUse(port, err, flag)
		}
		held = append(held, ln)
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	if p.frontend, err = take(ip, frontend, "--port"); err != nil {
		return p, err
	}
	p.ui = -1
	if ui >= 0 {
		if p.ui, err = take(loopback, ui, "--ui-port"); err != nil {
			return p, err
		}
	}
	internal := []struct {
		port *int
		host string
	}{{&p.history, loopback}, {&p.matching, loopback}, {&p.worker, loopback}, {&p.frontendHTTP, ip}}
	for i, q := range internal {
		want := 0
		if internalFirst > 0 {
			want = internalFirst + i
		}
		if *q.port, err = take(q.host, want, "--internal-ports"); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkFree reports whether port can be listened on now.
func checkFree(ip string, port int, flag string) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return portInUse(port, err, flag)
	}
	return ln.Close()
}

func portInUse(port int, err error, flag string) error {
	return fmt.Errorf("port %d is in use: %v; pick another with %s", port, err, flag)
}
