package k8stest

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// The numeric user and group of the image (deploy/Dockerfile): runAsNonRoot can only be
// verified by the kubelet against a numeric user.
const nonRootID = 65532

// finalCheckpointBudget bounds the final signed checkpoint after the servers stop (app.Run
// gives closeTrail 10 s).
const finalCheckpointBudget = 10 * time.Second

// External objects the manifests mount but do not hold (README, "Kubernetes"), with the keys
// each must have.
var externalSecrets = map[string][]string{"tokenwall-tls": {corev1.TLSCertKey, corev1.TLSPrivateKeyKey}}
var externalConfigMaps = map[string][]string{"tokenwall-ca": {"ca.crt"}}

// podTemplate is one pod spec of an overlay: the Deployment's or a CronJob's.
type podTemplate struct {
	name string // Kind/name
	meta *metav1.ObjectMeta
	spec *corev1.PodSpec
}

// pods lists the overlay's pod templates.
func (b *bundle) pods() []podTemplate {
	var out []podTemplate
	for i := range b.deployments {
		d := &b.deployments[i]
		out = append(out, podTemplate{name: "Deployment/" + d.Name, meta: &d.Spec.Template.ObjectMeta, spec: &d.Spec.Template.Spec})
	}
	for i := range b.cronJobs {
		c := &b.cronJobs[i]
		tpl := &c.Spec.JobTemplate.Spec.Template
		out = append(out, podTemplate{name: "CronJob/" + c.Name, meta: &tpl.ObjectMeta, spec: &tpl.Spec})
	}
	return out
}

// problems collects policy violations, each naming where.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// restrictedEvaluator is Pod Security Admission's own check of the restricted profile.
var restrictedEvaluator = func() psapolicy.Evaluator {
	e, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		panic(err) // the library's own checks; cannot fail
	}
	return e
}()

// checkPodSecurity holds a pod template to tokenwall's policy: Pod Security's restricted
// profile, numeric non-root ids, a read-only root, no capabilities, no host access, service
// links and the API token off, pinned images, requests and limits.
func checkPodSecurity(p *problems, pt podTemplate) {
	where := pt.name
	for _, r := range restrictedEvaluator.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, pt.meta, pt.spec) {
		if !r.Allowed {
			p.addf("%s: Pod Security restricted: %s (%s)", where, r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	s := pt.spec
	sc := s.SecurityContext
	switch {
	case sc == nil:
		p.addf("%s: no pod securityContext", where)
	default:
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			p.addf("%s: runAsNonRoot is not true", where)
		}
		for name, id := range map[string]*int64{"runAsUser": sc.RunAsUser, "runAsGroup": sc.RunAsGroup, "fsGroup": sc.FSGroup} {
			if id == nil || *id != nonRootID {
				p.addf("%s: pod %s is %s, want %d", where, name, int64Text(id), nonRootID)
			}
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.addf("%s: pod seccompProfile is not RuntimeDefault", where)
		}
	}
	if s.HostNetwork || s.HostPID || s.HostIPC {
		p.addf("%s: uses the host's network, PID or IPC namespace", where)
	}
	if s.EnableServiceLinks == nil || *s.EnableServiceLinks {
		p.addf("%s: enableServiceLinks is not false (a Service named tokenwall puts TOKENWALL_SERVICE_HOST… in the environment)", where)
	}
	if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
		p.addf("%s: automountServiceAccountToken is not false (tokenwall never calls the API server)", where)
	}
	for _, v := range s.Volumes {
		if v.HostPath != nil {
			p.addf("%s: volume %s is a hostPath", where, v.Name)
		}
	}
	for _, c := range append(slices.Clone(s.InitContainers), s.Containers...) {
		checkContainer(p, where+" container "+c.Name, c, s.Volumes)
	}
}

