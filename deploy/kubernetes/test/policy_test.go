package k8stest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// configFor returns a pod's effective config; the tests run check-config, and so fail on a
// config it refuses.
type configFor func(pt podTemplate) *effective

// checkOverlay returns every policy violation of an overlay's build.
func checkOverlay(b *bundle, cfgFor configFor) problems {
	var p problems
	if len(b.namespaces) != 1 {
		p.addf("%d Namespaces in the build, want 1", len(b.namespaces))
	} else if ns := b.namespaces[0]; ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		p.addf("Namespace/%s does not enforce Pod Security's restricted profile", ns.Name)
	}
	for _, o := range b.namespacedMeta() {
		if o.namespace != b.namespace() {
			p.addf("%s is in namespace %q, not the overlay's %q", o.name, o.namespace, b.namespace())
		}
	}
	if len(b.deployments) != 1 {
		p.addf("%d Deployments, want 1", len(b.deployments))
		return p
	}
	for _, pt := range b.pods() {
		checkPodSecurity(&p, pt)
		sa := pt.spec.ServiceAccountName
		if !slices.ContainsFunc(b.serviceAccounts, func(s corev1.ServiceAccount) bool { return s.Name == sa }) {
			p.addf("%s: service account %q (Vault's Kubernetes auth binds it) is not in the build", pt.name, sa)
		}
		if len(pt.spec.Containers) != 1 {
			p.addf("%s: %d containers, want 1", pt.name, len(pt.spec.Containers))
			continue
		}
		cfg := cfgFor(pt)
		proxy := strings.HasPrefix(pt.name, "Deployment/")
		checkConfigMount(&p, b, pt, cfg, proxy)
		checkNetwork(&p, b, pt, cfg, proxy)
	}
	d := &b.deployments[0]
	checkDeployment(&p, b, d, cfgFor(b.pods()[0]))
	for i := range b.cronJobs {
		checkCronJob(&p, &b.cronJobs[i])
	}
	return p
}

// checkCronJob holds a CronJob to what a tokenwall maintenance command needs: one run at a
// time, no restart in place, a deadline.
func checkCronJob(p *problems, c *batchv1.CronJob) {
	where := "CronJob/" + c.Name
	if c.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		p.addf("%s: concurrencyPolicy %q, want Forbid", where, c.Spec.ConcurrencyPolicy)
	}
	job := c.Spec.JobTemplate.Spec
	if job.ActiveDeadlineSeconds == nil {
		p.addf("%s: no activeDeadlineSeconds: a run that hangs holds the next one off forever", where)
	}
	if rp := job.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		p.addf("%s: restartPolicy %q", where, rp)
	}
}

// objectMeta is where a namespaced object is.
type objectMeta struct{ name, namespace string }

// namespacedMeta lists every namespaced object of the build.
func (b *bundle) namespacedMeta() []objectMeta {
	var out []objectMeta
	add := func(kind, name, ns string) { out = append(out, objectMeta{kind + "/" + name, ns}) }
	for _, o := range b.serviceAccounts {
		add("ServiceAccount", o.Name, o.Namespace)
	}
	for _, o := range b.configMaps {
		add("ConfigMap", o.Name, o.Namespace)
	}
	for _, o := range b.services {
		add("Service", o.Name, o.Namespace)
	}
	for _, o := range b.claims {
		add("PersistentVolumeClaim", o.Name, o.Namespace)
	}
	for _, o := range b.deployments {
		add("Deployment", o.Name, o.Namespace)
	}
	for _, o := range b.cronJobs {
		add("CronJob", o.Name, o.Namespace)
	}
	for _, o := range b.budgets {
		add("PodDisruptionBudget", o.Name, o.Namespace)
	}
	for _, o := range b.netpols {
		add("NetworkPolicy", o.Name, o.Namespace)
	}
	for _, o := range b.rules {
		add("PrometheusRule", o.Name, o.Namespace)
	}
	for _, o := range b.monitors {
		add("ServiceMonitor", o.Name, o.Namespace)
	}
	return out
}

// checkConfigFor is the configFor of the tests: check-config on the pod's config.
func checkConfigFor(t testing.TB, b *bundle) configFor {
	return func(pt podTemplate) *effective { return checkConfig(t, b, pt.spec) }
}

// TestPolicy holds each overlay to the policy.
func TestPolicy(t *testing.T) {
	for _, name := range overlayNames {
		t.Run(name, func(t *testing.T) {
			b := build(t, name)
			for _, msg := range checkOverlay(b, checkConfigFor(t, b)) {
				t.Error(msg)
			}
		})
	}
}

