// Package deploy_test checks the deployment files (Dockerfile, .dockerignore, deploy/compose,
// deploy/kubernetes) with the real parsers of the tools that read them: Kubernetes' API types with
// strict decoding, the compose-spec loader, BuildKit's Dockerfile parser and Docker's .dockerignore
// matcher. It also builds the binary the way the Dockerfile does and runs it.
package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	composetypes "github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/testkit"
)

// Shutdown budget (internal/server, cmd/crmbot): after SIGTERM the server
// keeps serving for CRMBOT_DRAIN_DELAY, then in-flight requests get up to
// 25 s, background Slack/Teams work up to 20 s more, and the sync and
// delivery loops up to 10 s.
const (
	requestGrace    = 25
	backgroundGrace = 20
	loopGrace       = 10
)

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- configuration variables

var quotedName = regexp.MustCompile(`"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"`)

// configVars is the set of environment variables crmbot's configuration
// reads: every upper-case name quoted in internal/config/config.go that
// config.Load actually reacts to (setting it changes the result), so a name
// that is only mentioned there, or misspelt here, is not one.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	src := readFile(t, "internal/config/config.go")
	base, baseErr := config.Load(func(string) string { return "" })
	if baseErr != nil {
		t.Fatalf("config.Load with an empty environment: %v", baseErr)
	}
	vars := map[string]bool{}
	for _, m := range quotedName.FindAllStringSubmatch(string(src), -1) {
		name := m[1]
		if vars[name] {
			continue
		}
		got, err := config.Load(func(k string) string {
			if k == name {
				return "https://probe.invalid/x"
			}
			return ""
		})
		if err != nil || !reflect.DeepEqual(got, base) {
			vars[name] = true
		}
	}
	for _, must := range []string{"CRMBOT_ADDR", "CRMBOT_PUBLIC_URL", "REDIS_URL", "CRMBOT_ENCRYPTION_KEY",
		"DATAVERSE_URL", "DATAVERSE_CLIENT_SECRET", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID",
		"MICROSOFT_APP_PASSWORD", "CRMBOT_SYNC_INTERVAL"} {
		if !vars[must] {
			t.Fatalf("configVars did not find %s in internal/config/config.go (found %d names): the derivation is broken", must, len(vars))
		}
	}
	return vars
}

func checkVarNames(t *testing.T, where string, names []string, vars map[string]bool) {
	t.Helper()
	for _, n := range names {
		if !vars[n] {
			t.Errorf("%s: %s is not a configuration variable crmbot reads (internal/config/config.go)", where, n)
		}
	}
}

// secretLike reports whether a variable holds a credential.
func secretLike(name string) bool {
	for _, s := range []string{"SECRET", "PASSWORD", "TOKEN", "ENCRYPTION_KEY", "REDIS_URL"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("CRMBOT_ADDR %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("CRMBOT_ADDR %q: port is not a number", addr)
	}
	return int32(n)
}

// ---- Dockerfile

type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string
	final    instructions.Stage
	build    instructions.Stage // the stage the final one copies the binary from
	user     string
	expose   []string
	health   []string // HEALTHCHECK test, exec form
	entry    []string
	binary   string // where the final stage puts the binary
	goBuild  *instructions.RunCommand
}

// parseDockerfile reads the Dockerfile with BuildKit's own parser and
// instruction decoder (what `docker build` runs), linter on.
func parseDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readFile(t, "Dockerfile")))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile lint %s: %s (%s)", rule, msg, url)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	d := &dockerfile{stages: stages, metaArgs: map[string]string{}}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			d.metaArgs[kv.Key] = kv.ValueString()
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a multi-stage build (builder + runtime)", len(stages))
	}
	d.final = stages[len(stages)-1]
	for _, c := range d.final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			d.user = c.User
		case *instructions.ExposeCommand:
			d.expose = append(d.expose, c.Ports...)
		case *instructions.HealthCheckCommand:
			d.health = c.Health.Test
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				t.Errorf("ENTRYPOINT %q is in shell form: the runtime image has no shell", c.CmdLine)
			}
			d.entry = c.CmdLine
		case *instructions.CmdCommand:
			if c.PrependShell {
				t.Errorf("CMD %q is in shell form: the runtime image has no shell", c.CmdLine)
			}
		case *instructions.RunCommand:
			t.Errorf("the runtime stage has RUN %q: it has no shell; do the work in the build stage", c.CmdLine)
		case *instructions.CopyCommand:
			if c.From == "" {
				continue
			}
			for _, s := range stages {
				if s.Name == c.From {
					d.build = s
				}
			}
			d.binary = c.DestPath
		}
	}
	if d.build.Name == "" {
		t.Fatal("the runtime stage copies nothing from a build stage")
	}
	for _, c := range d.build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			d.goBuild = r
		}
	}
	if d.goBuild == nil {
		t.Fatalf("build stage %q has no RUN ... go build", d.build.Name)
	}
	return d
}

