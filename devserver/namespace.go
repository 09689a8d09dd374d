package devserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drillctl/drillctl/worker/searchattrs"
)

// MinRetention is the shortest retention Config.Retention may ask for: the
// server refuses less for a local namespace (system.namespaceMinRetentionLocal).
const MinRetention = time.Hour

// setUpNamespace makes the namespace ready for drills, on every start (a
// database file from an older drillctl catches up): drillctl's search
// attributes registered, and the retention Config asks for.
func (s *Server) setUpNamespace(ctx context.Context) error {
	cl, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := searchattrs.Register(ctx, cl.OperatorService(), s.cfg.Namespace); err != nil {
		return fmt.Errorf("devserver: %w", err)
	}
	if s.cfg.Retention == 0 {
		return nil
	}
	_, err = cl.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: s.cfg.Namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(s.cfg.Retention)},
	})
	if err != nil {
		return fmt.Errorf("devserver: set the retention of namespace %s to %s: %w", s.cfg.Namespace, s.cfg.Retention, err)
	}
	return nil
}

// Retention reads the namespace's retention from the server.
func (s *Server) Retention(ctx context.Context) (time.Duration, error) {
	cl, err := s.dial(ctx)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	desc, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.cfg.Namespace})
	if err != nil {
		return 0, fmt.Errorf("devserver: describe namespace %s: %w", s.cfg.Namespace, err)
	}
	return desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), nil
}

// dial connects a quiet client to the server, as its own: with the client
// certificate when it speaks mutual TLS.
func (s *Server) dial(ctx context.Context) (client.Client, error) {
	opts := client.Options{
		HostPort:  s.frontend,
		Namespace: s.cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	if c := s.creds; c != nil {
		pair, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("devserver: client certificate: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(c.CACert)
		opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: tlsServerName,
			Certificates: []tls.Certificate{pair}, RootCAs: pool}
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("devserver: connect to %s: %w", s.frontend, err)
	}
	return cl, nil
}
