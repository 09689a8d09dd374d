// Command drillctl runs disaster-recovery drills as durable Temporal workflows.
// It only wires the CLI; all behaviour lives in the packages it calls.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/drillctl/drillctl/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Getenv}, os.Args)
	stop()
	os.Exit(code)
}