// expand substitutes ${VAR} the way BuildKit does.
func expand(t *testing.T, s string, env map[string]string) string {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	out, _, err := shell.NewLex('\\').ProcessWord(s, shell.EnvsFromSlice(kv))
	if err != nil {
		t.Fatalf("expanding %q: %v", s, err)
	}
	return out
}

// nonRootUID parses a USER / user: value and insists on a numeric, non-zero
// uid: Kubernetes' runAsNonRoot can only verify a numeric one.
func nonRootUID(t *testing.T, where, user string) int {
	t.Helper()
	u, _, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(u)
	if err != nil {
		t.Errorf("%s: user %q is not numeric (Kubernetes runAsNonRoot cannot verify a name)", where, user)
		return -1
	}
	if uid == 0 {
		t.Errorf("%s: user %q is root", where, user)
	}
	return uid
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)

	// Builder: golang at go.mod's Go version.
	base := expand(t, d.build.BaseName, d.metaArgs)
	goMod := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, "go.mod"))
	if goMod == nil {
		t.Fatal("go.mod has no go directive")
	}
	if want := "golang:" + string(goMod[1]); base != want && !strings.HasPrefix(base, want+"@") && !strings.HasPrefix(base, want+"-") {
		t.Errorf("build stage FROM %s, want %s (go.mod says go %s)", base, want, goMod[1])
	}
	var modCache bool
	for _, c := range d.build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			// Mount options are parsed when the build expands the command.
			if err := r.Expand(func(w string) (string, error) { return expand(t, w, d.metaArgs), nil }); err != nil {
				t.Fatalf("RUN %q: %v", r.CmdLine, err)
			}
			for _, m := range instructions.GetMounts(r) {
				modCache = modCache || (m.Type == instructions.MountTypeCache && m.Target == "/go/pkg/mod")
			}
		}
	}
	if !modCache {
		t.Error("no RUN --mount=type=cache,target=/go/pkg/mod in the build stage")
	}
	env, args := goBuildCommand(t, d, "v-test")
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("go build runs with CGO_ENABLED=%q, want 0 (a static binary for distroless/static)", env["CGO_ENABLED"])
	}
	for _, want := range []string{"-trimpath", "-ldflags"} {
		if !slices.Contains(args, want) {
			t.Errorf("go build %q lacks %s", args, want)
		}
	}
	if i := slices.Index(args, "-ldflags"); i >= 0 && i+1 < len(args) {
		for _, want := range []string{"-s", "-w", "-X main.version=v-test"} {
			if !strings.Contains(args[i+1], want) {
				t.Errorf("-ldflags %q lacks %q", args[i+1], want)
			}
		}
	}

	// Runtime: distroless static, non-root, exec-form healthcheck through the binary itself.
	final := expand(t, d.final.BaseName, d.metaArgs)
	if !(strings.HasPrefix(final, "gcr.io/distroless/static") && strings.Contains(final, ":nonroot")) && final != "scratch" {
		t.Errorf("final FROM %s, want gcr.io/distroless/static-debian12:nonroot (or scratch)", final)
	}
	if d.user == "" {
		t.Error("the runtime stage sets no USER")
	} else if uid := nonRootUID(t, "Dockerfile USER", d.user); uid != 65532 && uid > 0 {
		t.Errorf("USER %s: want 65532, distroless' nonroot (the Kubernetes and compose files use it)", d.user)
	}
	if !slices.Contains(d.expose, "3978") && !slices.Contains(d.expose, "3978/tcp") {
		t.Errorf("EXPOSE %q, want 3978", d.expose)
	}
	if len(d.entry) == 0 || d.entry[0] != d.binary {
		t.Errorf("ENTRYPOINT %q does not run the copied binary %s", d.entry, d.binary)
	}
	if want := []string{"CMD", d.binary, "healthcheck"}; len(d.health) < 3 || !slices.Equal(d.health[:3], want) {
		t.Errorf("HEALTHCHECK %q, want exec form %q (no shell in the image)", d.health, want)
	}
}

