package deploy

import (
	"errors"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podCheck is one requirement on a service's pod template and its container.
type podCheck struct {
	name  string
	check func(pod *corev1.PodSpec, c *corev1.Container) error
}

// podChecks are the requirements every Medic service's pod meets.
var podChecks = []podCheck{
	{"liveness probe GET /healthz on http", func(_ *corev1.PodSpec, c *corev1.Container) error {
		return checkHTTPProbe(c.LivenessProbe, "/healthz")
	}},
	{"readiness probe GET /readyz on http", func(_ *corev1.PodSpec, c *corev1.Container) error {
		return checkHTTPProbe(c.ReadinessProbe, "/readyz")
	}},
	{"container port http is 8080", func(_ *corev1.PodSpec, c *corev1.Container) error {
		for _, p := range c.Ports {
			if p.Name == "http" && p.ContainerPort == 8080 {
				return nil
			}
		}
		return fmt.Errorf("ports = %+v", c.Ports)
	}},
	{"runs as non-root", func(pod *corev1.PodSpec, c *corev1.Container) error {
		if !effectiveRunAsNonRoot(pod, c) {
			return errors.New("runAsNonRoot is not true")
		}
		return nil
	}},
	{"locked-down container", func(_ *corev1.PodSpec, c *corev1.Container) error {
		return checkLockedDown(c.SecurityContext)
	}},
	{"resource requests within limits", func(_ *corev1.PodSpec, c *corev1.Container) error {
		return checkResources(c.Resources)
	}},
	{"envFrom medic-config", func(_ *corev1.PodSpec, c *corev1.Container) error {
		for _, src := range c.EnvFrom {
			if src.ConfigMapRef != nil && src.ConfigMapRef.Name == "medic-config" {
				return nil
			}
		}
		return errors.New("no envFrom configMapRef medic-config")
	}},
	{"own NATS login from the Secret", func(_ *corev1.PodSpec, c *corev1.Container) error {
		return checkNATSLogin(c)
	}},
	{"graceful termination", func(pod *corev1.PodSpec, _ *corev1.Container) error {
		if g := pod.TerminationGracePeriodSeconds; g == nil || *g != 30 {
			return fmt.Errorf("terminationGracePeriodSeconds = %v, want 30", g)
		}
		return nil
	}},
}

// checkHTTPProbe reports a probe that is not an HTTP GET of path on the
// named port http.
func checkHTTPProbe(p *corev1.Probe, path string) error {
	if p == nil || p.HTTPGet == nil {
		return errors.New("no HTTP probe")
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") {
		return fmt.Errorf("probe GETs %s on port %s, want %s on http", p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
	}
	return nil
}

// effectiveRunAsNonRoot applies the container's runAsNonRoot over the pod's,
// as the kubelet does.
func effectiveRunAsNonRoot(pod *corev1.PodSpec, c *corev1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return *c.SecurityContext.RunAsNonRoot
	}
	return pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
}

// checkLockedDown reports a container that can write its root filesystem,
// escalate privileges or keep any capability.
func checkLockedDown(sc *corev1.SecurityContext) error {
	switch {
	case sc == nil:
		return errors.New("no securityContext")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		return errors.New("root filesystem is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		return errors.New("privilege escalation is allowed")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0:
		return fmt.Errorf("capabilities = %+v, want drop [ALL]", sc.Capabilities)
	}
	return nil
}

// checkResources reports a missing CPU or memory request or limit, or a
// request above its limit.
func checkResources(r corev1.ResourceRequirements) error {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		limit, hasLimit := r.Limits[name]
		request, hasRequest := r.Requests[name]
		if !hasLimit || !hasRequest {
			return fmt.Errorf("%s: request set %v, limit set %v", name, hasRequest, hasLimit)
		}
		if request.Cmp(limit) > 0 {
			return fmt.Errorf("%s request %s exceeds limit %s", name, request.String(), limit.String())
		}
	}
	return nil
}

// serviceContainer returns the Deployment's container named after it.
func serviceContainer(d *appsv1.Deployment) (*corev1.Container, error) {
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == d.Name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("deployment %s has no container %s", d.Name, d.Name)
}

func TestK8sDeployments(t *testing.T) {
	b := renderMedicBase(t)
	for _, name := range medicServices {
		t.Run(name, func(t *testing.T) {
			d, ok := b.deployments[name]
			if !ok {
				t.Fatalf("no Deployment %s", name)
			}
			c, err := serviceContainer(d)
			if err != nil {
				t.Fatal(err)
			}
			if want := "ghcr.io/medic-sre/medic-" + name + ":0.1.0"; c.Image != want {
				t.Errorf("image = %s, want %s", c.Image, want)
			}
			for _, pc := range podChecks {
				if err := pc.check(&d.Spec.Template.Spec, c); err != nil {
					t.Errorf("%s: %v", pc.name, err)
				}
			}
			checkIdentity(t, b, d)
			checkSelection(t, b, d)
		})
	}
}

// checkIdentity checks a Deployment's own ServiceAccount and its scrape
// annotations.
func checkIdentity(t *testing.T, b *base, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template
	if pod.Spec.ServiceAccountName != d.Name {
		t.Errorf("serviceAccountName = %q, want %q", pod.Spec.ServiceAccountName, d.Name)
	}
	if _, ok := b.serviceAccounts[d.Name]; !ok {
		t.Errorf("no ServiceAccount %s", d.Name)
	}
	want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}
	for key, value := range want {
		if got := pod.Annotations[key]; got != value {
			t.Errorf("pod annotation %s = %q, want %q", key, got, value)
		}
	}
}

