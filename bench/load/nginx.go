package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
)

// nginxConf is nginx as a TLS reverse proxy to the upstream: one worker (one server core),
// TLS 1.2+ with the AEAD suites tokenwall offers, HTTP/2, a keep-alive pool to the upstream
// as large as tokenwall's, an access log (tokenwall logs every request too), and no
// per-connection request cap (Go's servers have none).
var nginxConf = template.Must(template.New("nginx").Parse(`# Written by bench/load.
daemon off;
master_process on;
worker_processes 1;
{{if .Root}}user root;
{{end}}pid {{.Dir}}/nginx.pid;
error_log {{.Logs}}/nginx-error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
	access_log {{.Logs}}/nginx-access.log combined buffer=64k flush=1s;
	client_body_temp_path {{.Dir}}/body;
	proxy_temp_path {{.Dir}}/proxy;
	fastcgi_temp_path {{.Dir}}/fastcgi;
	uwsgi_temp_path {{.Dir}}/uwsgi;
	scgi_temp_path {{.Dir}}/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 120s;
	upstream app {
		server {{.Upstream}};
		keepalive {{.Pool}};
	}
	server {
		listen {{.Addr}} ssl http2;
		ssl_certificate {{.Cert}};
		ssl_certificate_key {{.Key}};
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
		http2_max_concurrent_streams 100;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto https;
		}
	}
}
`))

// nginxBinary finds nginx (Debian's lives in /usr/sbin, not always on PATH).
func nginxBinary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", fmt.Errorf("nginx not found (make bench-load installs it)")
}

func (st *stack) startNginx(ctx context.Context) error {
	bin, err := nginxBinary()
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	dir := filepath.Join(st.dir, "nginx")
	var b strings.Builder
	err = nginxConf.Execute(&b, map[string]any{
		"Root": os.Geteuid() == 0, "Dir": dir, "Logs": st.logs, "Addr": addr,
		"Upstream": strings.TrimPrefix(st.upstream.url, "http://"), "Pool": defaultPool(),
		"Cert": st.cert, "Key": st.key,
	})
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return err
	}
	// -e: the error log before the config is read, which would otherwise be /var/log/nginx.
	cmd, err := st.startProc("nginx", bin, "-p", dir, "-c", conf, "-e", filepath.Join(st.logs, "nginx-error.log"))
	if err != nil {
		return err
	}
	master := cmd.Process.Pid
	st.nginx = &server{name: "nginx", cmd: cmd, url: "https://" + addr,
		pids: func() []int { return append([]int{master}, childrenOf(master)...) }}
	return waitReady(ctx, st.client(), st.nginx.url+"/")
}