// goBuildCommand returns the environment and argv of the Dockerfile's go
// build, with the build arguments a `docker build --build-arg VERSION=...`
// for this machine's architecture would give.
func goBuildCommand(t *testing.T, d *dockerfile, version string) (map[string]string, []string) {
	t.Helper()
	env := map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH, "VERSION": version}
	for _, c := range d.build.Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				env[kv.Key] = expand(t, kv.Value, env)
			}
		}
	}
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	words, err := shell.NewLex('\\').ProcessWords(strings.Join(d.goBuild.CmdLine, " "), shell.EnvsFromSlice(kv))
	if err != nil {
		t.Fatal(err)
	}
	for len(words) > 0 && strings.Contains(words[0], "=") { // VAR=value go build ...
		k, v, _ := strings.Cut(words[0], "=")
		env[k] = v
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("cannot read the go build command from RUN %q", d.goBuild.CmdLine)
	}
	return env, words[1:]
}

// dockerignore is the build context's ignore list, read by Docker's own
// matcher.
func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	patterns, err := ignorefile.ReadAll(bytes.NewReader(readFile(t, ".dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func ignored(t *testing.T, pm *patternmatcher.PatternMatcher, rel string) bool {
	t.Helper()
	m, err := pm.MatchesOrParentMatches(filepath.FromSlash(rel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatal("no go command to build with")
	}
	return p
}

func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	root := testkit.RepoRoot(t)
	pm := dockerignore(t)
	cmd := exec.Command(goTool(t), "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}|{{range .GoFiles}}{{.}} {{end}}{{range .EmbedFiles}}{{.}} {{end}}{{end}}{{end}}", "./cmd/crmbot")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	inputs := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, files, ok := strings.Cut(line, "|")
		if !ok {
			continue
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(files) {
			inputs = append(inputs, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(inputs) < 20 {
		t.Fatalf("go list found only %d build inputs: %q", len(inputs), inputs)
	}
	for _, f := range inputs {
		if ignored(t, pm, f) {
			t.Errorf(".dockerignore excludes %s, which the build of ./cmd/crmbot needs", f)
		}
	}
	// And keeps the heavy or irrelevant parts out.
	for _, f := range []string{".git/HEAD", "e2e/cards/node_modules/x/index.js", "bin/crmbot", "docs/img/a.png", "deploy/compose/.env"} {
		if !ignored(t, pm, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

// copyContext copies the repository into dst the way Docker sends the
// build context: without what .dockerignore excludes.
func copyContext(t *testing.T, root, dst string) {
	t.Helper()
	pm := dockerignore(t)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		if m, err := pm.MatchesOrParentMatches(rel); err != nil {
			return err
		} else if m {
			if e.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDockerBuildStaticBinary builds the binary from the build context the
// Dockerfile gets, with the Dockerfile's own go build command and
// environment, checks it is static (it must run on distroless/static, which
// has no libc and no dynamic loader) and runs it as the image would.
func TestDockerBuildStaticBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux; this checks a linux ELF binary")
	}
	d := parseDockerfile(t)
	const version = "v9.8.7-deploytest"
	env, args := goBuildCommand(t, d, version)

	src := filepath.Join(t.TempDir(), "src") // WORKDIR /src; COPY . .
	copyContext(t, testkit.RepoRoot(t), src)
	bin := filepath.Join(t.TempDir(), "crmbot")
	i := slices.Index(args, "-o")
	if i < 0 || i+1 >= len(args) || args[i+1] != d.binarySource(t) {
		t.Fatalf("go build %q: -o is not the file the runtime stage copies (%s)", args, d.binarySource(t))
	}
	args[i+1] = bin

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goTool(t), args...)
	build.Dir = src
	build.Env = os.Environ()
	for _, k := range sortedKeys(env) {
		build.Env = append(build.Env, k+"="+env[k])
	}
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s (from the Dockerfile, in the .dockerignore'd context): %v\n%s", strings.Join(args, " "), err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it is dynamically linked and will not start on distroless/static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %q (%v)", libs, err)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -ldflags -s did not apply")
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(src)) {
		t.Errorf("the binary contains the build directory %s: -trimpath did not apply", src)
	}

	runBin := func(env []string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%s %q: %v", bin, args, err)
		}
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}
	if out, _, code := runBin(nil, "version"); code != 0 || strings.TrimSpace(out) != "crmbot "+version {
		t.Errorf("crmbot version: exit %d, %q; want \"crmbot %s\" (-X main.version)", code, out, version)
	}

	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/livez" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer healthy.Close()
	if out, errOut, code := runBin(nil, "healthcheck", "--url", healthy.URL+"/livez"); code != 0 {
		t.Errorf("crmbot healthcheck against a healthy server: exit %d\n%s%s", code, out, errOut)
	}
	// Exactly the image's HEALTHCHECK, which finds the port through CRMBOT_ADDR.
	_, port, _ := net.SplitHostPort(healthy.Listener.Addr().String())
	if out, errOut, code := runBin([]string{"CRMBOT_ADDR=:" + port}, d.health[2:]...); code != 0 {
		t.Errorf("HEALTHCHECK %q with CRMBOT_ADDR=:%s: exit %d\n%s%s", d.health, port, code, out, errOut)
	}
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "draining", http.StatusServiceUnavailable)
	}))
	defer draining.Close()
	if _, errOut, code := runBin(nil, "healthcheck", "--url", draining.URL+"/livez"); code == 0 || !strings.Contains(errOut, "503") {
		t.Errorf("crmbot healthcheck against a 503: exit %d, stderr %q; want non-zero and the status", code, errOut)
	}
	_, port, _ = net.SplitHostPort(testkit.FreeAddr(t))
	if _, errOut, code := runBin([]string{"CRMBOT_ADDR=:" + port}, d.health[2:]...); code == 0 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("HEALTHCHECK with nothing listening: exit %d, stderr %q; want non-zero, connection refused", code, errOut)
	}
}

// binarySource is the path the runtime stage copies from the build stage.
func (d *dockerfile) binarySource(t *testing.T) string {
	t.Helper()
	for _, c := range d.final.Commands {
		if c, ok := c.(*instructions.CopyCommand); ok && c.From == d.build.Name && len(c.SourcePaths) == 1 {
			return c.SourcePaths[0]
		}
	}
	t.Fatal("the runtime stage does not COPY exactly one file from the build stage")
	return ""
}

// ---- Kubernetes

// kustomization is the part of kustomize's Kustomization type
// (sigs.k8s.io/kustomize/api/types) these manifests use; strict decoding
// rejects anything else, so a new field has to be added here knowingly.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

type kube struct {
	files      map[string]string // file → kind
	kust       kustomization
	deployment *appsv1.Deployment
	service    *corev1.Service
	configMap  *corev1.ConfigMap
	secret     *corev1.Secret
	pdb        *policyv1.PodDisruptionBudget
	ingress    *networkingv1.Ingress
}

const kubeDir = "deploy/kubernetes"

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeStrict decodes YAML into a Kubernetes API type the way the API
// server's strict decoding does (k8s.io/apimachinery's serializer, what
// `kubectl apply --validate=strict` asks for): YAML → JSON rejecting
// duplicate keys, then sigs.k8s.io/json with case-sensitive field names,
// rejecting unknown and duplicate fields. (encoding/json alone would match
// "readinessprobe" to readinessProbe.)
func decodeStrict(doc []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, into)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func loadKube(t *testing.T) *kube {
	t.Helper()
	dir := filepath.Join(testkit.RepoRoot(t), filepath.FromSlash(kubeDir))
	k := &kube{files: map[string]string{}}
	if err := decodeStrict(readFile(t, kubeDir+"/kustomization.yaml"), &k.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.kust.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", k.kust.APIVersion, k.kust.Kind)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		if name == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSep.Split(string(raw), -1) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			if tm.Kind == "" && tm.APIVersion == "" {
				continue // comments only
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				k.deployment = &appsv1.Deployment{}
				obj = k.deployment
			case "v1 Service":
				k.service = &corev1.Service{}
				obj = k.service
			case "v1 ConfigMap":
				k.configMap = &corev1.ConfigMap{}
				obj = k.configMap
			case "v1 Secret":
				k.secret = &corev1.Secret{}
				obj = k.secret
			case "policy/v1 PodDisruptionBudget":
				k.pdb = &policyv1.PodDisruptionBudget{}
				obj = k.pdb
			case "networking.k8s.io/v1 Ingress":
				k.ingress = &networkingv1.Ingress{}
				obj = k.ingress
			default:
				t.Fatalf("%s: %s %s is not a kind this test knows (add it, decoded into its k8s.io/api type)", name, tm.APIVersion, tm.Kind)
			}
			if prev, dup := k.files[name]; dup || slices.Contains(sortedValues(k.files), tm.Kind) {
				t.Fatalf("%s: a second %s (%s): this test expects one object per kind", name, tm.Kind, prev)
			}
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: does not decode strictly into %s %s: %v", name, tm.APIVersion, tm.Kind, err)
			}
			k.files[name] = tm.Kind
			if ns := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta").Interface().(metav1.ObjectMeta).Namespace; ns != "" {
				t.Errorf("%s: metadata.namespace %q: leave the namespace to the user (kubectl -n)", name, ns)
			}
		}
	}
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"} {
		if !slices.Contains(sortedValues(k.files), kind) {
			t.Fatalf("%s has no %s manifest", kubeDir, kind)
		}
	}
	return k
}