// checkContainer holds one container to the policy.
func checkContainer(p *problems, where string, c corev1.Container, volumes []corev1.Volume) {
	if !imagePinned(c.Image) {
		p.addf("%s: image %q is not pinned to a release tag or digest (never latest)", where, c.Image)
	}
	sc := c.SecurityContext
	if sc == nil {
		p.addf("%s: no securityContext", where)
		return
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p.addf("%s: allowPrivilegeEscalation is not false", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p.addf("%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		p.addf("%s: privileged", where)
	}
	if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		p.addf("%s: runAsNonRoot is false", where)
	}
	if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		p.addf("%s: runAsUser is 0 (root)", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p.addf("%s: capabilities do not drop ALL", where)
	} else if len(sc.Capabilities.Add) > 0 {
		p.addf("%s: capabilities add %v", where, sc.Capabilities.Add)
	}
	for _, port := range c.Ports {
		if port.HostPort != 0 {
			p.addf("%s: hostPort %d", where, port.HostPort)
		}
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[res]
		lim, hasLim := c.Resources.Limits[res]
		switch {
		case !hasReq || !hasLim:
			p.addf("%s: %s request and limit must both be set", where, res)
		case req.Cmp(lim) > 0:
			p.addf("%s: %s request %s is above its limit %s", where, res, req.String(), lim.String())
		}
	}
	for _, e := range c.Env {
		if e.Name == "VAULT_TOKEN" || e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			p.addf("%s: env %s carries a secret; tokenwall logs in to Vault with its service account", where, e.Name)
		}
		if e.Name == "GOMEMLIMIT" {
			checkMemLimit(p, where, e.Value, c.Resources.Limits)
		}
	}
	if len(c.EnvFrom) > 0 {
		p.addf("%s: envFrom may bring TOKENWALL_* variables nobody reviewed; set each variable", where)
	}
	declared := map[string]bool{}
	for _, v := range volumes {
		declared[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !declared[m.Name] {
			p.addf("%s: mounts volume %s, which the pod does not declare", where, m.Name)
		}
	}
}

// checkMemLimit requires GOMEMLIMIT to leave room below the container's memory limit.
func checkMemLimit(p *problems, where, value string, limits corev1.ResourceList) {
	// Go writes 400MiB where Kubernetes writes 400Mi; a bare number (or nB) is bytes.
	v := strings.TrimSuffix(value, "B")
	q, err := resource.ParseQuantity(v)
	lim, ok := limits[corev1.ResourceMemory]
	switch {
	case err != nil:
		p.addf("%s: GOMEMLIMIT %q is not a size", where, value)
	case ok && q.Cmp(lim) >= 0:
		p.addf("%s: GOMEMLIMIT %s is not below the memory limit %s", where, value, lim.String())
	}
}

// imagePinned reports whether image names a digest, or a tag that is not latest.
func imagePinned(image string) bool {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return strings.HasPrefix(digest, "sha256:") && len(digest) == len("sha256:")+64
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return false // no tag: latest
	}
	tag := image[colon+1:]
	return tag != "" && tag != "latest"
}

func int64Text(v *int64) string {
	if v == nil {
		return "unset"
	}
	return strconv.FormatInt(*v, 10)
}

