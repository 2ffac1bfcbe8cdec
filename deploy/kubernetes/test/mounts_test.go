package k8stest

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// checkConfigMount requires the pod to run tokenwall with --config naming a file of the
// overlay's tokenwall-config ConfigMap, and every file the effective config names to be
// mounted from a volume that has it; the SQLite database's folder must be writable and
// persistent when the pod serves.
func checkConfigMount(p *problems, b *bundle, pt podTemplate, cfg *effective, serves bool) {
	c := pt.spec.Containers[0]
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 >= len(c.Args) {
		p.addf("%s: args %v do not name --config FILE", pt.name, c.Args)
	} else if src := fileSource(b, pt.spec, c, c.Args[i+1]); src.err != "" {
		p.addf("%s: --config %s: %s", pt.name, c.Args[i+1], src.err)
	} else if src.configMap == "" || !strings.HasPrefix(src.configMap, configMapName) {
		p.addf("%s: --config %s is not from the ConfigMap %s", pt.name, c.Args[i+1], configMapName)
	}
	for key, file := range configFiles(cfg.raw, "") {
		if key == "log.file" || !serves && serverOnlyFiles[key] {
			continue
		}
		if src := fileSource(b, pt.spec, c, file); src.err != "" {
			p.addf("%s: %s %s: %s", pt.name, key, file, src.err)
		}
	}
	if q := postgresRootCert(cfg.Store.PostgresURL); cfg.Store.Driver == "postgres" && q != "" {
		if src := fileSource(b, pt.spec, c, q); src.err != "" {
			p.addf("%s: store.postgres_url sslrootcert %s: %s", pt.name, q, src.err)
		}
	}
	if serves && cfg.Store.Driver == "sqlite" {
		src := fileSource(b, pt.spec, c, cfg.Store.SQLitePath)
		switch {
		case src.err != "":
			p.addf("%s: store.sqlite_path %s: %s", pt.name, cfg.Store.SQLitePath, src.err)
		case src.readOnly:
			p.addf("%s: store.sqlite_path %s is on a read-only mount", pt.name, cfg.Store.SQLitePath)
		case src.claim == "":
			p.addf("%s: store.sqlite_path %s is not on a PersistentVolumeClaim: the audit trail and the outbox would go with the pod", pt.name, cfg.Store.SQLitePath)
		}
	}
}

// serverOnlyFiles are the files only `tokenwall serve` reads: a CronJob's pod need not
// mount the listener's key.
var serverOnlyFiles = map[string]bool{"listen.cert_file": true, "listen.key_file": true, "api.client_ca_file": true}

// configFiles returns the files the config names, by dotted key: every key ending in _file
// (log.file aside, which is written; empty when logging to stdout). The SQLite database is
// checked on its own.
func configFiles(m map[string]any, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		key := strings.TrimPrefix(prefix+"."+k, ".")
		switch v := v.(type) {
		case map[string]any:
			for kk, vv := range configFiles(v, key) {
				out[kk] = vv
			}
		case string:
			if v != "" && strings.HasSuffix(k, "_file") {
				out[key] = v
			}
		}
	}
	return out
}

// postgresRootCert is the sslrootcert file of a PostgreSQL URL.
func postgresRootCert(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Query().Get("sslrootcert")
}

// source is where a file in the container comes from.
type source struct {
	err       string // why the file is not there; empty when it is
	readOnly  bool
	claim     string // PersistentVolumeClaim name, for a claim
	configMap string // ConfigMap name, for a configMap volume
}

// fileSource finds the mount that holds file and checks that its volume provides it: a key of
// a ConfigMap or Secret (in the build, or one of the documented external ones), the projected
// service account token, or any file of an emptyDir or claim.
func fileSource(b *bundle, spec *corev1.PodSpec, c corev1.Container, file string) source {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if (file == m.MountPath || strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")) &&
			(best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return source{err: "no volume is mounted there (the root file system is read-only and holds no config)"}
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(file, best.MountPath), "/")
	if best.SubPath != "" {
		rel = path.Join(best.SubPath, rel)
	}
	i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == best.Name })
	if i < 0 {
		return source{err: "mount " + best.Name + " has no volume"}
	}
	v := spec.Volumes[i]
	src := source{readOnly: best.ReadOnly}
	has := func(keys []string, items []corev1.KeyToPath) bool {
		if len(items) > 0 {
			return slices.ContainsFunc(items, func(it corev1.KeyToPath) bool { return it.Path == rel && slices.Contains(keys, it.Key) })
		}
		return slices.Contains(keys, rel)
	}
	switch {
	case v.ConfigMap != nil:
		src.configMap = v.ConfigMap.Name
		keys, ok := externalConfigMaps[v.ConfigMap.Name]
		if cm, found := b.configMapByExactName(v.ConfigMap.Name); found {
			keys, ok = mapKeys(cm.Data), true
		}
		switch {
		case !ok:
			src.err = "ConfigMap " + v.ConfigMap.Name + " is neither in the build nor a documented external one"
		case !has(keys, v.ConfigMap.Items):
			src.err = fmt.Sprintf("ConfigMap %s has no key %q (keys %v)", v.ConfigMap.Name, rel, keys)
		}
	case v.Secret != nil:
		keys, ok := externalSecrets[v.Secret.SecretName]
		switch {
		case !ok:
			src.err = "Secret " + v.Secret.SecretName + " is not a documented external one"
		case !has(keys, v.Secret.Items):
			src.err = fmt.Sprintf("Secret %s has no key %q (keys %v)", v.Secret.SecretName, rel, keys)
		}
	case v.Projected != nil:
		if !slices.ContainsFunc(v.Projected.Sources, func(ps corev1.VolumeProjection) bool {
			return ps.ServiceAccountToken != nil && ps.ServiceAccountToken.Path == rel
		}) {
			src.err = "projected volume " + v.Name + " has no service account token at " + rel
		}
	case v.PersistentVolumeClaim != nil:
		src.claim = v.PersistentVolumeClaim.ClaimName
		if !slices.ContainsFunc(b.claims, func(c corev1.PersistentVolumeClaim) bool { return c.Name == src.claim }) {
			src.err = "PersistentVolumeClaim " + src.claim + " is not in the build"
		}
	case v.EmptyDir != nil:
	default:
		src.err = "volume " + v.Name + " is of a kind the policy does not know"
	}
	return src
}

// configMapByExactName finds a ConfigMap of the build by its final name.
func (b *bundle) configMapByExactName(name string) (corev1.ConfigMap, bool) {
	i := slices.IndexFunc(b.configMaps, func(cm corev1.ConfigMap) bool { return cm.Name == name })
	if i < 0 {
		return corev1.ConfigMap{}, false
	}
	return b.configMaps[i], true
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
