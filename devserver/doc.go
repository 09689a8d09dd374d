// Package devserver runs an embedded Temporal server for one machine: the
// Temporal server's own packages with SQLite persistence (a file that
// survives restarts, or memory), the namespace registered on first start
// and drillctl's search attributes on every start (Config.Retention sets
// its retention), SQLite visibility for list queries, and the Temporal Web
// UI (assets embedded).
//
//	srv, err := devserver.Start(ctx, devserver.Config{DBFile: file, Port: devserver.DefaultPort,
//		UIPort: devserver.DefaultUIPort, TLSDir: dir})
//	if err != nil { … }           // e.g. "port 7233 is in use: …; pick another with --port"
//	defer srv.Stop()
//	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
//		ConnectionOptions: client.ConnectionOptions{TLS: …}}) // srv.Credentials(): CA, client certificate
//
// It opens nothing it does not have to. With Config.TLSDir, the frontend
// and the internal ports speak mutual TLS with a CA generated in that
// folder (LoadOrCreateCredentials); without it, the frontend may only
// listen on loopback. The internal ports (history, matching, worker) and
// the Web UI always listen on loopback; the UI, which has no login, only
// reads when TLS is on.
//
// It runs with LowLatencyDynamicConfig and DefaultSQLitePragmas, which take a
// sequential drill step from ~50 ms to ~7 ms (BenchmarkSequentialActivity).
//
// It is used by `drillctl dev`, `drillctl demo` and end-to-end tests only;
// nothing else may import it, so the server (a large build) stays out of
// other binaries. It must never end the process it runs in: ports are
// checked before anything listens (the UI server exits on a listen error),
// and the server's fatal logs are only logged. It must never download
// anything at run time (no testsuite.StartDevServer).
package devserver