// checkDeployment holds the proxy's Deployment to what tokenwall needs: probes on the public
// listener, a grace period that covers the shutdown, ports that match the config, replicas
// the store allows, and a Service and PodDisruptionBudget that select its pods.
func checkDeployment(p *problems, b *bundle, d *appsv1.Deployment, cfg *effective) {
	where := "Deployment/" + d.Name
	spec := &d.Spec.Template.Spec
	c := spec.Containers[0]
	_, listenPort, err := splitHostPort(cfg.Listen.Addr)
	if err != nil {
		p.addf("%s: listen.addr %q: %v", where, cfg.Listen.Addr, err)
	}
	adminHost, adminPort, err := splitHostPort(cfg.Admin.Addr)
	if err != nil {
		p.addf("%s: admin.addr %q: %v", where, cfg.Admin.Addr, err)
	}
	if ip := net.ParseIP(adminHost); adminHost == "localhost" || ip != nil && ip.IsLoopback() {
		p.addf("%s: admin.addr %s is loopback: Prometheus cannot scrape it", where, cfg.Admin.Addr)
	}
	if containerPort(c, "https") != listenPort {
		p.addf("%s: container port https is %d, listen.addr's port %d", where, containerPort(c, "https"), listenPort)
	}
	if containerPort(c, "metrics") != adminPort {
		p.addf("%s: container port metrics is %d, admin.addr's port %d", where, containerPort(c, "metrics"), adminPort)
	}

	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startupProbe", c.StartupProbe, "/healthz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}}
	for _, pr := range probes {
		switch {
		case pr.probe == nil || pr.probe.HTTPGet == nil:
			p.addf("%s: no HTTP %s", where, pr.name)
		case pr.probe.HTTPGet.Path != pr.path:
			p.addf("%s: %s checks %s, want %s", where, pr.name, pr.probe.HTTPGet.Path, pr.path)
		case portOf(c, pr.probe.HTTPGet.Port) != listenPort || pr.probe.HTTPGet.Scheme != corev1.URISchemeHTTPS:
			p.addf("%s: %s must use HTTPS on the public listener (port %d)", where, pr.name, listenPort)
		}
	}

	grace := time.Duration(0)
	if spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	need := duration(cfg.Listen.ShutdownGrace) + finalCheckpointBudget
	if cfg.Webhooks.Enabled {
		need += duration(cfg.Webhooks.Timeout) // deliveries in flight finish before the trail closes
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if grace <= need {
		p.addf("%s: terminationGracePeriodSeconds %s is not longer than preStop + listen.shutdown_grace %s + webhook deliveries + the final checkpoint %s = %s",
			where, grace, cfg.Listen.ShutdownGrace, finalCheckpointBudget, need)
	}

	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	switch cfg.Store.Driver {
	case "sqlite":
		if replicas != 1 {
			p.addf("%s: %d replicas on SQLite: each pod would have its own trail and outbox; SQLite takes exactly 1", where, replicas)
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			p.addf("%s: strategy %q on SQLite: a rolling update runs two pods on one database; use Recreate", where, d.Spec.Strategy.Type)
		}
		if len(b.cronJobs) > 0 {
			p.addf("%s: CronJobs beside a SQLite store: SQLite has one writer, the proxy", where)
		}
	case "postgres":
		if replicas < 2 {
			p.addf("%s: %d replica on PostgreSQL: run at least 2", where, replicas)
		}
	}

	podLabels := labels.Set(d.Spec.Template.Labels)
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		p.addf("%s: its selector does not match its pods", where)
	}
	var svcOK bool
	for _, s := range b.services {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if portOf(c, sp.TargetPort) == 0 {
				p.addf("Service/%s: port %s targets %s, which the container does not expose", s.Name, sp.Name, sp.TargetPort.String())
			}
			svcOK = svcOK || portOf(c, sp.TargetPort) == listenPort
		}
	}
	if !svcOK {
		p.addf("%s: no Service sends traffic to the public listener", where)
	}
	var pdbOK bool
	for _, pdb := range b.budgets {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(podLabels) {
			continue
		}
		pdbOK = true
		switch {
		case pdb.Spec.MaxUnavailable != nil:
			n, err := intOrPercent(pdb.Spec.MaxUnavailable, replicas)
			if err != nil || n < 1 || replicas > 1 && n >= int(replicas) {
				p.addf("PodDisruptionBudget/%s: maxUnavailable %s with %d replicas must let a drain proceed and keep one pod", pdb.Name, pdb.Spec.MaxUnavailable.String(), replicas)
			}
		case pdb.Spec.MinAvailable != nil:
			n, err := intOrPercent(pdb.Spec.MinAvailable, replicas)
			if err != nil || n >= int(replicas) || n < 1 {
				p.addf("PodDisruptionBudget/%s: minAvailable %s with %d replicas must let a drain proceed and keep one pod", pdb.Name, pdb.Spec.MinAvailable.String(), replicas)
			}
		}
	}
	if !pdbOK {
		p.addf("%s: no PodDisruptionBudget selects its pods", where)
	}
}

// splitHostPort splits host:port into its host and numeric port.
func splitHostPort(addr string) (string, int32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseInt(port, 10, 32)
	return host, int32(n), err
}

// containerPort is the number of c's port called name, 0 when there is none.
func containerPort(c corev1.Container, name string) int32 {
	for _, port := range c.Ports {
		if port.Name == name {
			return port.ContainerPort
		}
	}
	return 0
}

// duration parses a Go duration from check-config's output, 0 when it cannot.
func duration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0
	}
	return d
}

// portOf resolves a probe's or Service's port (a number or a container port's name) to a
// number of container c, 0 when c has no such port.
func portOf(c corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.String {
		return containerPort(c, port.StrVal)
	}
	for _, cp := range c.Ports {
		if cp.ContainerPort == port.IntVal {
			return cp.ContainerPort
		}
	}
	return 0
}

// intOrPercent is v of total pods, a percentage rounded up as the disruption controller does.
func intOrPercent(v *intstr.IntOrString, total int32) (int, error) {
	return intstr.GetScaledValueFromIntOrPercent(v, int(total), true)
}
