package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/metrics"
	"github.com/drillctl/drillctl/worker"
)

// observeFlags are the flags of the commands that run a worker (dev,
// worker): Prometheus metrics and Go's profiler, each on its own listener.
func observeFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "metrics-addr", EnvVars: []string{"DRILLCTL_METRICS_ADDR"}, Category: "Observability",
			Usage: "serve Prometheus metrics (the Temporal SDK's and drillctl's) at http://`HOST:PORT`/metrics; " +
				":PORT listens on loopback, 0.0.0.0:PORT on every interface (default: none)"},
		&ucli.StringFlag{Name: "pprof-addr", EnvVars: []string{"DRILLCTL_PPROF_ADDR"}, Category: "Observability",
			Usage: "serve Go's profiler (net/http/pprof) at http://`HOST:PORT`/debug/pprof/; :PORT listens on loopback (default: none)"},
	}
}

// observability is what a worker process shows of itself: its logger,
// and the metrics and profiler it serves.
type observability struct {
	logger  *slog.Logger
	metrics *metrics.Metrics // nil without --metrics-addr
	// metricsURL and pprofURL are where they are served ("" when not).
	metricsURL, pprofURL string
	stops                []func()
}

// startObservability builds the logger and starts the metrics and
// profiler listeners the flags ask for. stop ends them; it is safe on a
// partly started value.
func startObservability(c *ucli.Context) (*observability, error) {
	o := &observability{}
	var err error
	if o.logger, err = logger(c); err != nil {
		return nil, err
	}
	if addr := c.String("metrics-addr"); addr != "" {
		if o.metrics, err = metrics.New(); err != nil {
			return nil, exitf(ExitUsage, "--metrics-addr: %v", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", o.metrics.Handler())
		url, stop, err := serve(o.logger, "--metrics-addr", addr, mux)
		if err != nil {
			return nil, err
		}
		o.metricsURL = url + "/metrics"
		o.stops = append(o.stops, stop, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = o.metrics.Close(ctx)
		})
	}
	if addr := c.String("pprof-addr"); addr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		url, stop, err := serve(o.logger, "--pprof-addr", addr, mux)
		if err != nil {
			o.stop()
			return nil, err
		}
		o.pprofURL = url + "/debug/pprof/"
		o.stops = append(o.stops, stop)
	}
	return o, nil
}

// instrument gives the connection the process's logger and the SDK's
// metrics, and the activities the drill metrics.
func (o *observability) instrument(conn *worker.Connection, acts *worker.Settings) {
	conn.Logger = o.logger
	if o.metrics != nil {
		conn.Metrics = o.metrics.SDK()
		acts.Observer = o.metrics
	}
}

// stop closes the listeners, last started first.
func (o *observability) stop() {
	for i := len(o.stops) - 1; i >= 0; i-- {
		o.stops[i]()
	}
	o.stops = nil
}

// banner lists what is served, one line each, for the start banners.
func (o *observability) banner() []string {
	var lines []string
	if o.metricsURL != "" {
		lines = append(lines, "Metrics          "+o.metricsURL)
	}
	if o.pprofURL != "" {
		lines = append(lines, "Profiling        "+o.pprofURL)
	}
	return lines
}

// serve listens on addr (a bare :PORT on loopback) and serves h there in
// the background. It returns the base URL and how to stop.
func serve(logger *slog.Logger, flag, addr string, h http.Handler) (string, func(), error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, exitf(ExitUsage, "%s %q: expected HOST:PORT or :PORT (%v)", flag, addr, err)
	}
	if host == "" {
		host = "127.0.0.1" // nothing beyond this machine unless asked
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", nil, exitf(ExitUsage, "%s %s: %v; pick another address", flag, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("listener stopped", "flag", flag, "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
	return fmt.Sprintf("http://%s", ln.Addr()), func() { srv.Close() }, nil
}
