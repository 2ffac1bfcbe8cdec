package k8stest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// overlayNames are the overlays under deploy/kubernetes/overlays; each is built and checked.
var overlayNames = []string{"dev", "production"}

// bundle is one overlay's build, every object decoded into its type.
type bundle struct {
	overlay         string
	namespaces      []corev1.Namespace
	serviceAccounts []corev1.ServiceAccount
	configMaps      []corev1.ConfigMap
	services        []corev1.Service
	claims          []corev1.PersistentVolumeClaim
	deployments     []appsv1.Deployment
	cronJobs        []batchv1.CronJob
	budgets         []policyv1.PodDisruptionBudget
	netpols         []networkingv1.NetworkPolicy
	rules           []monitoringv1.PrometheusRule
	monitors        []monitoringv1.ServiceMonitor
}

// repoRoot is the tokenwall repository's root: this file is in deploy/kubernetes/test.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]*bundle{}
)

// build runs `kustomize build` on overlay through the Kustomize API and decodes the result;
// each overlay is built once per test binary and must not be modified (mutate a copy).
func build(t testing.TB, overlay string) *bundle {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := buildCache[overlay]; ok {
		return b
	}
	dir := filepath.Join(repoRoot(t), "deploy", "kubernetes", "overlays", overlay)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := &bundle{overlay: overlay}
	for _, r := range rm.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", overlay, r.CurId(), err)
		}
		if err := b.add(doc); err != nil {
			t.Fatalf("%s: %s: %v", overlay, r.CurId(), err)
		}
	}
	buildCache[overlay] = b
	return b
}

// typeMeta is what add reads first to choose a type.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// add decodes one YAML document strictly into the type its apiVersion and kind name. An
// unknown kind, an unknown or misspelt field, or a duplicate key is an error.
func (b *bundle) add(doc []byte) error {
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
	case "v1 Namespace":
		return decodeInto(doc, &b.namespaces)
	case "v1 ServiceAccount":
		return decodeInto(doc, &b.serviceAccounts)
	case "v1 ConfigMap":
		return decodeInto(doc, &b.configMaps)
	case "v1 Service":
		return decodeInto(doc, &b.services)
	case "v1 PersistentVolumeClaim":
		return decodeInto(doc, &b.claims)
	case "apps/v1 Deployment":
		return decodeInto(doc, &b.deployments)
	case "batch/v1 CronJob":
		return decodeInto(doc, &b.cronJobs)
	case "policy/v1 PodDisruptionBudget":
		return decodeInto(doc, &b.budgets)
	case "networking.k8s.io/v1 NetworkPolicy":
		return decodeInto(doc, &b.netpols)
	case "monitoring.coreos.com/v1 PrometheusRule":
		return decodeInto(doc, &b.rules)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return decodeInto(doc, &b.monitors)
	default:
		// A Secret lands here too: none belongs in the repository.
		return fmt.Errorf("kind %q is not one the manifests should hold (a Secret never is: create it in the cluster)", gvk)
	}
}

// decodeInto appends doc, decoded strictly, to *list.
func decodeInto[T any](doc []byte, list *[]T) error {
	var v T
	if err := decodeStrict(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// decodeStrict decodes a YAML document as the API server's strict field validation does:
// duplicate keys, unknown fields and fields in the wrong case are errors.
func decodeStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	strict, err := k8sjson.UnmarshalStrict(js, v, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if len(strict) > 0 {
		var msgs []string
		for _, e := range strict {
			msgs = append(msgs, e.Error())
		}
		return fmt.Errorf("strict decoding: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// configMap returns the ConfigMap whose name (before Kustomize's hash suffix) is name.
func (b *bundle) configMap(name string) (corev1.ConfigMap, bool) {
	for _, cm := range b.configMaps {
		if cm.Name == name || strings.HasPrefix(cm.Name, name+"-") {
			return cm, true
		}
	}
	return corev1.ConfigMap{}, false
}

// TestStrictDecodeRefusesUnknownFields shows that the decoding is strict: a misspelt field,
// a field of another type and a duplicate key each fail.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	cases := []struct {
		name string
		doc  string
	}{
		{name: "unknown field", doc: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n"},
		{name: "wrong case", doc: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {Selector: {a: b}}\n"},
		{name: "duplicate key", doc: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP, type: NodePort}\n"},
		{name: "unknown kind", doc: "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {token: s.abc}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bundle
			if err := b.add([]byte(tc.doc)); err == nil {
				t.Fatalf("decoded without error:\n%s", tc.doc)
			}
		})
	}
	var b bundle
	if err := b.add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {a: b}}\n")); err != nil {
		t.Fatalf("a valid Service: %v", err)
	}
}

// TestOverlaysBuild builds each overlay and reports what it holds.
func TestOverlaysBuild(t *testing.T) {
	for _, name := range overlayNames {
		t.Run(name, func(t *testing.T) {
			b := build(t, name)
			var out bytes.Buffer
			fmt.Fprintf(&out, "%d namespaces, %d deployments, %d cronjobs, %d services, %d configmaps, %d claims, %d PDBs, %d network policies, %d rules, %d service monitors",
				len(b.namespaces), len(b.deployments), len(b.cronJobs), len(b.services), len(b.configMaps), len(b.claims), len(b.budgets), len(b.netpols), len(b.rules), len(b.monitors))
			t.Log(out.String())
			if len(b.deployments) != 1 {
				t.Fatalf("%d Deployments, want 1 (tokenwall)", len(b.deployments))
			}
		})
	}
}