// TestOverlayContents checks what each overlay is for: dev runs one pod on SQLite and no
// jobs; production runs PostgreSQL with the prune and report CronJobs and the alerts.
func TestOverlayContents(t *testing.T) {
	dev := build(t, "dev")
	if cfg := checkConfig(t, dev, dev.pods()[0].spec); cfg.Store.Driver != "sqlite" {
		t.Errorf("dev: store.driver %q, want sqlite", cfg.Store.Driver)
	}
	if len(dev.cronJobs)+len(dev.rules)+len(dev.monitors) != 0 {
		t.Errorf("dev: %d CronJobs, %d PrometheusRules, %d ServiceMonitors; want none (one SQLite writer; no Prometheus Operator assumed)", len(dev.cronJobs), len(dev.rules), len(dev.monitors))
	}

	prod := build(t, "production")
	if cfg := checkConfig(t, prod, prod.pods()[0].spec); cfg.Store.Driver != "postgres" {
		t.Errorf("production: store.driver %q, want postgres", cfg.Store.Driver)
	}
	if r := prod.deployments[0].Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("production: replicas %v, want 3", r)
	}
	wantJobs := map[string][]string{"audit-prune": {"audit", "prune"}, "report": {"report"}}
	for _, c := range prod.cronJobs {
		component := c.Spec.JobTemplate.Spec.Template.Labels["app.kubernetes.io/component"]
		want, ok := wantJobs[component]
		if !ok {
			t.Errorf("CronJob/%s: unexpected component %q", c.Name, component)
			continue
		}
		args := c.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
		if !slices.Equal(args[:min(len(want), len(args))], want) {
			t.Errorf("CronJob/%s runs %v, want tokenwall %s …", c.Name, args, strings.Join(want, " "))
		}
		delete(wantJobs, component)
	}
	for component := range wantJobs {
		t.Errorf("production: no %s CronJob", component)
	}
	if len(prod.rules) != 1 {
		t.Errorf("production: %d PrometheusRules, want 1", len(prod.rules))
	}
	for _, m := range prod.monitors {
		for _, ep := range m.Spec.Endpoints {
			if !slices.ContainsFunc(prod.services, func(s corev1.Service) bool {
				return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port })
			}) {
				t.Errorf("ServiceMonitor/%s scrapes port %q, which no Service has", m.Name, ep.Port)
			}
		}
	}
}

