package playground

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const npmPackage = "@microsoft/m365agentsplayground"

// ensureInstalled makes sure node_modules in dir holds the version
// package-lock.json pins, running npm ci if not, and returns the CLI's path.
// A lock file keeps test binaries that start at once (go test runs packages
// in parallel) from running npm ci over each other.
func ensureInstalled(ctx context.Context, dir string) (string, error) {
	want, err := pinnedVersion(dir)
	if err != nil {
		return "", err
	}
	cli := filepath.Join(dir, "node_modules", npmPackage, "cli.js")
	if installedVersion(dir) == want {
		return cli, nil
	}
	unlock, err := lockFile(ctx, filepath.Join(os.TempDir(), fmt.Sprintf("crmbot-playground-npm-%x.lock", sha256.Sum256([]byte(dir)))))
	if err != nil {
		return "", err
	}
	defer unlock()
	if installedVersion(dir) == want { // another test binary installed it meanwhile
		return cli, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("%s %s is not installed in %s and npm is not on PATH", npmPackage, want, dir)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	if got := installedVersion(dir); got != want {
		return "", fmt.Errorf("npm ci in %s installed %s %q, package-lock.json pins %q", dir, npmPackage, got, want)
	}
	return cli, nil
}

func pinnedVersion(dir string) (string, error) {
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err == nil {
		err = json.Unmarshal(data, &lock)
	}
	if err != nil {
		return "", fmt.Errorf("read the pinned playground version: %w", err)
	}
	v := lock.Packages["node_modules/"+npmPackage].Version
	if v == "" {
		return "", fmt.Errorf("%s/package-lock.json does not pin %s", dir, npmPackage)
	}
	return v, nil
}

func installedVersion(dir string) string {
	var pkg struct {
		Version string `json:"version"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", npmPackage, "package.json"))
	if err != nil || json.Unmarshal(data, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// lockFile takes an exclusive lock by creating path; a lock older than ten
// minutes is left over from a killed run and is broken.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > 10*time.Minute {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s (another npm ci?): %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
