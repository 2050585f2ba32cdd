// Command crmbot is the crmbot server: Dynamics 365 in Slack and Microsoft Teams.
//
//	crmbot [serve]                      run the bot server (the default)
//	crmbot sandbox --addr 127.0.0.1:8089 run the Dataverse sandbox alone
//	crmbot rotate-keys                  re-encrypt stored tokens with the current key
//	crmbot teams-package                write the Teams app package (zip)
//	crmbot version                      print the version
//
// This file is wiring only: configuration in, parts built, parts started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // -h: the flags were printed; asking for help is no failure
		}
		fmt.Fprintln(os.Stderr, "crmbot:", err)
		if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
			os.Exit(1) // Docker: 1 is "unhealthy"; 2 is reserved
		}
		os.Exit(2)
	}
}

// run dispatches a subcommand; main's only job is to give it the process's world.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "sandbox":
		return runSandbox(ctx, args, stderr)
	case "rotate-keys":
		return rotateKeys(ctx, args, getenv, stdout, stderr)
	case "teams-package":
		return teamsPackage(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "crmbot", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage:
  crmbot [serve]            run the bot server (configuration from the environment; see README)
  crmbot sandbox [flags]    run the Dataverse sandbox alone (crmbot sandbox -h for flags)
  crmbot rotate-keys        re-encrypt stored tokens with the first CRMBOT_ENCRYPTION_KEY key
  crmbot teams-package      write the Teams app package zip (crmbot teams-package -h for flags)
  crmbot healthcheck        probe /livez once, exit non-zero unless it answers 2xx (crmbot healthcheck -h for flags)
  crmbot version            print the version
`
