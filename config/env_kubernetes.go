package config

import (
	"net"
	"regexp"
	"strings"
)

// Kubernetes gives every container variables for each Service in its namespace (unless the
// pod sets enableServiceLinks: false): for a Service named tokenwall, TOKENWALL_SERVICE_HOST,
// TOKENWALL_SERVICE_PORT, TOKENWALL_SERVICE_PORT_<PORT NAME>, TOKENWALL_PORT=tcp://IP:PORT and
// TOKENWALL_PORT_<PORT>_<PROTOCOL>[_PROTO|_PORT|_ADDR]; for tokenwall-admin the same under
// TOKENWALL_ADMIN_. These match the shapes Kubernetes gives them and no config key has.
var (
	// kubeServiceName is a Service name upper-cased with "-" as "_": TOKENWALL, TOKENWALL_ADMIN.
	kubeServiceName = `TOKENWALL(?:_[A-Z0-9_]+)?`
	// kubeNamedVar: …_SERVICE_HOST, …_SERVICE_PORT and …_SERVICE_PORT_<PORT NAME>.
	kubeNamedVar = regexp.MustCompile(`^` + kubeServiceName + `_SERVICE_(?:HOST|PORT(?:_[A-Z0-9_]+)?)$`)
	// kubePortVar: …_PORT_443_TCP and its _PROTO, _PORT and _ADDR.
	kubePortVar = regexp.MustCompile(`^` + kubeServiceName + `_PORT_[0-9]{1,5}_(?:TCP|UDP|SCTP)(?:_PROTO|_PORT|_ADDR)?$`)
	// kubeBarePortVar: …_PORT, recognised by its value (kubeURLValue) as well, since a
	// person may well type TOKENWALL_PORT=8443 hoping to set the listen port.
	kubeBarePortVar = regexp.MustCompile(`^` + kubeServiceName + `_PORT$`)
)

// kubernetesServiceVar reports whether name=value is a variable Kubernetes made for a
// Service whose name starts with tokenwall, which the loader leaves alone instead of
// refusing it as a mistyped config key.
func kubernetesServiceVar(name, value string) bool {
	switch {
	case kubeNamedVar.MatchString(name), kubePortVar.MatchString(name):
		return true
	case kubeBarePortVar.MatchString(name):
		return kubeURLValue(value)
	}
	return false
}

// kubeURLValue reports whether v is what Kubernetes puts in a Service's …_PORT variable:
// PROTOCOL://IP:PORT, e.g. tcp://10.96.0.12:443 or tcp://[fd00::c]:443.
func kubeURLValue(v string) bool {
	proto, hostPort, ok := strings.Cut(v, "://")
	if !ok || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return false
	}
	host, port, err := net.SplitHostPort(hostPort)
	return err == nil && net.ParseIP(host) != nil && port != ""
}