func sortedValues(m map[string]string) []string {
	var v []string
	for _, k := range sortedKeys(m) {
		v = append(v, m[k])
	}
	return v
}

func TestStrictDecodingRejectsTypos(t *testing.T) {
	// The decoder must be strict, or the manifest tests below prove little.
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n",
		"apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3\n  replicas: 2\n",
		"apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          readinessprobe: {}\n",
	} {
		if err := decodeStrict([]byte(doc), &appsv1.Deployment{}); err == nil {
			t.Errorf("strict decoding accepted %q", doc)
		}
	}
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	k := loadKube(t)
	t.Logf("decoded %v", k.files)
}

func TestKustomizationListsFilesThatExist(t *testing.T) {
	k := loadKube(t)
	dir := filepath.Join(testkit.RepoRoot(t), filepath.FromSlash(kubeDir))
	if len(k.kust.Resources) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	for _, r := range k.kust.Resources {
		st, err := os.Stat(filepath.Join(dir, r))
		if err != nil || !st.Mode().IsRegular() {
			t.Errorf("kustomization.yaml lists %s, which is not a file in %s", r, kubeDir)
		}
	}
	for file, kind := range k.files {
		listed := slices.Contains(k.kust.Resources, file)
		switch {
		case strings.Contains(file, ".example."):
			if listed {
				t.Errorf("kustomization.yaml lists %s: examples must not be applied (a placeholder %s would overwrite the real one)", file, kind)
			}
		case !listed:
			t.Errorf("%s (%s) is not listed in kustomization.yaml", file, kind)
		}
	}
	if kind := k.files["secret.example.yaml"]; kind != "Secret" {
		t.Errorf("secret.example.yaml holds %q, want the example Secret", kind)
	}
	// The image kustomize rewrites is the container's.
	image := k.deployment.Spec.Template.Spec.Containers[0].Image
	if !slices.ContainsFunc(k.kust.Images, func(i struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	}) bool {
		return i.Name == image
	}) {
		t.Errorf("kustomization.yaml images do not name the container image %q", image)
	}
}

