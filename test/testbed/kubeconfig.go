package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigFor writes a kubeconfig that reaches the cluster as user with a
// bearer token, and returns its path. The token may be any string: one of
// Token's, a ServiceAccount's, or one the cluster never issued. The file's
// cluster and context are named after the cluster, so a peer reads the same
// name whatever identity it uses.
func (c *Cluster) KubeconfigFor(user, token string) (string, error) {
	f, err := os.CreateTemp(c.Dir, "kubeconfig-"+filepath.Base(user)+"-")
	if err != nil {
		return "", err
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, clientcmd.WriteToFile(c.kubeconfig(user, token), path)
}

func (c *Cluster) kubeconfig(user, token string) clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[c.Name] = &clientcmdapi.Cluster{
		Server:                   c.URL,
		CertificateAuthorityData: c.CA,
	}
	// Kubeconfig files merge by name: the user's entry carries the cluster's
	// name too, so one cluster's token never shadows another's.
	authInfo := user + "@" + c.Name
	cfg.AuthInfos[authInfo] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: authInfo}
	cfg.CurrentContext = c.Name
	return *cfg
}

// ServiceAccountKubeconfig creates the ServiceAccount ns/name if it does not
// exist, requests a token for it (valid for a day, or until the
// ServiceAccount is deleted) and writes a kubeconfig with it. The namespace
// must exist. What the account may do is up to the RBAC the test creates;
// its user name is system:serviceaccount:NS:NAME.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, ns, name string) (string, error) {
	sas := c.client.CoreV1().ServiceAccounts(ns)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := sas.Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create service account %s/%s: %w", ns, name, err)
	}
	day := int64(24 * 60 * 60)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &day}}
	tr, err := sas.CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %s/%s: %w", ns, name, err)
	}
	return c.KubeconfigFor(ns+"-"+name, tr.Status.Token)
}