// TestPolicyCatchesViolations breaks the built overlays one rule at a time and expects the
// policy to say so: each check can fail.
func TestPolicyCatchesViolations(t *testing.T) {
	cases := []struct {
		name    string
		overlay string
		breakIt func(b *bundle)
		want    string
	}{
		{name: "root user", overlay: "production", want: "runAsUser", breakIt: func(b *bundle) {
			*b.deployments[0].Spec.Template.Spec.SecurityContext.RunAsUser = 0
		}},
		{name: "latest tag", overlay: "production", want: "not pinned", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Template.Spec.Containers[0].Image = "registry.example.com/tokenwall/tokenwall:latest"
		}},
		{name: "no tag", overlay: "dev", want: "not pinned", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Template.Spec.Containers[0].Image = "tokenwall"
		}},
		{name: "hostPath", overlay: "dev", want: "hostPath", breakIt: func(b *bundle) {
			v := &b.deployments[0].Spec.Template.Spec.Volumes[0]
			v.VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/tokenwall"}}
		}},
		{name: "writable root", overlay: "production", want: "readOnlyRootFilesystem", breakIt: func(b *bundle) {
			*b.cronJobs[0].Spec.JobTemplate.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = false
		}},
		{name: "capability added", overlay: "production", want: "capabilities", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}},
		{name: "service links on", overlay: "production", want: "enableServiceLinks", breakIt: func(b *bundle) {
			*b.deployments[0].Spec.Template.Spec.EnableServiceLinks = true
		}},
		{name: "no readiness probe", overlay: "production", want: "readinessProbe", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Template.Spec.Containers[0].ReadinessProbe = nil
		}},
		{name: "liveness on /readyz", overlay: "production", want: "livenessProbe checks /readyz", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/readyz"
		}},
		{name: "short grace", overlay: "production", want: "terminationGracePeriodSeconds", breakIt: func(b *bundle) {
			*b.deployments[0].Spec.Template.Spec.TerminationGracePeriodSeconds = 30
		}},
		{name: "no memory limit", overlay: "production", want: "memory request and limit", breakIt: func(b *bundle) {
			delete(b.deployments[0].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}},
		{name: "three replicas on SQLite", overlay: "dev", want: "replicas on SQLite", breakIt: func(b *bundle) {
			*b.deployments[0].Spec.Replicas = 3
		}},
		{name: "rolling update on SQLite", overlay: "dev", want: "Recreate", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Strategy.Type = "RollingUpdate"
		}},
		{name: "SQLite on an emptyDir", overlay: "dev", want: "not on a PersistentVolumeClaim", breakIt: func(b *bundle) {
			for i, v := range b.deployments[0].Spec.Template.Spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					b.deployments[0].Spec.Template.Spec.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
				}
			}
		}},
		{name: "one replica on PostgreSQL", overlay: "production", want: "replica on PostgreSQL", breakIt: func(b *bundle) {
			*b.deployments[0].Spec.Replicas = 1
		}},
		{name: "TLS key name", overlay: "production", want: "listen.key_file", breakIt: func(b *bundle) {
			b.deployments[0].Spec.Template.Spec.Volumes[slices.IndexFunc(b.deployments[0].Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "tls" })].Secret.Items = []corev1.KeyToPath{{Key: "tls.crt", Path: "tls.crt"}}
		}},
		{name: "Vault token in the environment", overlay: "production", want: "VAULT_TOKEN", breakIt: func(b *bundle) {
			c := &b.deployments[0].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "VAULT_TOKEN", Value: "placeholder"})
		}},
		{name: "metrics open to all", overlay: "production", want: "opens the metrics port", breakIt: func(b *bundle) {
			b.netpols[0].Spec.Ingress[1].From = nil
		}},
		{name: "no Vault egress", overlay: "production", want: "vault.address", breakIt: func(b *bundle) {
			for i := range b.netpols {
				b.netpols[i].Spec.Egress = slices.DeleteFunc(b.netpols[i].Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
					return slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port.IntValue() == 8200 })
				})
			}
		}},
		{name: "internet egress reaches the metadata endpoint", overlay: "production", want: "169.254.0.0/16", breakIt: func(b *bundle) {
			for _, r := range b.netpols[0].Spec.Egress {
				for _, peer := range r.To {
					if peer.IPBlock != nil {
						peer.IPBlock.Except = slices.DeleteFunc(peer.IPBlock.Except, func(s string) bool { return s == "169.254.0.0/16" })
					}
				}
			}
		}},
		{name: "report cannot probe the listener", overlay: "production", want: "--probe", breakIt: func(b *bundle) {
			np := &b.netpols[slices.IndexFunc(b.netpols, func(n networkingv1.NetworkPolicy) bool { return n.Name == "tokenwall-jobs" })]
			np.Spec.Egress = np.Spec.Egress[:len(np.Spec.Egress)-1]
		}},
		{name: "PDB blocks every drain", overlay: "production", want: "PodDisruptionBudget", breakIt: func(b *bundle) {
			three := intstr.FromInt32(3)
			b.budgets[0].Spec.MaxUnavailable, b.budgets[0].Spec.MinAvailable = nil, &three
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orig := build(t, tc.overlay)
			if got := checkOverlay(orig, checkConfigFor(t, orig)); len(got) > 0 {
				t.Fatalf("the %s overlay fails the policy before it is broken: %v", tc.overlay, got)
			}
			b := orig.clone()
			tc.breakIt(b)
			got := checkOverlay(b, checkConfigFor(t, b))
			if !slices.ContainsFunc(got, func(msg string) bool { return strings.Contains(msg, tc.want) }) {
				t.Fatalf("want a problem mentioning %q, got %d: %s", tc.want, len(got), fmt.Sprint(got))
			}
			t.Logf("caught: %s", got[slices.IndexFunc(got, func(msg string) bool { return strings.Contains(msg, tc.want) })])
		})
	}
}

// clone deep-copies the bundle, so a test can break it without touching the cached build.
func (b *bundle) clone() *bundle {
	c := &bundle{overlay: b.overlay}
	for _, o := range b.namespaces {
		c.namespaces = append(c.namespaces, *o.DeepCopy())
	}
	for _, o := range b.serviceAccounts {
		c.serviceAccounts = append(c.serviceAccounts, *o.DeepCopy())
	}
	for _, o := range b.configMaps {
		c.configMaps = append(c.configMaps, *o.DeepCopy())
	}
	for _, o := range b.services {
		c.services = append(c.services, *o.DeepCopy())
	}
	for _, o := range b.claims {
		c.claims = append(c.claims, *o.DeepCopy())
	}
	for _, o := range b.deployments {
		c.deployments = append(c.deployments, *o.DeepCopy())
	}
	for _, o := range b.cronJobs {
		c.cronJobs = append(c.cronJobs, *o.DeepCopy())
	}
	for _, o := range b.budgets {
		c.budgets = append(c.budgets, *o.DeepCopy())
	}
	for _, o := range b.netpols {
		c.netpols = append(c.netpols, *o.DeepCopy())
	}
	for _, o := range b.rules {
		c.rules = append(c.rules, *o.DeepCopy())
	}
	for _, o := range b.monitors {
		c.monitors = append(c.monitors, *o.DeepCopy())
	}
	return c
}
