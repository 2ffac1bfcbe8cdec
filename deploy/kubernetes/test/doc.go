// Package k8stest checks tokenwall's Kubernetes manifests (deploy/kubernetes) offline: each
// overlay is built with the Kustomize API, every object is decoded strictly into its
// Kubernetes (or Prometheus Operator) type, the pods are held to tokenwall's policy and Pod
// Security's restricted profile, the ConfigMap's tokenwall.yaml passes `tokenwall
// check-config`, and every metric an alert names is one tokenwall registers.
//
// It is a module of its own so that Kustomize and the Kubernetes API types never enter
// tokenwall's go.mod; `make test` runs it. The checks are in the _test.go files.
package k8stest
