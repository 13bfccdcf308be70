package deploy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// strictDecoder decodes the kinds a Medic base may hold into their typed
// structs. It fails on unknown, duplicated or miscased fields, as a real API
// server does, and on any kind that is not registered here (a Secret, say).
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// base is a rendered kustomization, decoded into typed objects.
type base struct {
	objects         []runtime.Object
	deployments     map[string]*appsv1.Deployment
	services        map[string]*corev1.Service
	serviceAccounts map[string]*corev1.ServiceAccount
	configMaps      map[string]*corev1.ConfigMap
}

// renderBase builds the kustomization in dir as `kubectl kustomize` does and
// strictly decodes every resulting object. A decoding error wraps the
// decoder's own error directly, so runtime.IsStrictDecodingError works on
// errors.Unwrap of it.
func renderBase(dir string) (*base, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	b := &base{
		deployments:     map[string]*appsv1.Deployment{},
		services:        map[string]*corev1.Service{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
		configMaps:      map[string]*corev1.ConfigMap{},
	}
	for _, r := range resources.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s as YAML: %w", r.CurId(), err)
		}
		obj, _, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", r.CurId(), err)
		}
		if err := b.add(obj); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// add files obj under its kind, refusing kinds the base must not carry.
func (b *base) add(obj runtime.Object) error {
	b.objects = append(b.objects, obj)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		b.deployments[o.Name] = o
	case *corev1.Service:
		b.services[o.Name] = o
	case *corev1.ServiceAccount:
		b.serviceAccounts[o.Name] = o
	case *corev1.ConfigMap:
		b.configMaps[o.Name] = o
	case *corev1.Namespace:
	default:
		name := "?"
		if m, err := meta.Accessor(obj); err == nil {
			name = m.GetName()
		}
		return fmt.Errorf("the base must not carry %s %s", obj.GetObjectKind().GroupVersionKind().Kind, name)
	}
	return nil
}

// renderMedicBase renders deploy/k8s, failing the test if it does not decode.
func renderMedicBase(t *testing.T) *base {
	t.Helper()
	b, err := renderBase("k8s")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestK8sBaseMetadata(t *testing.T) {
	b := renderMedicBase(t)
	for _, obj := range b.objects {
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%T %s", obj, m.GetName())
		if _, isNamespace := obj.(*corev1.Namespace); !isNamespace && m.GetNamespace() != "medic" {
			t.Errorf("%s is in namespace %q, want medic", id, m.GetNamespace())
		}
		if m.GetLabels()["app.kubernetes.io/part-of"] != "medic" {
			t.Errorf("%s lacks label app.kubernetes.io/part-of=medic", id)
		}
	}
}

func TestK8sConfigMap(t *testing.T) {
	cm, ok := renderMedicBase(t).configMaps["medic-config"]
	if !ok {
		t.Fatal("no ConfigMap medic-config")
	}
	want := map[string]string{
		"NATS_URL":            "nats://nats.medic.svc:4222",
		"CLICKHOUSE_ADDR":     "clickhouse.medic.svc:9000",
		"CLICKHOUSE_DATABASE": "medic",
		"LOG_LEVEL":           "info",
		// Every service must be given the same stream limits.
		"MEDIC_TELEMETRY_MAX_BYTES": "1GiB",
		"MEDIC_EVENTS_MAX_BYTES":    "2GiB",
		"MEDIC_DLQ_MAX_BYTES":       "512MiB",
	}
	for key, value := range want {
		if got := cm.Data[key]; got != value {
			t.Errorf("%s = %q, want %q", key, got, value)
		}
	}
}

// TestK8sStrictDecoding proves the decoding above is strict: the same render
// and decode path rejects fixtures whose only fault is one bad field name.
func TestK8sStrictDecoding(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		wantErr string // a substring of the error; "" when the fixture must decode
		strict  bool   // whether the strict decoder, not kustomize, must reject it
	}{
		{"valid fixture decodes", "testdata/strict/valid", "", false},
		{"unknown field", "testdata/strict/unknown-field", "livenessProb", true},
		{"miscased field", "testdata/strict/miscased-field", "RunAsNonRoot", true},
		// kustomize refuses duplicate keys itself, before decoding.
		{"duplicate field", "testdata/strict/duplicate-field", `"image" already defined`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderBase(tt.dir)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("render: %v", err)
			case tt.wantErr == "":
				return
			case err == nil:
				t.Fatalf("render succeeded, want an error naming %q", tt.wantErr)
			case tt.strict && !runtime.IsStrictDecodingError(errors.Unwrap(err)):
				t.Errorf("error is not a strict decoding error: %v", err)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}
