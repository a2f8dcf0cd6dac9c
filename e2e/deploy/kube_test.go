package deploy_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// object is one Kubernetes object, as a generic YAML tree.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }

func (o object) name() string { return str(get(o, "metadata", "name")) }

// get walks maps by key and lists by index (int).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				if o, isObj := v.(object); isObj {
					m = o
				} else {
					return nil
				}
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

// readObjects parses a multi-document YAML file.
func readObjects(t *testing.T, data []byte) []object {
	t.Helper()
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("parse manifests: %v", err)
		}
		if o != nil {
			objs = append(objs, object(o))
		}
	}
	return objs
}

func manifests(t *testing.T) []object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo(t), "deploy", "kubernetes", "linkvault.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return readObjects(t, data)
}

func find(t *testing.T, objs []object, kind string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind {
			return o
		}
	}
	t.Fatalf("deploy/kubernetes/linkvault.yaml has no %s", kind)
	return nil
}

// envOf returns a container's environment as a map.
func envOf(c any) map[string]string {
	env := map[string]string{}
	list, _ := get(c, "env").([]any)
	for _, e := range list {
		env[str(get(e, "name"))] = str(get(e, "value"))
	}
	return env
}

// TestKubernetesManifests checks what the manifests promise an operator, without a
// cluster: probes on the right endpoints, a locked-down non-root pod, the secrets read
// from files of the Secret make-secret writes, and a migration Job running `migrate`
// with the same configuration as the server.
func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.kind())
	}
	for _, k := range []string{"ServiceAccount", "Service", "Deployment", "Job"} {
		if !slices.Contains(kinds, k) {
			t.Fatalf("manifests hold %v; want a %s", kinds, k)
		}
	}
	dep, job, svc := find(t, objs, "Deployment"), find(t, objs, "Job"), find(t, objs, "Service")
	pod := get(dep, "spec", "template", "spec")
	c := get(pod, "containers", 0)

	// Probes go to the admin listener's port, which the Service never exposes.
	ports := map[string]int{}
	for _, p := range get(c, "ports").([]any) {
		n, _ := get(p, "containerPort").(int)
		ports[str(get(p, "name"))] = n
	}
	if ports["http"] == 0 || ports["admin"] == 0 {
		t.Fatalf("container ports %v; want http and admin", ports)
	}
	if want := fmt.Sprintf("0.0.0.0:%d", ports["admin"]); envOf(c)["LINKVAULT_ADMIN_ADDR"] != want {
		t.Errorf("LINKVAULT_ADMIN_ADDR = %q, want %q (the admin container port)", envOf(c)["LINKVAULT_ADMIN_ADDR"], want)
	}
	probes := map[string]string{"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
	for probe, path := range probes {
		if got := str(get(c, probe, "httpGet", "path")); got != path {
			t.Errorf("%s path %q, want %q", probe, got, path)
		}
		if port := str(get(c, probe, "httpGet", "port")); port != "admin" {
			t.Errorf("%s port %q is not the admin port", probe, port)
		}
	}
	if str(get(svc, "spec", "ports", 0, "targetPort")) != "http" || len(get(svc, "spec", "ports").([]any)) != 1 {
		t.Errorf("the Service ports %v; want the http port only", get(svc, "spec", "ports"))
	}
	if get(pod, "securityContext", "runAsNonRoot") != true || get(pod, "securityContext", "runAsUser") != 65532 {
		t.Errorf("pod security context %v; want non-root user 65532", get(pod, "securityContext"))
	}
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false || str(get(sc, "capabilities", "drop", 0)) != "ALL" {
		t.Errorf("container security context %v; want read-only root, no escalation, no capabilities", sc)
	}
	if get(pod, "automountServiceAccountToken") != false {
		t.Error("the pod mounts a service account token it does not need")
	}

	// Secrets: files from the Secret, found through the *_FILE variables.
	env := envOf(c)
	mounts := map[string]string{}
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[str(get(m, "name"))] = str(get(m, "mountPath"))
	}
	var secretName, secretDir string
	for _, v := range get(pod, "volumes").([]any) {
		if s := get(v, "secret"); s != nil {
			secretName, secretDir = str(get(s, "secretName")), mounts[str(get(v, "name"))]
		}
	}
	if secretName != "linkvault" || secretDir == "" {
		t.Fatalf("secret volume %q at %q; want the Secret linkvault mounted", secretName, secretDir)
	}
	for variable, key := range map[string]string{"LINKVAULT_MASTER_KEY_FILE": "master.key", "LINKVAULT_DATABASE_URL_FILE": "database-url"} {
		if env[variable] != secretDir+"/"+key {
			t.Errorf("%s = %q, want %s/%s", variable, env[variable], secretDir, key)
		}
	}
	for variable := range env {
		if (strings.Contains(variable, "SECRET") || strings.HasSuffix(variable, "_KEY") || strings.HasSuffix(variable, "DATABASE_URL")) && !strings.HasSuffix(variable, "_FILE") {
			t.Errorf("secret %s is a plain value in the manifests", variable)
		}
	}
	secret := readObjects(t, makeSecret(t, "linkvault", map[string]string{"master.key": "v1:x", "database-url": "postgres://x"}))[0]
	for _, key := range []string{"master.key", "database-url"} {
		if get(secret, "data", key) == nil {
			t.Errorf("make-secret does not write %s", key)
		}
	}

	// The Job migrates with the server's image, configuration and volumes.
	jobPod := get(job, "spec", "template", "spec")
	jc := get(jobPod, "containers", 0)
	if args := fmt.Sprint(get(jc, "args")); args != "[migrate]" {
		t.Errorf("Job args %s, want [migrate]", args)
	}
	if str(get(jc, "image")) != str(get(c, "image")) || fmt.Sprint(envOf(jc)) != fmt.Sprint(env) ||
		fmt.Sprint(get(jobPod, "volumes")) != fmt.Sprint(get(pod, "volumes")) {
		t.Error("the migration Job's image, environment or volumes differ from the server's")
	}
	if str(get(jobPod, "restartPolicy")) != "Never" {
		t.Error("the Job's pod restarts in place; failures should be retried as new pods (backoffLimit)")
	}
}