// containerPort resolves a probe's or Service's port (a number or a name).
func containerPort(t *testing.T, c corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort
		}
	}
	t.Errorf("port %s is not a port of container %s", p.String(), c.Name)
	return -1
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func selects(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil || len(sel.MatchLabels) == 0 || len(sel.MatchExpressions) > 0 {
		return false
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesDeployment(t *testing.T) {
	k := loadKube(t)
	d := k.deployment
	pod := d.Spec.Template.Spec
	labels := d.Spec.Template.Labels

	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %s, want at least 2", ptrString(d.Spec.Replicas))
	}
	if !selects(d.Spec.Selector, labels) {
		t.Errorf("selector %v does not select the pod labels %v", d.Spec.Selector, labels)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// Graceful shutdown fits.
	var preStop int64
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = c.Lifecycle.PreStop.Sleep.Seconds
	}
	drain, err := time.ParseDuration(k.configMap.Data["CRMBOT_DRAIN_DELAY"])
	if err != nil {
		t.Fatalf("the ConfigMap's CRMBOT_DRAIN_DELAY: %v", err)
	}
	budget := preStop + int64(drain/time.Second) + requestGrace + backgroundGrace + loopGrace
	if tg := pod.TerminationGracePeriodSeconds; tg == nil || *tg < budget {
		t.Errorf("terminationGracePeriodSeconds %s, want ≥ preStop %d + drain %s + %d + %d + %d = %d", ptrString(tg), preStop, drain,
			requestGrace, backgroundGrace, loopGrace, budget)
	}

	// Security.
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod securityContext.seccompProfile is not RuntimeDefault")
	}
	if uid := parseDockerfile(t).user; psc != nil && psc.RunAsUser != nil && strconv.FormatInt(*psc.RunAsUser, 10) != strings.Split(uid, ":")[0] {
		t.Errorf("runAsUser %d differs from the image's USER %s", *psc.RunAsUser, uid)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no securityContext")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container securityContext.runAsNonRoot is not true")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop [ALL] and nothing added", sc.Capabilities)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks is not false: a Service named crmbot would inject CRMBOT_* variables")
	}

	// Probes on the container port that CRMBOT_ADDR listens on.
	port := addrPort(t, k.configMap.Data["CRMBOT_ADDR"])
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/livez"},
		{"startupProbe", c.StartupProbe, "/livez"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: none, or not an httpGet", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s path %s, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(t, c, p.probe.HTTPGet.Port); got != port {
			t.Errorf("%s hits port %d, but CRMBOT_ADDR listens on %d", p.name, got, port)
		}
		if s := p.probe.HTTPGet.Scheme; s != "" && s != corev1.URISchemeHTTP {
			t.Errorf("%s scheme %s: crmbot serves plain HTTP", p.name, s)
		}
	}
	if p := c.ReadinessProbe; p != nil && p.TimeoutSeconds > 0 && p.TimeoutSeconds < 3 {
		t.Errorf("readinessProbe timeout %ds: /readyz may take its 2 s Redis check", p.TimeoutSeconds)
	}
	if slices.ContainsFunc(parseDockerfile(t).expose, func(e string) bool { return strings.TrimSuffix(e, "/tcp") == strconv.Itoa(int(port)) }) == false {
		t.Errorf("the container port %d is not the image's EXPOSE", port)
	}

	// Resources for a ~30 MB process.
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := req[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	memLim, ok := lim[corev1.ResourceMemory]
	if !ok {
		t.Fatal("no memory limit")
	}
	memReq := req[corev1.ResourceMemory]
	if memReq.Cmp(resource.MustParse("32Mi")) < 0 || memReq.Cmp(memLim) > 0 || memLim.Cmp(resource.MustParse("1Gi")) > 0 {
		t.Errorf("memory request %s / limit %s: want 32Mi ≤ request ≤ limit ≤ 1Gi", memReq.String(), memLim.String())
	}
	if cpuLim, ok := lim[corev1.ResourceCPU]; ok && req.Cpu().Cmp(cpuLim) > 0 {
		t.Errorf("cpu request %s above its limit %s", req.Cpu(), cpuLim.String())
	}

	// Configuration from the ConfigMap and the Secret.
	var cmRef, secretRef bool
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil && e.ConfigMapRef.Name == k.configMap.Name {
			cmRef = true
		}
		if e.SecretRef != nil && e.SecretRef.Name == k.secret.Name {
			secretRef = true
			if e.SecretRef.Optional != nil && *e.SecretRef.Optional {
				t.Error("the Secret is optional: crmbot would start without its encryption key")
			}
		}
	}
	if !cmRef || !secretRef {
		t.Errorf("envFrom %+v, want the ConfigMap %q and the Secret %q", c.EnvFrom, k.configMap.Name, k.secret.Name)
	}
	vars := configVars(t)
	for _, e := range c.Env {
		checkVarNames(t, "deployment env", []string{e.Name}, vars)
	}

	// Replicas spread over nodes.
	spread := false
	for _, tsc := range pod.TopologySpreadConstraints {
		spread = spread || (tsc.TopologyKey == "kubernetes.io/hostname" && selects(tsc.LabelSelector, labels))
	}
	if a := pod.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			spread = spread || (w.PodAffinityTerm.TopologyKey == "kubernetes.io/hostname" && selects(w.PodAffinityTerm.LabelSelector, labels))
		}
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			spread = spread || (term.TopologyKey == "kubernetes.io/hostname" && selects(term.LabelSelector, labels))
		}
	}
	if !spread {
		t.Error("no topologySpreadConstraint or podAntiAffinity over kubernetes.io/hostname selecting the pods")
	}
}

