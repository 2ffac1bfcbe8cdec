package k8stest

import (
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// namespaceLabel is the label Kubernetes puts on every namespace with its name.
const namespaceLabel = "kubernetes.io/metadata.name"

// monitoringNamespace is the only namespace that may scrape /metrics.
const monitoringNamespace = "monitoring"

// outsideCluster are the ranges the Stripe rule must leave out: private, shared (CGNAT,
// used by some clusters for pods) and link-local (the cloud metadata endpoint).
var outsideCluster = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"}

// destination is one place a pod must be able to reach.
type destination struct {
	what     string
	host     string
	port     int32
	protocol corev1.Protocol
}

// checkNetwork holds the NetworkPolicies that select a pod to tokenwall's needs: both
// directions denied by default, no rule open to every destination or port, egress to each
// destination the config names (in-cluster ones by their namespace, Stripe as 443 outside the
// cluster), the proxy's listener open, and /metrics only from the monitoring namespace.
func checkNetwork(p *problems, b *bundle, pt podTemplate, cfg *effective, proxy bool) {
	ns := b.namespace()
	podLabels := labels.Set(pt.meta.Labels)
	c := pt.spec.Containers[0]
	var ingress []networkingv1.NetworkPolicyIngressRule
	var egress []networkingv1.NetworkPolicyEgressRule
	var hasIngress, hasEgress bool
	for _, np := range b.netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(podLabels) {
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			hasIngress = hasIngress || t == networkingv1.PolicyTypeIngress
			hasEgress = hasEgress || t == networkingv1.PolicyTypeEgress
		}
		ingress = append(ingress, np.Spec.Ingress...)
		egress = append(egress, np.Spec.Egress...)
	}
	if !hasIngress || !hasEgress {
		p.addf("%s: no NetworkPolicy denies its ingress and egress by default (policyTypes Ingress and Egress)", pt.name)
		return
	}

	for i, r := range egress {
		if len(r.To) == 0 || len(r.Ports) == 0 {
			p.addf("%s: egress rule %d is open to every destination or every port", pt.name, i)
		}
		for _, peer := range r.To {
			if peer.IPBlock != nil {
				checkInternetBlock(p, pt.name, peer.IPBlock, r.Ports)
			}
			if peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 && len(peer.NamespaceSelector.MatchExpressions) == 0 {
				p.addf("%s: egress rule %d reaches every namespace", pt.name, i)
			}
		}
	}
	dests := []destination{{what: "DNS", port: 53, protocol: corev1.ProtocolUDP}}
	dests = append(dests, urlDestination("vault.address", cfg.Vault.Address))
	if cfg.Store.Driver == "postgres" {
		dests = append(dests, urlDestination("store.postgres_url", cfg.Store.PostgresURL))
	}
	if proxy {
		dests = append(dests, urlDestination("upstream.url", cfg.Upstream.URL), urlDestination("gateway.stripe.api_url", cfg.Gateway.Stripe.APIURL))
	}
	if i := slices.Index(c.Args, "--probe"); i >= 0 && i+1 < len(c.Args) {
		host, port, _ := net.SplitHostPort(c.Args[i+1])
		n, _ := strconv.ParseInt(port, 10, 32)
		dests = append(dests, destination{what: "--probe", host: host, port: int32(n), protocol: corev1.ProtocolTCP})
	}
	for _, d := range dests {
		if !egressAllows(b, ns, egress, d) {
			p.addf("%s: no egress rule lets it reach %s (%s port %d/%s)", pt.name, d.what, d.host, d.port, d.protocol)
		}
	}

	if !proxy {
		if len(ingress) > 0 {
			p.addf("%s: takes connections (%d ingress rules); it serves nothing", pt.name, len(ingress))
		}
		return
	}
	_, listenPort, _ := splitHostPort(cfg.Listen.Addr)
	_, adminPort, _ := splitHostPort(cfg.Admin.Addr)
	var listenOpen, scrapeOpen bool
	for i, r := range ingress {
		if portsAllow(r.Ports, c, listenPort, corev1.ProtocolTCP) {
			listenOpen = true
		}
		if !portsAllow(r.Ports, c, adminPort, corev1.ProtocolTCP) {
			continue
		}
		onlyMonitoring := len(r.From) > 0
		for _, peer := range r.From {
			onlyMonitoring = onlyMonitoring && peer.IPBlock == nil && peer.NamespaceSelector != nil &&
				selects(peer.NamespaceSelector, labels.Set{namespaceLabel: monitoringNamespace}) &&
				!selects(peer.NamespaceSelector, labels.Set{namespaceLabel: "default"}) &&
				!selects(peer.NamespaceSelector, labels.Set{namespaceLabel: ns})
		}
		if !onlyMonitoring {
			p.addf("%s: ingress rule %d opens the metrics port %d to more than the %s namespace", pt.name, i, adminPort, monitoringNamespace)
		}
		scrapeOpen = true
	}
	if !listenOpen {
		p.addf("%s: no ingress rule opens the public listener's port %d", pt.name, listenPort)
	}
	if !scrapeOpen {
		p.addf("%s: no ingress rule lets the %s namespace scrape port %d", pt.name, monitoringNamespace, adminPort)
	}
}