// makeSecret runs deploy/kubernetes/make-secret with files holding values.
func makeSecret(t *testing.T, name string, values map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	args := []string{"--name", name}
	for key, v := range values {
		path := filepath.Join(dir, key)
		if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		switch key {
		case "master.key":
			args = append(args, "--master-key", path)
		case "database-url":
			args = append(args, "--database-url-file", path)
		default:
			args = append(args, "--from-file", key+"="+path)
		}
	}
	out, err := exec.Command(filepath.Join(repo(t), "deploy", "kubernetes", "make-secret"), args...).Output()
	if err != nil {
		t.Fatalf("make-secret: %v", err)
	}
	return out
}

// TestPodmanKubePlay deploys deploy/kubernetes/linkvault.yaml with `podman kube play`,
// the local equivalent of `kubectl apply` (docs/operations.md): the migration Job's pod
// (podman runs Pods and Deployments, not Jobs, so the Job's pod template is played as a
// Pod), then the Deployment. Only what ties the manifests to this host changes: the image
// under test, the listen address and public URL, the simulated exchanges, the names
// (unique per run), and the secret files, which come from a host directory because
// podman 4 mounts Secret data still base64-encoded. The server must become ready and
// complete a connect.
func TestPodmanKubePlay(t *testing.T) {
	image := requireImage(t)
	d := newDeployment(t)
	suffix := strings.ToLower(rand.Text()[:8])
	objs := manifests(t)
	dir := t.TempDir()
	// The Secret's files, as a secret volume would hold them (see adapt).
	secretDir := filepath.Dir(d.keyFile)

	adapt := func(o object) object {
		o["metadata"].(map[string]any)["name"] = o.name() + "-" + suffix
		podSpec := get(o, "spec", "template", "spec")
		if podSpec == nil {
			return o
		}
		for _, v := range get(podSpec, "volumes").([]any) {
			if get(v, "secret") != nil {
				// podman 4 writes a Secret's data into secret volumes still base64
				// encoded (and ignores stringData), so the same files come from a host
				// directory here; docs/operations.md says so.
				vm := v.(map[string]any)
				delete(vm, "secret")
				vm["hostPath"] = map[string]any{"path": secretDir, "type": "Directory"}
			}
		}
		for _, c := range get(podSpec, "containers").([]any) {
			cm := c.(map[string]any)
			cm["image"] = image
			// On the host's network podman publishes no ports: the server listens on
			// free ports of its own, and the probes name the admin one by number.
			delete(cm, "ports")
			for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
				if hg, ok := get(cm, probe, "httpGet").(map[string]any); ok {
					hg["port"] = d.adminPort
				}
			}
			env := cm["env"].([]any)
			for k, v := range d.env() {
				replaced := false
				for _, e := range env {
					if str(get(e, "name")) == k {
						e.(map[string]any)["value"] = v
						replaced = true
					}
				}
				if !replaced {
					env = append(env, map[string]any{"name": k, "value": v})
				}
			}
			cm["env"] = env
		}
		return o
	}
	write := func(name string, docs ...any) string {
		var buf bytes.Buffer
		for _, doc := range docs {
			b, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			buf.WriteString("---\n")
			buf.Write(b)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	play := func(path string) {
		t.Helper()
		podman(t, "kube", "play", "--network", "host", path)
		t.Cleanup(func() { _, _ = podmanErr("kube", "down", path) })
	}

	// The migration Job's pod, as a Pod.
	job := adapt(find(t, objs, "Job"))
	jobPod := map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": job.name(), "labels": get(job, "spec", "template", "metadata", "labels")},
		"spec":     get(job, "spec", "template", "spec")}
	play(write("migrate.yaml", jobPod))
	migrate := job.name() + "-" + str(get(job, "spec", "template", "spec", "containers", 0, "name"))
	if code := strings.TrimSpace(podman(t, "wait", migrate)); code != "0" {
		out := containerLogs(migrate)
		t.Fatalf("migration pod exited with %s\n%s", code, out)
	}

	// The rest: ServiceAccount and Service (podman ignores them) and the Deployment.
	var rest []any
	for _, o := range objs {
		if o.kind() != "Job" {
			rest = append(rest, adapt(o))
		}
	}
	deploymentName := find(t, objs, "Deployment").name()
	play(write("linkvault.yaml", rest...))
	server := deploymentName + "-pod-0-" + str(get(find(t, objs, "Deployment"), "spec", "template", "spec", "containers", 0, "name"))
	logs := func() string { return containerLogs(server) }
	waitReady(t, d.adminURL(), logs)
	checkPublicListener(t, d)

	// The admin commands run in the server's container, as `kubectl exec` would.
	cli := func(args ...string) string {
		t.Helper()
		return podman(t, append([]string{"exec", server, "/usr/local/bin/linkvault"}, args...)...)
	}
	connectOnce(t, d, cli, logs)
	d.checkLogs(t, logs())
}