func TestKubernetesServiceAndPDB(t *testing.T) {
	k := loadKube(t)
	labels := k.deployment.Spec.Template.Labels
	c := k.deployment.Spec.Template.Spec.Containers[0]
	if !selects(&metav1.LabelSelector{MatchLabels: k.service.Spec.Selector}, labels) {
		t.Errorf("Service selector %v does not select the pods %v", k.service.Spec.Selector, labels)
	}
	if len(k.service.Spec.Ports) == 0 {
		t.Fatal("Service has no ports")
	}
	for _, p := range k.service.Spec.Ports {
		if got, want := containerPort(t, c, p.TargetPort), addrPort(t, k.configMap.Data["CRMBOT_ADDR"]); got != want {
			t.Errorf("Service port %s targets %d, crmbot listens on %d", p.Name, got, want)
		}
	}
	pdb := k.pdb.Spec
	if pdb.MinAvailable == nil || pdb.MinAvailable.String() != "1" || pdb.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget minAvailable %v / maxUnavailable %v, want minAvailable 1", pdb.MinAvailable, pdb.MaxUnavailable)
	}
	if !selects(pdb.Selector, labels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Selector)
	}
	if r := k.deployment.Spec.Replicas; r != nil && *r <= 1 {
		t.Error("minAvailable 1 with a single replica blocks every node drain")
	}
}

