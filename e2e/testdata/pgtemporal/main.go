// Command pgtemporal runs a Temporal server on PostgreSQL the way a
// self-hosted cluster runs one, for drillctl's end-to-end tests
// (e2e/prod_test.go): the server's own packages and their postgres12 plugin
// for persistence and visibility, the schema set up and upgraded by the
// server's schema tool (what temporal-sql-tool runs), ringpop membership
// rather than static hosts, the server's default dynamic config, and the
// namespace registered through the frontend as an operator would
// (temporal operator namespace create).
//
//	pgtemporal -pg 127.0.0.1:5432 -user postgres -port 17233 -namespace drills
//
// It prints "ready ADDRESS" on stdout once the namespace answers, and stops
// on SIGINT or SIGTERM. Its ports are -port (frontend gRPC) and the eight
// after it (membership ports, the other services, the frontend's HTTP API).
// It lives under testdata so `go build ./...` skips it: build it by path.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the postgres12 plugin
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
	"google.golang.org/protobuf/types/known/durationpb"
)

func main() {
	pg := flag.String("pg", "127.0.0.1:5432", "PostgreSQL host:port")
	user := flag.String("user", "postgres", "PostgreSQL user")
	password := flag.String("password", "", "PostgreSQL password")
	port := flag.Int("port", 7233, "frontend gRPC port; the eight ports after it are taken too")
	namespace := flag.String("namespace", "default", "namespace to register")
	retention := flag.Duration("retention", 72*time.Hour, "the namespace's retention")
	level := flag.String("log-level", "warn", "server log level")
	flag.Parse()
	if err := run(*pg, *user, *password, *port, *namespace, *retention, *level); err != nil {
		fmt.Fprintf(os.Stderr, "pgtemporal: %v\n", err)
		os.Exit(1)
	}
}

func run(pg, user, password string, port int, namespace string, retention time.Duration, level string) error {
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: level}))
	for _, db := range []struct{ name, schema string }{
		{"temporal", "postgresql/v12/temporal"},
		{"temporal_visibility", "postgresql/v12/visibility"},
	} {
		if err := setUpSchema(&config.SQL{PluginName: "postgres12", ConnectAddr: pg, ConnectProtocol: "tcp",
			User: user, Password: password, DatabaseName: db.name}, db.schema, logger); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(pg, user, password, port, level)
	if err != nil {
		return err
	}
	serverLogger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, serverLogger)
	if err != nil {
		return fmt.Errorf("claim mapper: %w", err)
	}
	// Not temporal.InterruptOn: with it, Start blocks until the signal.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(cfg),
		temporal.WithLogger(serverLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
	)
	if err != nil {
		return fmt.Errorf("build server: %w", err)
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer s.Stop()
	address := fmt.Sprintf("127.0.0.1:%d", port)
	if err := registerNamespace(address, namespace, retention); err != nil {
		return err
	}
	fmt.Printf("ready %s\n", address)
	<-ctx.Done()
	return nil
}

// setUpSchema creates the database when it is missing, then sets the
// schema up and upgrades it to the newest version, as
// `temporal-sql-tool create-database; setup-schema -v 0.0; update-schema
// --schema-name NAME` do.
func setUpSchema(cfg *config.SQL, name string, logger log.Logger) error {
	db := cfg.DatabaseName
	if err := sqltool.DoCreateDatabase(cfg, "postgres", logger); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	cfg.DatabaseName = db
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect to database %s: %w", db, err)
	}
	defer conn.Close()
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("set up the schema of %s: %w", db, err)
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: db, SchemaName: name}, logger).Run(); err != nil {
		return fmt.Errorf("update the schema of %s to %s: %w", db, name, err)
	}
	return nil
}

// configTemplate is the server's static config: what development-postgres12.yaml
// in the server's repository says, on loopback ports of our choosing.
var configTemplate = template.Must(template.New("config").Funcs(template.FuncMap{
	"add": func(a, b int) int { return a + b },
}).Parse(`
log:
  stdout: true
  level: {{.Level}}
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "{{.PG}}"
        connectProtocol: tcp
        user: "{{.User}}"
        password: "{{.Password}}"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "{{.PG}}"
        connectProtocol: tcp
        user: "{{.User}}"
        password: "{{.Password}}"
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: {grpcPort: {{.Port}}, membershipPort: {{add .Port 1}}, bindOnIP: 127.0.0.1, httpPort: {{add .Port 8}}}
  history:
    rpc: {grpcPort: {{add .Port 2}}, membershipPort: {{add .Port 3}}, bindOnIP: 127.0.0.1}
  matching:
    rpc: {grpcPort: {{add .Port 4}}, membershipPort: {{add .Port 5}}, bindOnIP: 127.0.0.1}
  worker:
    rpc: {grpcPort: {{add .Port 6}}, membershipPort: {{add .Port 7}}, bindOnIP: 127.0.0.1}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:{{.Port}}
      httpAddress: 127.0.0.1:{{add .Port 8}}
dcRedirectionPolicy:
  policy: noop
archival:
  history: {state: disabled}
  visibility: {state: disabled}
namespaceDefaults:
  archival:
    history: {state: disabled}
    visibility: {state: disabled}
`))

// loadConfig writes the static config to a file and loads it as the
// server's own binary does (config.Load, which validates it).
func loadConfig(pg, user, password string, port int, level string) (*config.Config, error) {
	dir, err := os.MkdirTemp("", "pgtemporal-config-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "config.yaml")
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"PG": pg, "User": user, "Password": password, "Port": port, "Level": level}
	if err := configTemplate.Execute(f, data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the config: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.WithConfigFile(file))
	if err != nil {
		return nil, fmt.Errorf("load the config: %w", err)
	}
	return cfg, nil
}

// registerNamespace registers the namespace through the frontend, waiting
// for the frontend to answer.
func registerNamespace(address, namespace string, retention time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var lastErr error
	for ctx.Err() == nil {
		nc, err := client.NewNamespaceClient(client.Options{HostPort: address})
		if err == nil {
			err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(retention)})
			nc.Close()
			if err == nil || strings.Contains(err.Error(), "already exists") || strings.Contains(err.Error(), "already registered") {
				return nil
			}
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("register namespace %s at %s: %w", namespace, address, lastErr)
}