// TestHelmNotesCheckReadinessOnTheAdminPort: the chart's NOTES.txt checks readiness where
// it is served, the admin port of a pod; it port-forwarded the Service (API port only) and
// curled /readyz there, which the public listener answers 404 (docs/operations.md,
// "Health and readiness").
func TestHelmNotesCheckReadinessOnTheAdminPort(t *testing.T) {
	notes, err := os.ReadFile(filepath.Join(repo(t), "deploy", "helm", "linkvault", "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// Template actions ({{ include "linkvault.fullname" . }}) become one word.
	text := regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAllString(string(notes), "X")
	forwards := map[string]string{} // local port -> "target remote"
	var checked int
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if w == "port-forward" && i+2 < len(f) {
				local, remote, _ := strings.Cut(f[i+2], ":")
				forwards[local] = f[i+1] + " " + remote
			}
			for _, path := range []string{"/readyz", "/healthz", "/metrics"} {
				if rest, ok := strings.CutPrefix(w, "http://127.0.0.1:"); ok && strings.HasSuffix(rest, path) {
					checked++
					fwd := forwards[strings.TrimSuffix(rest, path)]
					if !strings.HasPrefix(fwd, "deploy/") || !strings.HasSuffix(fwd, " admin") {
						t.Errorf("NOTES.txt curls %s through port-forward %q; want a pod's admin port (deploy/NAME PORT:admin)", w, fwd)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("NOTES.txt no longer shows how to check readiness")
	}
}
