package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestEnvIgnoresKubernetesServiceVariables: the variables Kubernetes gives a pod for a
// Service named tokenwall (or tokenwall-something) set nothing and are not refused, each
// case named; the environment of a whole pod with them loads.
func TestEnvIgnoresKubernetesServiceVariables(t *testing.T) {
	base := "listen:\n  addr: 127.0.0.1:8443\n"
	tests := []struct {
		name string
		env  string
	}{
		{name: "TOKENWALL_SERVICE_HOST", env: "TOKENWALL_SERVICE_HOST=10.96.0.12"},
		{name: "TOKENWALL_SERVICE_PORT", env: "TOKENWALL_SERVICE_PORT=443"},
		{name: "TOKENWALL_SERVICE_PORT_HTTPS", env: "TOKENWALL_SERVICE_PORT_HTTPS=443"},
		{name: "TOKENWALL_SERVICE_PORT_ADMIN_METRICS (port named admin-metrics)", env: "TOKENWALL_SERVICE_PORT_ADMIN_METRICS=9090"},
		{name: "TOKENWALL_PORT", env: "TOKENWALL_PORT=tcp://10.96.0.12:443"},
		{name: "TOKENWALL_PORT over IPv6", env: "TOKENWALL_PORT=tcp://[fd00::c]:443"},
		{name: "TOKENWALL_PORT_443_TCP", env: "TOKENWALL_PORT_443_TCP=tcp://10.96.0.12:443"},
		{name: "TOKENWALL_PORT_443_TCP_PROTO", env: "TOKENWALL_PORT_443_TCP_PROTO=tcp"},
		{name: "TOKENWALL_PORT_443_TCP_PORT", env: "TOKENWALL_PORT_443_TCP_PORT=443"},
		{name: "TOKENWALL_PORT_443_TCP_ADDR", env: "TOKENWALL_PORT_443_TCP_ADDR=10.96.0.12"},
		{name: "TOKENWALL_PORT_9090_UDP_ADDR", env: "TOKENWALL_PORT_9090_UDP_ADDR=10.96.0.12"},
		{name: "Service tokenwall-admin: TOKENWALL_ADMIN_SERVICE_HOST", env: "TOKENWALL_ADMIN_SERVICE_HOST=10.96.0.13"},
		{name: "Service tokenwall-admin: TOKENWALL_ADMIN_PORT", env: "TOKENWALL_ADMIN_PORT=tcp://10.96.0.13:9090"},
		{name: "Service tokenwall-admin: TOKENWALL_ADMIN_PORT_9090_TCP_ADDR", env: "TOKENWALL_ADMIN_PORT_9090_TCP_ADDR=10.96.0.13"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base), []string{tc.env})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want, _ := Parse([]byte(base), nil)
			if !reflect.DeepEqual(c, want) {
				t.Errorf("%s changed the config", tc.env)
			}
		})
	}
	t.Run("a pod's whole environment", func(t *testing.T) {
		var environ []string
		for _, tc := range tests {
			environ = append(environ, tc.env)
		}
		environ = append(environ, "TOKENWALL_LOG_LEVEL=debug", "KUBERNETES_SERVICE_HOST=10.96.0.1")
		c, err := Parse([]byte(base), environ)
		if err != nil || c.Log.Level != "debug" {
			t.Fatalf("Parse: %v, log.level %q: want the real key set and the service variables ignored", err, c.Log.Level)
		}
	})
}

// TestEnvStillRefusesTypos: next to the Kubernetes variables, a mistyped key is still an
// error, and so is a …_PORT variable whose value is not Kubernetes' tcp://IP:PORT.
func TestEnvStillRefusesTypos(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want string
	}{
		{name: "TOKENWALL_LISTEN_ADRR", env: "TOKENWALL_LISTEN_ADRR=0.0.0.0:8443", want: "did you mean TOKENWALL_LISTEN_ADDR?"},
		{name: "TOKENWALL_ADMIN_ADR", env: "TOKENWALL_ADMIN_ADR=127.0.0.1:9090", want: "did you mean TOKENWALL_ADMIN_ADDR?"},
		{name: "TOKENWALL_PORT as a port number", env: "TOKENWALL_PORT=8443", want: "the listen port is in TOKENWALL_LISTEN_ADDR"},
		{name: "TOKENWALL_ADMIN_PORT as a port number", env: "TOKENWALL_ADMIN_PORT=9090", want: "Kubernetes sets it to tcp://IP:PORT"},
		{name: "TOKENWALL_PORT with a host name", env: "TOKENWALL_PORT=tcp://tokenwall:443", want: "TOKENWALL_PORT: unknown variable"},
		{name: "TOKENWALL_PORT_HTTPS (not a port number)", env: "TOKENWALL_PORT_HTTPS=443", want: "TOKENWALL_PORT_HTTPS: unknown variable"},
		{name: "TOKENWALL_PORT_443_TCP_HOST (not a Kubernetes suffix)", env: "TOKENWALL_PORT_443_TCP_HOST=x", want: "TOKENWALL_PORT_443_TCP_HOST: unknown variable"},
		{name: "TOKENWALL_SERVICE_HOSTNAME", env: "TOKENWALL_SERVICE_HOSTNAME=x", want: "TOKENWALL_SERVICE_HOSTNAME: unknown variable"},
		{name: "TOKENWALL_VAULT_ADRESS", env: "TOKENWALL_VAULT_ADRESS=https://vault:8200", want: "did you mean TOKENWALL_VAULT_ADDRESS?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("log:\n  level: info\n"), []string{"TOKENWALL_SERVICE_HOST=10.96.0.12", tc.env})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want an error containing %q", err, tc.want)
			}
			if _, value, _ := strings.Cut(tc.env, "="); strings.Contains(err.Error(), value) {
				t.Errorf("error %q shows the value", err)
			}
			if strings.Contains(err.Error(), "TOKENWALL_SERVICE_HOST:") {
				t.Errorf("error %q names the Kubernetes variable", err)
			}
		})
	}
}

// TestEnvNoConfigKeyLooksLikeAKubernetesVariable guards the other way round: a config key
// whose variable had a Service variable's shape could be set by Kubernetes behind the
// operator's back.
func TestEnvNoConfigKeyLooksLikeAKubernetesVariable(t *testing.T) {
	c := Default()
	fields, err := envFields(reflect.ValueOf(&c).Elem())
	if err != nil {
		t.Fatal(err)
	}
	for name := range fields {
		if kubernetesServiceVar(name, "tcp://10.96.0.12:443") {
			t.Errorf("config key variable %s has the shape of a Kubernetes Service variable", name)
		}
	}
}