func TestKubernetesConfigurationNames(t *testing.T) {
	k := loadKube(t)
	vars := configVars(t)
	checkVarNames(t, "configmap.yaml", sortedKeys(k.configMap.Data), vars)
	secret := k.secret.StringData
	if len(k.secret.Data) > 0 {
		t.Error("secret.example.yaml has data: (base64); use stringData placeholders")
	}
	checkVarNames(t, "secret.example.yaml", sortedKeys(secret), vars)
	for name := range k.configMap.Data {
		if secretLike(name) {
			t.Errorf("configmap.yaml holds %s: credentials go in the Secret", name)
		}
		if _, dup := secret[name]; dup {
			t.Errorf("%s is in both the ConfigMap and the Secret", name)
		}
	}
	for _, must := range []string{"REDIS_URL", "CRMBOT_ENCRYPTION_KEY"} {
		if _, ok := secret[must]; !ok {
			t.Errorf("secret.example.yaml lacks %s (several replicas need the shared Redis and its key)", must)
		}
	}
	for name, v := range secret {
		if secretLike(name) && !strings.Contains(v, "REPLACE_ME") {
			t.Errorf("secret.example.yaml %s = %q: only REPLACE_ME placeholders in an example", name, v)
		}
	}
	// The example is a coherent configuration: crmbot's own validation accepts it.
	env := map[string]string{}
	for k, v := range k.configMap.Data {
		env[k] = v
	}
	for k, v := range secret {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Errorf("configmap.yaml + secret.example.yaml do not pass crmbot's configuration checks:\n%v", err)
	} else if cfg.Dataverse.Sandbox() || cfg.RedisURL == "" {
		t.Error("the Kubernetes example should configure a real Dynamics and Redis, not the embedded demo")
	}
}

func TestKubernetesIngressExample(t *testing.T) {
	k := loadKube(t)
	if k.ingress == nil {
		t.Skip("no ingress example")
	}
	var paths []string
	for _, rule := range k.ingress.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			paths = append(paths, p.Path)
			b := p.Backend.Service
			if b == nil || b.Name != k.service.Name {
				t.Errorf("path %s does not go to Service %s", p.Path, k.service.Name)
				continue
			}
			if !slices.ContainsFunc(k.service.Spec.Ports, func(sp corev1.ServicePort) bool {
				return (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
			}) {
				t.Errorf("path %s: Service %s has no port %+v", p.Path, b.Name, b.Port)
			}
		}
	}
	for _, public := range []string{"/slack/commands", "/slack/interactivity", "/slack/options", "/slack/events", "/slack/install",
		"/slack/oauth/callback", "/api/messages", "/link/start", "/link/callback", "/dataverse/webhook"} {
		if !slices.ContainsFunc(paths, func(p string) bool { return p == public || (strings.HasSuffix(p, "/") && strings.HasPrefix(public, p)) }) {
			t.Errorf("the Ingress does not route %s", public)
		}
	}
	for _, p := range paths {
		for _, private := range []string{"/metrics", "/readyz", "/livez", "/healthz", "/status", "/sandbox/"} {
			if strings.HasPrefix(private, p) {
				t.Errorf("the Ingress path %s exposes %s", p, private)
			}
		}
	}
}

// ---- compose

const composeDir = "deploy/compose"

// loadCompose loads compose.yaml with the compose-spec loader (what docker
// compose runs) and .env.example in place of the user's .env, from a copy
// at the same depth so that the build context still resolves.
func loadCompose(t *testing.T) (*composetypes.Project, map[string]string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, filepath.FromSlash(composeDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	envExample := readFile(t, composeDir+"/.env.example")
	for name, b := range map[string][]byte{"compose.yaml": readFile(t, composeDir+"/compose.yaml"), ".env": envExample} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "Dockerfile"), readFile(t, "Dockerfile"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(nil), cli.WithConsistency(true))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	// The .env.example itself, as compose reads env files.
	example := map[string]string{}
	for _, line := range strings.Split(string(envExample), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example: %q is not NAME=value", line)
			continue
		}
		example[k] = v
	}
	return project, example
}

