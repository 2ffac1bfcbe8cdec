package devstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// KubeAPI stands in for a Kubernetes API server where Vault's Kubernetes auth needs one: it
// answers POST /apis/authentication.k8s.io/v1/tokenreviews over HTTPS, saying that a service
// account token is authenticated only when it minted that token itself (Token) and has not
// revoked it since. Vault calls it with kubernetes_host = URL and kubernetes_ca_cert = CAPEM.
type KubeAPI struct {
	// URL is the server's base URL, https://127.0.0.1:PORT.
	URL string
	// CAPEM is the PEM certificate Vault must trust to reach URL.
	CAPEM string

	srv *httptest.Server
	key *ecdsa.PrivateKey

	mu      sync.Mutex
	tokens  map[string]ServiceAccount // minted and not revoked: JWT → its account
	reviews int
}

// ServiceAccount is the Kubernetes identity a token stands for.
type ServiceAccount struct {
	Namespace, Name, UID string
}

// StartKubeAPI starts the stand-in on a free loopback port; Close stops it.
func StartKubeAPI() (*KubeAPI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devstack: kube api key: %w", err)
	}
	k := &KubeAPI{key: key, tokens: map[string]ServiceAccount{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apis/authentication.k8s.io/v1/tokenreviews", k.review)
	k.srv = httptest.NewTLSServer(mux)
	k.URL = k.srv.URL
	k.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw}))
	return k, nil
}

// Close stops the server.
func (k *KubeAPI) Close() { k.srv.Close() }

// Token mints a projected service account token (an ES256 JWT, as a kubelet mounts it) for
// sa with the given audience, valid for an hour, and accepts it from then on.
func (k *KubeAPI) Token(sa ServiceAccount, audience string) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss": "https://kubernetes.default.svc.cluster.local",
		"sub": "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
		"aud": []string{audience},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": rand.Text(),
		"kubernetes.io": map[string]any{
			"namespace":      sa.Namespace,
			"serviceaccount": map[string]string{"name": sa.Name, "uid": sa.UID},
			"pod":            map[string]string{"name": "tokenwall-0", "uid": rand.Text()},
		},
	}
	jwt, err := k.sign(claims)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	k.tokens[jwt] = sa
	k.mu.Unlock()
	return jwt, nil
}

// Revoke makes the server answer jwt as not authenticated (a deleted service account).
func (k *KubeAPI) Revoke(jwt string) {
	k.mu.Lock()
	delete(k.tokens, jwt)
	k.mu.Unlock()
}

// Reviews is how many token reviews the server answered.
func (k *KubeAPI) Reviews() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reviews
}

// sign encodes claims as a JWT signed with ES256.
func (k *KubeAPI) sign(claims map[string]any) (string, error) {
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "devstack"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, k.key, sum[:])
	if err != nil {
		return "", fmt.Errorf("devstack: sign token: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}

// tokenReview is the part of authentication.k8s.io/v1 TokenReview that Vault sends and reads.
type tokenReview struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Token     string   `json:"token"`
		Audiences []string `json:"audiences,omitempty"`
	} `json:"spec"`
	Status struct {
		Authenticated bool `json:"authenticated"`
		User          struct {
			Username string `json:"username,omitempty"`
			UID      string `json:"uid,omitempty"`
		} `json:"user"`
		Audiences []string `json:"audiences,omitempty"`
		Error     string   `json:"error,omitempty"`
	} `json:"status"`
}

// review answers one TokenReview as the API server would: authenticated, with the service
// account's username and uid, for a token it minted and has not revoked; not authenticated
// otherwise. A request without a bearer credential (Vault sends the reviewed token itself
// when it has no token_reviewer_jwt) is answered 401.
func (k *KubeAPI) review(w http.ResponseWriter, r *http.Request) {
	var tr tokenReview
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&tr); err != nil {
		http.Error(w, "bad token review", http.StatusBadRequest)
		return
	}
	if bearer(r) == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
		return
	}
	k.mu.Lock()
	k.reviews++
	sa, ok := k.tokens[tr.Spec.Token]
	k.mu.Unlock()
	tr.APIVersion, tr.Kind = "authentication.k8s.io/v1", "TokenReview"
	tr.Status.Authenticated = ok
	if ok {
		tr.Status.User.Username = "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
		tr.Status.User.UID = sa.UID
		tr.Status.Audiences = tr.Spec.Audiences
	}
	tr.Spec.Token = "" // never echo a credential
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(tr)
}

// bearer is the token of r's Authorization header.
func bearer(r *http.Request) string {
	const prefix = "Bearer "
	if h := r.Header.Get("Authorization"); len(h) > len(prefix) && h[:len(prefix)] == prefix {
		return h[len(prefix):]
	}
	return ""
}
