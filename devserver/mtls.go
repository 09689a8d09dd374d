package devserver

import (
	"encoding/base64"
	"net"
	"os"

	"go.temporal.io/server/common/config"
)

// tlsServerName is the name the server's own clients (its nodes, its
// system workers, the Web UI) verify the server certificate against: it is
// in every server certificate, whatever IP the frontend listens on.
const tlsServerName = "localhost"

// certificateHosts are the names the server certificate must cover:
// loopback always, the IP the frontend listens on when it is a specific
// one, and the host's name when it listens on every interface (clients
// coming by IP then verify with --tls-server-name localhost).
func certificateHosts(ip net.IP) []string {
	hosts := []string{tlsServerName, "127.0.0.1", "::1"}
	switch {
	case ip.IsUnspecified():
		if name, err := os.Hostname(); err == nil && name != "" && name != tlsServerName {
			hosts = append(hosts, name)
		}
	case !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback):
		hosts = append(hosts, ip.String())
	}
	return hosts
}

// rootTLS is the server's TLS: mutual TLS on the frontend (gRPC and HTTP)
// and between the server's own nodes, one CA for all.
//
// Who presents what:
//   - clients of the frontend (CLI, workers, the Web UI): the client
//     certificate, verified against the CA;
//   - history, matching, frontend and worker services to each other
//     (internode): the server certificate, which is also a client's;
//   - the worker service's system workers (schedules, batch jobs) to the
//     frontend: the server certificate too (SystemWorker), through
//     PublicClient.HostPort.
//
// Every client verifies the server certificate against the CA for the
// name "localhost". The material is passed inline (base64 PEM), so the
// running server does not depend on the files staying in place.
func (s *Server) rootTLS() config.RootTLS {
	b64 := base64.StdEncoding.EncodeToString
	ca := []string{b64(s.creds.CACert)}
	server := config.ServerTLS{
		CertData:          b64(s.creds.ServerCert),
		KeyData:           b64(s.creds.ServerKey),
		ClientCAData:      ca,
		RequireClientAuth: true,
	}
	client := config.ClientTLS{ServerName: tlsServerName, RootCAData: ca}
	return config.RootTLS{
		Internode: config.GroupTLS{Server: server, Client: client},
		Frontend:  config.GroupTLS{Server: server, Client: client},
		SystemWorker: config.WorkerTLS{
			CertData: b64(s.creds.ServerCert),
			KeyData:  b64(s.creds.ServerKey),
			Client:   client,
		},
	}
}