// checkInternetBlock requires a rule to the whole address space to leave the cluster's and
// the metadata endpoint's ranges out and to be HTTPS only.
func checkInternetBlock(p *problems, where string, block *networkingv1.IPBlock, ports []networkingv1.NetworkPolicyPort) {
	prefix, err := netip.ParsePrefix(block.CIDR)
	if err != nil {
		p.addf("%s: ipBlock %q: %v", where, block.CIDR, err)
		return
	}
	if prefix.Bits() > 1 {
		return // a specific range (an external Vault, say): the operator's choice
	}
	if prefix.Addr().Is4() {
		for _, r := range outsideCluster {
			if !slices.Contains(block.Except, r) {
				p.addf("%s: ipBlock %s does not leave out %s (the cluster, or the metadata endpoint)", where, block.CIDR, r)
			}
		}
	} else if !slices.Contains(block.Except, "fc00::/7") || !slices.Contains(block.Except, "fe80::/10") {
		p.addf("%s: ipBlock %s does not leave out fc00::/7 and fe80::/10", where, block.CIDR)
	}
	for _, port := range ports {
		if port.Port == nil || port.Port.IntValue() != 443 || port.EndPort != nil {
			p.addf("%s: ipBlock %s is open beyond TCP 443", where, block.CIDR)
		}
	}
}

// urlDestination is the host and port a URL's client connects to.
func urlDestination(key, raw string) destination {
	u, err := url.Parse(raw)
	if err != nil {
		return destination{what: key + " (unparsable)"}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80", "postgres": "5432", "postgresql": "5432"}[u.Scheme]
	}
	n, _ := strconv.ParseInt(port, 10, 32)
	return destination{what: key, host: u.Hostname(), port: int32(n), protocol: corev1.ProtocolTCP}
}

// egressAllows reports whether a rule lets a pod in namespace ns reach d: an in-cluster name
// (SERVICE.NAMESPACE.svc…) by a selector peer of that namespace, a Service of the build by its
// pods and target port, anything else (Stripe) by an ipBlock.
func egressAllows(b *bundle, ns string, rules []networkingv1.NetworkPolicyEgressRule, d destination) bool {
	if d.what == "DNS" {
		for _, r := range rules {
			if portsAllow(r.Ports, corev1.Container{}, 53, corev1.ProtocolUDP) && slices.ContainsFunc(r.To, func(peer networkingv1.NetworkPolicyPeer) bool {
				return peer.NamespaceSelector != nil && selects(peer.NamespaceSelector, labels.Set{namespaceLabel: "kube-system"})
			}) {
				return true
			}
		}
		return false
	}
	targetNS, podLabels, port, inCluster := b.resolve(ns, d.host, d.port)
	for _, r := range rules {
		if !portsAllow(r.Ports, corev1.Container{}, port, d.protocol) {
			continue
		}
		for _, peer := range r.To {
			switch {
			case !inCluster:
				if peer.IPBlock != nil && blockCoversPublic(peer.IPBlock) {
					return true
				}
			case peer.IPBlock != nil:
			default:
				nsOK := peer.NamespaceSelector == nil && targetNS == ns ||
					peer.NamespaceSelector != nil && selects(peer.NamespaceSelector, labels.Set{namespaceLabel: targetNS})
				// The pods of a Service outside the build are unknown: any pod selector will do.
				podOK := peer.PodSelector == nil || podLabels == nil || selects(peer.PodSelector, podLabels)
				if nsOK && podOK {
					return true
				}
			}
		}
	}
	return false
}

// blockCoversPublic reports whether an ipBlock includes the public internet (for a gateway
// whose addresses are not fixed).
func blockCoversPublic(block *networkingv1.IPBlock) bool {
	prefix, err := netip.ParsePrefix(block.CIDR)
	return err == nil && prefix.Bits() == 0
}

// resolve says where host:port is: for a cluster DNS name its namespace, and for a Service of
// the build also its pods' labels and the port they listen on. inCluster is false for any
// other host.
func (b *bundle) resolve(ns, host string, port int32) (targetNS string, podLabels labels.Set, podPort int32, inCluster bool) {
	parts := strings.Split(host, ".")
	switch {
	case len(parts) == 1 && host != "":
		targetNS = ns
	case len(parts) >= 3 && parts[2] == "svc":
		targetNS = parts[1]
	default:
		return "", nil, port, false
	}
	podPort = port
	if targetNS == ns {
		for _, s := range b.services {
			if s.Name != parts[0] {
				continue
			}
			podLabels = labels.Set(s.Spec.Selector)
			for _, sp := range s.Spec.Ports {
				if sp.Port == port {
					podPort = b.targetPort(podLabels, sp.TargetPort)
				}
			}
		}
	}
	return targetNS, podLabels, podPort, true
}

// targetPort resolves a Service's target port against the container of the pods it selects.
func (b *bundle) targetPort(sel labels.Set, target intstr.IntOrString) int32 {
	for _, pt := range b.pods() {
		if labels.SelectorFromSet(sel).Matches(labels.Set(pt.meta.Labels)) {
			return portOf(pt.spec.Containers[0], target)
		}
	}
	return int32(target.IntValue())
}

// portsAllow reports whether a rule's ports admit port/protocol (no ports: all of them).
func portsAllow(ports []networkingv1.NetworkPolicyPort, c corev1.Container, port int32, protocol corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			if containerPort(c, p.Port.StrVal) == port {
				return true
			}
		case p.EndPort != nil:
			if port >= p.Port.IntVal && port <= *p.EndPort {
				return true
			}
		case p.Port.IntVal == port:
			return true
		}
	}
	return false
}

// selects reports whether a label selector matches set.
func selects(sel *metav1.LabelSelector, set labels.Set) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(set)
}

// namespace is the overlay's namespace (its Namespace object's name).
func (b *bundle) namespace() string {
	if len(b.namespaces) == 0 {
		return ""
	}
	return b.namespaces[0].Name
}