func TestComposeProject(t *testing.T) {
	project, _ := loadCompose(t)
	bot, err := project.GetService("crmbot")
	if err != nil {
		t.Fatal(err)
	}
	redis, err := project.GetService("redis")
	if err != nil {
		t.Fatal(err)
	}
	d := parseDockerfile(t)

	if dep, ok := bot.DependsOn["redis"]; !ok || dep.Condition != composetypes.ServiceConditionHealthy {
		t.Errorf("crmbot depends_on redis %+v, want condition service_healthy", bot.DependsOn)
	}
	if !strings.HasPrefix(redis.Image, "redis:7") {
		t.Errorf("redis image %s, want redis:7", redis.Image)
	}
	if redis.HealthCheck == nil || len(redis.HealthCheck.Test) == 0 || redis.HealthCheck.Disable {
		t.Error("redis has no healthcheck (crmbot waits for it to be healthy)")
	}
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis command %q, want --appendonly yes (the outbox must survive a restart)", cmd)
	}
	if !slices.ContainsFunc(redis.Volumes, func(v composetypes.ServiceVolumeConfig) bool {
		_, declared := project.Volumes[v.Source]
		return v.Type == composetypes.VolumeTypeVolume && v.Target == "/data" && declared
	}) {
		t.Errorf("redis volumes %+v, want a named volume on /data", redis.Volumes)
	}

	if !bot.ReadOnly {
		t.Error("crmbot: read_only is not true")
	}
	if uid := nonRootUID(t, "compose crmbot", bot.User); uid > 0 && bot.User != d.user {
		t.Errorf("compose user %s differs from the image's USER %s", bot.User, d.user)
	}
	if !slices.Contains(bot.SecurityOpt, "no-new-privileges:true") && !slices.Contains(bot.SecurityOpt, "no-new-privileges") {
		t.Errorf("crmbot security_opt %q, want no-new-privileges:true", bot.SecurityOpt)
	}
	if !slices.Contains(bot.CapDrop, "ALL") {
		t.Errorf("crmbot cap_drop %q, want ALL", bot.CapDrop)
	}
	// Published on loopback only: /metrics and /readyz stay off the network;
	// the TLS proxy in front connects to it.
	if len(bot.Ports) != 1 || bot.Ports[0].Target != 3978 || bot.Ports[0].Published != "3978" || bot.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("crmbot ports %+v, want 127.0.0.1:3978:3978", bot.Ports)
	}
	if g := bot.StopGracePeriod; g == nil || time.Duration(*g) < (15+requestGrace+backgroundGrace+loopGrace)*time.Second {
		t.Errorf("crmbot stop_grace_period %v, want ≥ %ds (the longest drain delay + the SIGTERM budget)", g, 15+requestGrace+backgroundGrace+loopGrace)
	}
	if hc := bot.HealthCheck; hc == nil || !slices.Equal([]string(hc.Test), d.health) {
		t.Errorf("crmbot healthcheck %+v, want the image's %q", hc, d.health)
	}
	if bot.Build == nil || filepath.Base(bot.Build.Dockerfile) != "Dockerfile" {
		t.Errorf("crmbot build %+v, want the repository's Dockerfile", bot.Build)
	}
	if r := bot.Environment["REDIS_URL"]; r == nil || !strings.HasPrefix(*r, "redis://redis:6379") {
		t.Errorf("crmbot REDIS_URL %v, want redis://redis:6379/...", r)
	}
}

func TestComposeEnvironment(t *testing.T) {
	project, example := loadCompose(t)
	bot, err := project.GetService("crmbot")
	if err != nil {
		t.Fatal(err)
	}
	vars := configVars(t)
	checkVarNames(t, ".env.example", sortedKeys(example), vars)
	checkVarNames(t, "compose crmbot environment", sortedKeys(bot.Environment), vars)
	if _, ok := example["CRMBOT_ENCRYPTION_KEY"]; !ok {
		t.Error(".env.example lacks CRMBOT_ENCRYPTION_KEY (required with Redis)")
	}
	for name, v := range example {
		if secretLike(name) && v != "" {
			t.Errorf(".env.example %s = %q: placeholders only, leave secrets empty", name, v)
		}
	}
	if !strings.Contains(string(readFile(t, composeDir+"/.env.example")), "openssl rand -base64 32") {
		t.Error(".env.example does not say how to make CRMBOT_ENCRYPTION_KEY (openssl rand -base64 32)")
	}
	// What the container gets: the env file resolved by compose, plus environment:.
	env := map[string]string{}
	for k, v := range bot.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	if _, err := config.Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "CRMBOT_ENCRYPTION_KEY") {
		t.Errorf("crmbot with the untouched .env.example: %v; want it to refuse to start, naming CRMBOT_ENCRYPTION_KEY", err)
	}
	key := make([]byte, 32) // what `openssl rand -base64 32` gives the user
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	env["CRMBOT_ENCRYPTION_KEY"] = base64.StdEncoding.EncodeToString(key)
	if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
		t.Errorf("crmbot with .env.example and a key does not pass the configuration checks:\n%v", err)
	}
}

// Guard: the names this file treats as secrets are real variables.
func TestSecretNamesAreConfig(t *testing.T) {
	vars := configVars(t)
	var secrets []string
	for v := range vars {
		if secretLike(v) {
			secrets = append(secrets, v)
		}
	}
	slices.Sort(secrets)
	if len(secrets) < 6 {
		t.Fatalf("only %d secret-like configuration variables: %q", len(secrets), secrets)
	}
	t.Log(fmt.Sprint(secrets))
}