// checkSelection checks that the Deployment's selector and its Service's
// selector both match the pod template's labels, and that the Service
// targets the named port.
func checkSelection(t *testing.T, b *base, d *appsv1.Deployment) {
	t.Helper()
	podLabels := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("deployment selector %v does not match pod labels %v (err %v)", d.Spec.Selector, podLabels, err)
	}
	svc, ok := b.services[d.Name]
	if !ok {
		t.Errorf("no Service %s", d.Name)
		return
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("service selector %v does not match pod labels %v", svc.Spec.Selector, podLabels)
	}
	// The first port is the runtime's (health, metrics); the front door adds
	// the OTLP ports, each targeting a container port of the same name.
	names := map[string]bool{}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, cp := range c.Ports {
			names[cp.Name] = true
		}
	}
	badExtra := false
	for _, sp := range svc.Spec.Ports[min(1, len(svc.Spec.Ports)):] {
		badExtra = badExtra || sp.TargetPort != intstr.FromString(sp.Name) || !names[sp.Name]
	}
	if len(svc.Spec.Ports) == 0 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") || badExtra {
		t.Errorf("service ports = %+v, want the first targeting http and any other its container port of the same name", svc.Spec.Ports)
	}
}

func TestK8sServiceEnv(t *testing.T) {
	b := renderMedicBase(t)
	tests := []struct {
		name    string
		service string
		env     string
		check   func(corev1.EnvVar) error
	}{
		{"remediator serving URL", "remediator", "SERVING_URL", func(e corev1.EnvVar) error {
			if want := "http://ml-serving.ml.svc:8080"; e.Value != want {
				return fmt.Errorf("value = %q, want %q", e.Value, want)
			}
			return nil
		}},
		{"notifier webhook from a secret", "notifier", "WEBHOOK_URL", func(e corev1.EnvVar) error {
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				return errors.New("not a secretKeyRef")
			}
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != "medic-notifier" || ref.Key != "webhook-url" {
				return fmt.Errorf("secretKeyRef = %s/%s, want medic-notifier/webhook-url", ref.Name, ref.Key)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := b.deployments[tt.service]
			if !ok {
				t.Fatalf("no Deployment %s", tt.service)
			}
			c, err := serviceContainer(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range c.Env {
				if e.Name == tt.env {
					if err := tt.check(e); err != nil {
						t.Errorf("%s: %v", tt.env, err)
					}
					return
				}
			}
			t.Errorf("%s has no env %s", tt.service, tt.env)
		})
	}
}

// The detector's rule windows need all of the telemetry, so exactly one
// detector may run, during a rollout too.
func TestK8sDetectorIsASingleton(t *testing.T) {
	d, ok := renderMedicBase(t).deployments["detector"]
	if !ok {
		t.Fatal("no Deployment detector")
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy = %q, want Recreate", d.Spec.Strategy.Type)
	}
}
